"""The launcher's error types. Library code raises them; only `launcher.cli` prints them and exits.

Each type carries the process exit code the CLI returns for it:

| code | error                  | meaning                                                                  |
|------|------------------------|--------------------------------------------------------------------------|
| 0    |                        | success (`submit --wait`: the Job completed)                             |
| 1    | `LauncherError`        | unexpected API answer or other failure                                   |
| 2    | `UsageError`           | invalid flags, settings, name, quantity or trainer arguments             |
| 3    | `ClusterConfigError`   | no kubeconfig / context, or the API server cannot be reached             |
| 4    | `NotFoundError`        | the Job or the namespace does not exist                                  |
| 5    | `ForbiddenError`       | the API server denied the request (RBAC)                                 |
| 6    | `AlreadyExistsError`   | a Job of that name exists (pass `--replace` or another `--name`)         |
| 7    | `RejectedError`        | the API server rejected the manifest as invalid (HTTP 422)               |
| 8    | `JobFailedError`       | `submit --wait`: the Job failed                                          |
| 9    | `WaitTimeoutError`     | `--wait`/`--follow` gave up after `--timeout` seconds                    |
| 130  |                        | interrupted (Ctrl-C); the Job keeps running in the cluster              |
"""

from typing import ClassVar


class LauncherError(Exception):
    """Base of every error a user can cause or meet; its message is one line that names the fix."""

    exit_code: ClassVar[int] = 1


class UsageError(LauncherError):
    exit_code = 2


class ClusterConfigError(LauncherError):
    exit_code = 3


class NotFoundError(LauncherError):
    exit_code = 4


class ForbiddenError(LauncherError):
    exit_code = 5


class AlreadyExistsError(LauncherError):
    exit_code = 6


class RejectedError(LauncherError):
    exit_code = 7


class JobFailedError(LauncherError):
    exit_code = 8


class WaitTimeoutError(LauncherError):
    exit_code = 9


INTERRUPTED_EXIT_CODE = 130
"""128 + SIGINT, what shells report for a process stopped with Ctrl-C."""
