"""Build the boto3 S3 client and transfer settings: bounded retries and timeouts, any S3-compatible endpoint.

Credentials, endpoint, profile and retry settings come from boto3's standard chain (AWS_ACCESS_KEY_ID,
AWS_ENDPOINT_URL_S3, AWS_PROFILE, AWS_RETRY_MODE, AWS_MAX_ATTEMPTS, the config file, IAM roles, ...); this module
only adds what that chain leaves out, and a retry default only where neither the environment nor the config file
sets one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from trainer.contract.redaction import has_url_credentials, redact
from trainer.errors import UsageError

MIB = 1024 * 1024

DEFAULT_REGION = "us-east-1"
"""S3's original region. SigV4 needs some region; MinIO, Ceph RGW and SeaweedFS accept this one by default."""

REGION_ENV = "AWS_REGION"
"""Read as a fallback: botocore only reads AWS_DEFAULT_REGION, other SDKs and our Secrets use AWS_REGION."""

DEFAULT_RETRY_MODE = "standard"
DEFAULT_MAX_ATTEMPTS = 5
"""The project's retry default, used only where AWS_RETRY_MODE / AWS_MAX_ATTEMPTS and the config file's
`retry_mode` / `max_attempts` are unset. In botocore's meaning: 5 attempts in all, the first try included (botocore's
own default is 3). Backoff is random(0, 2**retry) seconds, so an unreachable endpoint fails within about 7 s
instead of hanging a Job."""

RETRY_SETTINGS = {
    "mode": ("AWS_RETRY_MODE", "retry_mode"),
    "total_max_attempts": ("AWS_MAX_ATTEMPTS", "max_attempts"),
}
"""botocore's retry options: the client-config key, its environment variable and its config-file key."""

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
"""botocore's defaults are 60 s each; a loopback or in-cluster endpoint connects in milliseconds."""

S3_MULTIPART_MIN_PART_BYTES = 5 * MIB
"""Every part of a multipart upload but the last must be at least 5 MiB (AWS S3 multipart upload limits)."""

MULTIPART_THRESHOLD_BYTES = 8 * MIB
MULTIPART_CHUNK_BYTES = 8 * MIB
"""boto3's defaults: above the 5 MiB minimum. s3transfer enlarges the chunk for objects above
10,000 parts (the S3 part-count limit), so any object size up to 5 TiB works."""

TRANSFER_CONCURRENCY = 16
"""Concurrent requests per transfer manager: many small objects are latency-bound, not bandwidth-bound."""

MAX_POOL_CONNECTIONS = 2 * TRANSFER_CONCURRENCY
"""urllib3 pool size; botocore's default of 10 would make concurrent transfers wait for connections."""

_AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn")


def default_transfer_config() -> TransferConfig:
    return TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD_BYTES,
        multipart_chunksize=MULTIPART_CHUNK_BYTES,
        max_concurrency=TRANSFER_CONCURRENCY,
        preferred_transfer_client="classic",
    )


def make_client(
    endpoint_url: str | None = None,
    *,
    session: boto3.session.Session | None = None,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    read_timeout: float = READ_TIMEOUT_S,
) -> Any:
    """An S3 client from the standard AWS chain (env, profile, IAM role) with bounded retries and timeouts.

    boto3 itself reads AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and the retry settings; any endpoint that is not AWS
    gets path-style addressing, which MinIO, Ceph RGW and SeaweedFS need without wildcard DNS.
    """
    check_endpoints(endpoint_url)
    session = session or boto3.session.Session()
    region = session.region_name or os.environ.get(REGION_ENV) or DEFAULT_REGION
    retries = retry_defaults(session)

    def build(path_style: bool) -> Any:
        config = Config(
            retries=dict(retries) or None,  # botocore fills in the rest of its copy
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=MAX_POOL_CONNECTIONS,
            # boto3 >= 1.36 adds CRC checksums to every upload; several S3-compatible stores reject them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"} if path_style else None,
        )
        try:
            return session.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)
        except ValueError as e:
            raise UsageError(
                f"invalid object storage endpoint {endpoint_url or '(from AWS_ENDPOINT_URL_S3)'}: {e}; "
                "fix AWS_ENDPOINT_URL_S3"
            ) from e

    client = build(path_style=endpoint_url is not None)
    if endpoint_url is None and not _is_aws_endpoint(client.meta.endpoint_url):
        client = build(path_style=True)
    return client


def retry_defaults(
    session: boto3.session.Session, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The project's retry default for each botocore retry option the environment and config file leave unset.

    botocore reads AWS_RETRY_MODE / AWS_MAX_ATTEMPTS and the profile's `retry_mode` / `max_attempts` only for the
    options the client's Config does not set, so the Config carries just the unset ones.
    """
    environ = os.environ if environ is None else environ
    try:  # boto3 exposes its botocore session only as `_session`
        profile = session._session.get_scoped_config()
    except ProfileNotFound:  # boto3 reports a missing profile itself, when the client is built
        profile = {}
    defaults = {"mode": DEFAULT_RETRY_MODE, "total_max_attempts": DEFAULT_MAX_ATTEMPTS}
    return {
        key: defaults[key]
        for key, (env_name, config_key) in RETRY_SETTINGS.items()
        if not environ.get(env_name) and config_key not in profile
    }


ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
"""Where boto3 reads an S3 endpoint from (the service-specific one wins)."""


def check_endpoints(endpoint_url: str | None = None, environ: Mapping[str, str] | None = None) -> None:
    """UsageError if an endpoint carries credentials (`http://user:password@host`): they would be printed in
    errors and recorded in run.json. Keys belong in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (a Secret)."""
    environ = os.environ if environ is None else environ
    named = [("the endpoint", endpoint_url)] + [(name, environ.get(name)) for name in ENDPOINT_ENVS]
    for where, url in named:
        if url and has_url_credentials(url):
            raise UsageError(
                f"{where} {redact(url)} has credentials in the URL: remove them and give the keys as "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (a Secret) or the pod's IAM role"
            )


def _is_aws_endpoint(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host.endswith(_AWS_HOST_SUFFIXES)
