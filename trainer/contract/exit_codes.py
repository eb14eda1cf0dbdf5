"""The trainer's process exit codes, and which of them a retry cannot fix.

The launcher's `podFailurePolicy` fails a Job at once on a non-retryable code (a retry would fail the same way)
and lets the Job's `backoffLimit` retry the rest.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    """An unexpected error: a bug. Retried, since it may have been caused by the node."""
    USAGE = 2
    """Invalid flags or settings (bad number, malformed URI, conflicting options). Same as argparse's code."""
    DATA = 3
    """The data cannot be used: unsupported format, empty, malformed, missing column, unknown or too few labels."""
    NOT_FOUND = 4
    """A bucket, object, prefix, local path or model named in the settings does not exist."""
    ACCESS_DENIED = 5
    """Object storage rejected the credentials or denied access."""
    RETRYABLE = 75
    """Infrastructure failed transiently (endpoint unreachable, timeouts, 5xx, throttling): sysexits's EX_TEMPFAIL."""


NON_RETRYABLE: frozenset[ExitCode] = frozenset(
    {ExitCode.USAGE, ExitCode.DATA, ExitCode.NOT_FOUND, ExitCode.ACCESS_DENIED}
)
"""Exit codes that mean "your input is wrong": retrying the same Job cannot succeed."""

DESCRIPTIONS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.INTERNAL: "unexpected internal error (a bug; please report it)",
    ExitCode.USAGE: "invalid flags or settings",
    ExitCode.DATA: "the data cannot be used",
    ExitCode.NOT_FOUND: "bucket, object, path or model not found",
    ExitCode.ACCESS_DENIED: "object storage credentials rejected or access denied",
    ExitCode.RETRYABLE: "transient infrastructure failure; retrying may succeed",
}


def describe(code: int) -> str:
    """A short human description of a trainer exit code, for `launcher status`."""
    try:
        return DESCRIPTIONS[ExitCode(code)]
    except ValueError:
        return (
            f"exit code {code} (not a trainer code: killed by signal {code - 128}?)"
            if code > 128
            else (f"exit code {code}")
        )
