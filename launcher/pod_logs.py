"""`launcher logs`: every pod's trainer log, oldest pod first, each line prefixed with its pod, all on stdout.

Like `kubectl logs --prefix`: `[reviews-42-x7k2p] epoch 1/3 ...`, so a run's retries and a multi-node run's
workers stay apart when grepped. `--tail` and `--since` apply to each pod; `--follow` streams the newest pod.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from launcher.errors import WaitTimeoutError
from launcher.status import pod_summary

if TYPE_CHECKING:
    from launcher.cluster import Cluster


class Out(Protocol):
    def write(self, text: str) -> None: ...


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    previous: bool = False
    tail: int | None = None
    """Lines from the end of each pod's log."""
    since_seconds: int | None = None
    timeout: float | None = None
    poll: float = 5.0


def prefixed(pod: str, chunks: Iterable[bytes]) -> Iterator[str]:
    """Whole lines of `chunks` (which split lines anywhere) as `[pod] line\\n`; a last line without a newline
    gets one."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        *lines, rest = rest.split(b"\n")
        for line in lines:
            yield f"[{pod}] {line.decode('utf-8', errors='replace')}\n"
    if rest:
        yield f"[{pod}] {rest.decode('utf-8', errors='replace')}\n"


def _pending(pod: Any) -> bool:
    return pod.status is None or pod.status.phase in (None, "Pending")


def _wait_for_a_pod(cluster: Cluster, name: str, options: LogOptions) -> list[Any]:
    pods = cluster.list_pods(name)
    deadline = None if options.timeout is None else time.monotonic() + options.timeout
    while options.follow and (not pods or _pending(pods[-1])):
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeoutError(
                f"no pod of job {name} started within {options.timeout:g}s (see `launcher status {name}`)"
            )
        time.sleep(options.poll)
        pods = cluster.list_pods(name)
    return pods


def show(cluster: Cluster, name: str, options: LogOptions, out: Out) -> int:
    """Write every pod's log; a pod without one says why, in its own prefixed line."""
    cluster.get_job(name)  # a clear "not found" before anything else
    pods = sorted(
        _wait_for_a_pod(cluster, name, options),
        key=lambda p: (p.metadata.creation_timestamp, p.metadata.name),
    )
    if not pods:
        out.write(f"(job {name} has no pods yet)\n")
        return 0
    for i, pod in enumerate(pods):
        pod_name = pod.metadata.name
        if _pending(pod):
            out.write(f"[{pod_name}] (not started yet: {pod_summary(pod).reason or 'Pending'})\n")
            continue
        if options.previous and pod_summary(pod).restarts == 0:
            out.write(f"[{pod_name}] (no previous container: it never restarted)\n")
            continue
        chunks = cluster.read_log(
            pod_name,
            previous=options.previous,
            follow=options.follow and i == len(pods) - 1,
            tail_lines=options.tail,
            since_seconds=options.since_seconds,
        )
        for line in prefixed(pod_name, chunks):
            out.write(line)
    return 0
