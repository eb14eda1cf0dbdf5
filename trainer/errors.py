"""The trainer's error types. Each carries its exit code and a one-line message that names the fix.

Library code raises these; only `trainer.cli` prints them and exits. The codes are defined in
`contract.exit_codes` because the launcher's pod failure policy depends on them.
"""

from typing import ClassVar

from trainer.contract.exit_codes import ExitCode


class TrainerError(Exception):
    """Base class: a failure with a one-line explanation for the user."""

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL


class UsageError(TrainerError):
    """Invalid flags or settings, e.g. a malformed URI or a conflicting option."""

    exit_code = ExitCode.USAGE


class DataError(TrainerError):
    """The data cannot be used: unsupported format, empty, malformed, missing column, unknown labels."""

    exit_code = ExitCode.DATA


class NotFoundError(TrainerError):
    """A bucket, object, prefix, local path or model does not exist."""

    exit_code = ExitCode.NOT_FOUND


class AccessDeniedError(TrainerError):
    """Object storage rejected the credentials or denied access."""

    exit_code = ExitCode.ACCESS_DENIED


class RetryableError(TrainerError):
    """Infrastructure failed transiently; running the same command again may succeed."""

    exit_code = ExitCode.RETRYABLE


class PreemptedError(RetryableError):
    """SIGTERM: the state is checkpointed; the same command resumes."""


class CredentialsExpiredError(RetryableError):
    """Object storage answered that the (temporary) credentials have expired; a new pod may get fresh ones."""

    after_renewal: bool = False
    """Set once the operation failed again with freshly resolved credentials."""
