"""Creating a run is all or nothing; replacing one waits until everything the old run owned is gone.

A multi-node run is several objects (the Job, then the Service and NetworkPolicy it owns). If any create fails
(RBAC, quota, admission, a name taken, Ctrl-C) the objects already created are deleted again and the error says
so: a Job whose pods wait for a Service that never comes would hold GPUs for nothing. Staging with `spec.suspend`
is not an option: a queue such as Kueue owns that field.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from launcher import multinode
from launcher.errors import LauncherError, NotFoundError, SubmitInterruptedError, WaitTimeoutError
from launcher.manifests import Manifest

if TYPE_CHECKING:
    from launcher.cluster import Cluster


def _describe(obj: dict[str, Any]) -> str:
    return f"{obj['kind'].lower()} {obj['metadata']['name']}"


def rollback(cluster: Cluster, created: Sequence[dict[str, Any]]) -> str:
    """Delete what was created, newest first; a clause saying what happened, for the error line."""
    deleted, left = [], []
    for obj in reversed(created):
        try:
            cluster.delete(obj["kind"], obj["metadata"]["name"], uid=obj["metadata"].get("uid"))
            deleted.append(_describe(obj))
        except NotFoundError:
            deleted.append(_describe(obj))
        except LauncherError as e:
            left.append(f"{_describe(obj)} ({e})")
    said = f"rolled back: deleted {', '.join(deleted)}" if deleted else ""
    if left:
        name = created[0]["metadata"]["name"]
        said += f"{'; ' if said else ''}could not roll back {', '.join(left)}: run `launcher delete {name}`"
    return said


def create_run(cluster: Cluster, planned: Sequence[Manifest], dry_run: bool = False) -> list[dict[str, Any]]:
    """Create every manifest in order (each after the first owned by the Job), or none: on failure delete the
    ones created and re-raise the error with what was rolled back."""
    created: list[dict[str, Any]] = []
    try:
        for manifest in planned:
            owned = multinode.owned_by(manifest, created[0]) if created else manifest
            created.append(cluster.create(owned, dry_run=dry_run))
    except LauncherError as e:
        if not created or dry_run:
            raise
        raise e.amended(rollback(cluster, created)) from e
    except KeyboardInterrupt as e:
        undone = rollback(cluster, created) if created and not dry_run else "nothing was created"
        raise SubmitInterruptedError(f"interrupted while creating the run; {undone}") from e
    return created


def replace(cluster: Cluster, name: str, timeout: float, poll: float, note: Callable[[str], None]) -> None:
    """Delete the Job `name` (if there is one) and wait until it and everything it owned (pods, Service,
    NetworkPolicy) are gone, so the new run's names are free and no old pod still writes to the output."""
    try:
        uid = cluster.get_job(name).metadata.uid
    except NotFoundError:
        return
    note(f"deleting the existing job {name} and everything it owns ...")
    with contextlib.suppress(NotFoundError):  # gone meanwhile
        cluster.delete("Job", name, uid=uid)
    deadline = time.monotonic() + timeout
    while left := cluster.leftovers(name, uid):
        if time.monotonic() >= deadline:
            raise WaitTimeoutError(
                f"the old run {name} was still being deleted after {timeout:g}s ({', '.join(left)} left); "
                "try again later"
            )
        time.sleep(poll)
