"""GPU time a run has held, from what its pods say: how many GPUs each one asked for, on which node, from when to
when. Pure: it reads the client's `V1Pod` objects that `launcher.cluster` fetched, and a clock reading.

A pod holds its GPUs from the moment the kubelet takes it (`status.startTime`, after scheduling, before the image
pull) until its trainer container ends (`finishedAt`); a pod still running counts up to now. Every attempt of a
retried Job is a pod of its own, so the sum covers retries. A pod never bound to a node held nothing.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from launcher.labels import CONTAINER_NAME
from launcher.quantities import parse

DEFAULT_GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True)
class PodUsage:
    gpus: int
    seconds: float
    """Wall time the pod held its node (0 if it never got one)."""
    running: bool

    @property
    def gpu_seconds(self) -> float:
        return self.gpus * self.seconds


@dataclass(frozen=True)
class GpuUsage:
    """A run's GPU time so far, over every pod of every attempt."""

    gpu_seconds: float = 0.0
    gpus: int = 0
    """GPUs held right now (by the running pods)."""

    @property
    def gpu_hours(self) -> float:
        return self.gpu_seconds / 3600

    def cost(self, price_per_gpu_hour: float | None) -> float | None:
        return None if price_per_gpu_hour is None else self.gpu_hours * price_per_gpu_hour


def pod_gpus(pod: Any, resource: str = DEFAULT_GPU_RESOURCE) -> int:
    """GPUs the pod's containers asked for: their limits of the extended resource (its requests equal them)."""
    total = 0
    for container in (pod.spec.containers or []) if pod.spec else []:
        limits = (container.resources.limits or {}) if container.resources else {}
        if resource in limits:
            total += int(parse(str(limits[resource])))
    return total


def _finished(pod: Any) -> datetime | None:
    ends = [
        cs.state.terminated.finished_at
        for cs in (pod.status.container_statuses or [])
        if cs.name == CONTAINER_NAME and cs.state and cs.state.terminated and cs.state.terminated.finished_at
    ]
    if ends:
        return max(ends)
    # Evicted or deleted without a container status: the last condition change is when it ended.
    changes = [c.last_transition_time for c in pod.status.conditions or [] if c.last_transition_time]
    return max(changes) if changes else None


def pod_usage(pod: Any, now: datetime, resource: str = DEFAULT_GPU_RESOURCE) -> PodUsage:
    """How long the pod has held its node's GPUs, up to `now` while it runs."""
    gpus = pod_gpus(pod, resource)
    status = pod.status
    start = status.start_time if status is not None else None
    if start is None or not (pod.spec and pod.spec.node_name):
        return PodUsage(gpus, 0.0, running=False)
    done = status.phase in ("Succeeded", "Failed")
    end = (_finished(pod) if done else None) or now
    return PodUsage(gpus, max(0.0, (end - start).total_seconds()), running=not done)
