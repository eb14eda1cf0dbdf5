"""One place that turns botocore and OS exceptions into the trainer's error types.

Every storage method funnels its failures through `translate`, so the same cause always gives the same exit
code and a one-line message that names the fix. Messages never include credential values.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from s3transfer.exceptions import RetriesExceededError

from trainer.errors import (
    AccessDeniedError,
    CredentialsExpiredError,
    NotFoundError,
    RetryableError,
    TrainerError,
)
from trainer.storage.uri import Location

NOT_FOUND_CODES = frozenset({"NoSuchKey", "NotFound", "404", "NoSuchUpload"})
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "TokenRefreshRequired",
        "AllAccessDisabled",
        "AccountProblem",
        "InvalidClientTokenId",
    }
)
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
"""Temporary credentials (or a signed request) outlived their validity: fresh credentials may fix it."""
RETRYABLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
        "503",
        "500",
    }
)
"""Error codes from the AWS S3 error-code table; S3-compatible stores (MinIO, Ceph RGW, R2) reuse them."""

HTTP_SERVER_ERROR_MIN = 500
"""HTTP 5xx: the server failed, not the request (RFC 9110 section 15.6)."""

_CONNECTION_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    IncompleteReadError,
    ResponseStreamingError,
    RetriesExceededError,
    ConnectionError,
    TimeoutError,
)

CREDENTIALS_HINT = "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the pod's IAM role)"


@contextmanager
def translated(loc: Location, endpoint: Callable[[], str | None]) -> Iterator[None]:
    """The block's storage failures (botocore, s3transfer, OS) leave as `translate`d trainer errors about `loc`."""
    try:
        yield
    except TrainerError:
        raise
    except (BotoCoreError, ClientError, OSError, RetriesExceededError) as e:
        raise translate(e, loc, endpoint()) from e


def translate(error: BaseException, loc: Location, endpoint: str | None) -> TrainerError:
    """The trainer error for `error` raised while working on `loc`; `raise translate(...) from e`."""
    if isinstance(error, TrainerError):
        return error
    where = f" at endpoint {endpoint}" if endpoint else ""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return AccessDeniedError(
            f"no object storage credentials found for {loc}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or AWS_PROFILE, or give the pod an IAM role)"
        )
    if isinstance(error, ClientError):
        return _translate_client_error(error, loc, where)
    if isinstance(error, _CONNECTION_ERRORS):
        return RetryableError(
            f"cannot reach object storage endpoint {endpoint or 'of AWS S3'} for {loc}: "
            "check AWS_ENDPOINT_URL_S3 and the network (retryable)"
        )
    if isinstance(error, OSError):
        return _translate_os_error(error, loc)
    if isinstance(error, BotoCoreError):
        return TrainerError(f"object storage request for {loc}{where} failed: {_one_line(error)}")
    return TrainerError(f"storage operation on {loc} failed: {type(error).__name__}: {_one_line(error)}")


def _translate_client_error(error: ClientError, loc: Location, where: str) -> TrainerError:
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code == "NoSuchBucket":
        return NotFoundError(f"bucket '{loc.bucket}' does not exist{where}: create it or fix the URI {loc}")
    if code in EXPIRED_CODES:
        return CredentialsExpiredError(
            f"object storage credentials for {loc}{where} have expired ({code}), also after resolving them again: "
            "the Job's next attempt starts with fresh ones; if this repeats, check the role's session duration "
            "or the AWS_SESSION_TOKEN in the credentials Secret (retryable)"
        )
    if code in NOT_FOUND_CODES or status == 404:
        return NotFoundError(f"no object {loc}{where}: check the URI (keys are case-sensitive)")
    if code in ACCESS_DENIED_CODES or status == 403:
        return AccessDeniedError(f"access denied to {loc}{where} ({code or status}): {CREDENTIALS_HINT}")
    if code in RETRYABLE_CODES or status >= HTTP_SERVER_ERROR_MIN:
        return RetryableError(
            f"object storage{where} failed transiently on {loc} ({code or status}): "
            "try again later (retryable)"
        )
    message = _one_line(error.response.get("Error", {}).get("Message", "")) or str(status)
    return TrainerError(f"object storage{where} rejected the request for {loc} ({code}): {message}")


def _translate_os_error(error: OSError, loc: Location) -> TrainerError:
    target = error.filename or loc
    if isinstance(error, FileNotFoundError):
        return NotFoundError(f"no such file or directory {target}: check the path")
    if isinstance(error, PermissionError):
        return AccessDeniedError(f"permission denied on {target}: check the file's owner and mode")
    if error.errno == errno.ENOSPC:
        return TrainerError(f"no space left on the device writing {target}: give the job more scratch space")
    return TrainerError(f"file system error on {target}: {error.strerror or _one_line(error)}")


def _one_line(error: object) -> str:
    return " ".join(str(error).split())
