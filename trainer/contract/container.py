"""The trainer image's command line and filesystem contract, as the launcher relies on it."""

TRAINER_EXECUTABLE = "trainer"
"""Console script installed in the image (also the image's ENTRYPOINT)."""

VERBS = ("train", "evaluate", "predict", "export")
"""Trainer sub-commands the launcher can run; a first trainer argument naming one selects it."""

DEFAULT_VERB = "train"
"""The sub-command a Job runs when the trainer arguments do not start with a verb."""

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

WORKER_PORT = 2222
"""Port TensorFlow's gRPC server listens on in a multi-node run: Kubeflow TFJob's default (`tfjob-port`, 2222), so
the same images and network policies work under either. Declared on the pod; peers connect to it pod to pod."""

WORKER_PORT_NAME = "tf-worker"
"""Name of that container port (an IANA_SVC_NAME: at most 15 characters)."""

WORKER_HOSTS_ENV = f"{SETTINGS_ENV_PREFIX}WORKER_HOSTS"
"""Comma-separated `host:port` of every worker in index order; with Kubernetes' JOB_COMPLETION_INDEX the trainer
builds TF_CONFIG from it (the launcher sets it on an Indexed Job's pods)."""

JOB_COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
"""Set by Kubernetes on every pod of an Indexed Job (batch/v1, completionMode Indexed): the pod's index."""
