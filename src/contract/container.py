"""The trainer image's command line and filesystem contract, as the launcher relies on it."""

TRAINER_EXECUTABLE = "trainer"
"""Console script installed in the image (also the image's ENTRYPOINT)."""

VERBS = ("train",)
"""Trainer sub-commands the launcher can run."""

OUTPUT_FLAG = "--output"
"""The trainer flag naming where artifacts are published; `launcher status` reports it as the artifact URI."""

SETTINGS_ENV_PREFIX = "TRAINER_"
"""Every trainer setting can also be given as an environment variable `TRAINER_<NAME>`."""

SCRATCH_DIR = "/tmp"
"""The only path the trainer writes to on the container filesystem (downloads, tokenizer and Hugging Face caches,
artifacts before upload). The launcher mounts an emptyDir here so the root filesystem can be read-only."""

CONTAINER_USER_ID = 1000
"""Non-root user the image runs as."""

S3_CREDENTIAL_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION")
"""Keys a credentials Secret may hold; the trainer reads them the standard AWS way (boto3's chain)."""

S3_ENDPOINT_ENV = "AWS_ENDPOINT_URL_S3"
"""boto3 reads the S3 endpoint (MinIO, Ceph, R2, ...) from this variable."""
