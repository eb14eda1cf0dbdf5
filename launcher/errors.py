"""The launcher's error types. Library code raises them; only `launcher.cli` prints them and exits.

Each type carries the process exit code the CLI returns for it (Click's pattern: the code lives on the class), and
its docstring says when it is raised. Besides these: 0 is success (`submit --wait`: the Job completed) and 130 an
interrupt (Ctrl-C; a submitted Job keeps running in the cluster).
"""

from typing import ClassVar


class LauncherError(Exception):
    """Base of every error a user can cause or meet; its message is one line that names the fix. Raised as is for
    an unexpected API answer or other failure."""

    exit_code: ClassVar[int] = 1

    def __init_subclass__(cls, *, exit_code: int | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if exit_code is not None:
            cls.exit_code = exit_code

    def amended(self, note: str) -> "LauncherError":
        """The same error with `note` appended to its line (e.g. what was rolled back)."""
        return type(self)(f"{self}; {note}" if note else str(self))


class UsageError(LauncherError, exit_code=2):
    """Invalid flags, settings, name, quantity or trainer arguments."""


class ClusterConfigError(LauncherError, exit_code=3):
    """No kubeconfig or context, or the API server cannot be reached."""


class NotFoundError(LauncherError, exit_code=4):
    """The Job or the namespace does not exist."""


class ForbiddenError(LauncherError, exit_code=5):
    """The API server denied the request: RBAC."""


class AlreadyExistsError(LauncherError, exit_code=6):
    """A Job of that name exists: pass `--replace` or another `--name`."""


class RejectedError(LauncherError, exit_code=7):
    """The API server rejected the manifest as invalid, HTTP 422."""


class JobFailedError(LauncherError, exit_code=8):
    """`submit --wait`: the Job failed."""


class WaitTimeoutError(LauncherError, exit_code=9):
    """`--wait`/`--follow` gave up after `--timeout` seconds."""


INTERRUPTED_EXIT_CODE = 130
"""128 + SIGINT, what shells report for a process stopped with Ctrl-C."""


class SubmitInterruptedError(LauncherError, exit_code=INTERRUPTED_EXIT_CODE):
    """Ctrl-C while `submit` was creating a run's objects: the ones created were deleted again."""


class SweepIncompleteError(LauncherError, exit_code=10):
    """`sweep submit`: some trials could not be created (the others were); running it again retries them."""


INCOMPLETE_RESULTS_EXIT_CODE = 11
"""`results`: the table was printed, but some runs under the prefix have no `_SUCCESS` (still training, failed or
cut off): not an error, a state a script may want to wait on."""
