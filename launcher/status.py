"""One vocabulary for the state of a run, mapped from the Job's conditions and its pods' states.

`status`, `list`, `sweep status` and `submit --wait` all go through `summarize`. It is pure: it reads client model
objects (`V1Job`, `V1Pod`, `CoreV1Event`) that `launcher.cluster` fetched, the newest progress line the cluster
read from the chief pod's log, and the time.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from launcher.labels import (
    ANNOTATION_GPU_RESOURCE,
    ANNOTATION_OUTPUT,
    ANNOTATION_PARAMS,
    COMPLETION_INDEX_LABEL,
    CONTAINER_NAME,
    LABEL_SWEEP,
    QUEUE_LABEL,
)
from launcher.usage import DEFAULT_GPU_RESOURCE, GpuUsage, pod_usage
from trainer.contract import exit_codes
from trainer.contract.progress import Progress


class JobPhase(Enum):
    PENDING = "Pending"
    """Created; no pod is running yet (scheduling, pulling the image, or between retries)."""
    RUNNING = "Running"
    """A trainer pod is running."""
    SUSPENDED = "Suspended"
    """`spec.suspend` is set by hand (or by a controller); no pods run."""
    QUEUED = "Queued"
    """Suspended while its queue (Kueue) has no quota for it; the queue unsuspends it on admission."""
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    def is_terminal(self) -> bool:
        return self in (JobPhase.SUCCEEDED, JobPhase.FAILED)


# Job condition types (batch/v1 JobConditionType) that decide the phase once their status is "True".
# SuccessCriteriaMet and FailureTarget (Kubernetes 1.31+) come first, while the last pods terminate;
# Complete and Failed follow. The outcome is known at the first one, so all map to a terminal phase.
JOB_CONDITIONS: dict[str, JobPhase] = {
    "Complete": JobPhase.SUCCEEDED,
    "SuccessCriteriaMet": JobPhase.SUCCEEDED,
    "Failed": JobPhase.FAILED,
    "FailureTarget": JobPhase.FAILED,
    "Suspended": JobPhase.SUSPENDED,
}


@dataclass(frozen=True)
class PodSummary:
    name: str
    phase: str
    """The pod's phase (Pending, Running, Succeeded, Failed) or, while waiting, the container's reason."""
    restarts: int = 0
    node: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    """Why the container waits or ended (ImagePullBackOff, OOMKilled, Error ...), or a scheduling event."""
    message: str | None = None
    created: datetime | None = None
    memory_limit: str | None = None
    """The trainer container's memory limit (`--memory`)."""
    gpus: int = 0
    gpu_seconds: float = 0.0
    """GPU time the pod has held (`launcher.usage`)."""


@dataclass(frozen=True)
class JobStatus:
    name: str
    namespace: str
    phase: JobPhase
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    """Failed pods so far: each one was a retry (restartPolicy is Never)."""
    pods: tuple[PodSummary, ...] = ()
    reason: str | None = None
    """Why the Job failed (BackoffLimitExceeded, PodFailurePolicy, DeadlineExceeded ...)."""
    message: str | None = None
    exit_code: int | None = None
    """The trainer's exit code in the last failed pod."""
    artifact_uri: str | None = None
    created: datetime | None = None
    queue: str | None = None
    progress: Progress | None = None
    """The newest progress line of the chief pod's log, if one was read."""
    usage: GpuUsage = field(default_factory=GpuUsage)
    sweep: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    """A sweep trial's parameters (trainer flag: value)."""

    @property
    def phase_text(self) -> str:
        """The phase as people read it: a queued Job is waiting for quota."""
        return "Queued (waiting for quota)" if self.phase is JobPhase.QUEUED else self.phase.value

    @property
    def exit_description(self) -> str | None:
        return None if self.exit_code is None else exit_codes.describe(self.exit_code)

    def failure_line(self) -> str:
        """One line saying why the run failed, for the CLI's error output."""
        details = [f"reason {self.reason}"] if self.reason else []
        if self.exit_code is not None:
            details.append(f"trainer exit code {self.exit_code} ({self.exit_description})")
        line = f"job {self.name} failed" + (": " + ", ".join(details) if details else "")
        if self.message:
            line += f" - {self.message}"
        return line

    def progress_line(self) -> str:
        """A short line for `--wait` progress: phase and pod counts."""
        counts: dict[str, int] = {}
        for pod in self.pods:
            counts[pod.phase] = counts.get(pod.phase, 0) + 1
        pods = ", ".join(f"{n} {phase.lower()}" for phase, n in sorted(counts.items())) or "none yet"
        restarts = self.failed + sum(pod.restarts for pod in self.pods)
        return f"{self.name}: {self.phase_text} (pods: {pods}; retries: {restarts})"


def job_phase(job: Any) -> tuple[JobPhase, str | None, str | None]:
    """The phase from the Job alone, with the deciding condition's reason and message."""
    status = job.status
    for condition in (status.conditions or []) if status else []:
        phase = JOB_CONDITIONS.get(condition.type)
        if phase is not None and condition.status == "True" and phase is not JobPhase.SUSPENDED:
            return phase, condition.reason, condition.message
    if job.spec is not None and job.spec.suspend:
        queued = QUEUE_LABEL in (job.metadata.labels or {})
        return JobPhase.QUEUED if queued else JobPhase.SUSPENDED, None, None
    if status is not None and (status.ready or 0) > 0:
        return JobPhase.RUNNING, None, None
    return JobPhase.PENDING, None, None


def _container_state(status: Any) -> tuple[int, int | None, str | None, str | None]:
    """Restarts, exit code, reason and message of the trainer container: waiting reason or how it ended."""
    for cs in (status.container_statuses or []) if status else []:
        if cs.name != CONTAINER_NAME:
            continue
        state = cs.state
        if state and state.terminated:
            t = state.terminated
            return cs.restart_count or 0, t.exit_code, t.reason, t.message
        if state and state.waiting and state.waiting.reason not in (None, "ContainerCreating"):
            return cs.restart_count or 0, None, state.waiting.reason, state.waiting.message
        return cs.restart_count or 0, None, None, None
    return 0, None, None, None


def _memory_limit(pod: Any) -> str | None:
    for c in (pod.spec.containers or []) if pod.spec else []:
        if c.name == CONTAINER_NAME and c.resources and c.resources.limits:
            return c.resources.limits.get("memory")
    return None


def pod_summary(
    pod: Any, events: Sequence[Any] = (), now: datetime | None = None, gpu_resource: str | None = None
) -> PodSummary:
    """A pod's state from its trainer container (waiting reason, or exit code and reason) and its GPU time."""
    status = pod.status
    phase = (status.phase if status else None) or "Pending"
    restarts, exit_code, reason, message = _container_state(status)
    if reason is None and phase == "Pending":
        # Scheduling problems ("0/4 nodes are available: insufficient nvidia.com/gpu") show only as events.
        warnings = [e for e in events if e.type == "Warning"]
        if warnings:
            reason, message = warnings[-1].reason, warnings[-1].message
        if status is not None:
            for condition in status.conditions or []:
                if condition.type == "PodScheduled" and condition.status == "False" and reason is None:
                    reason, message = condition.reason, condition.message
    if message:
        message = message.strip().splitlines()[-1] if message.strip() else None
    used = pod_usage(pod, now or datetime.now(UTC), gpu_resource or DEFAULT_GPU_RESOURCE)
    return PodSummary(
        name=pod.metadata.name,
        phase=phase,
        restarts=restarts,
        node=pod.spec.node_name if pod.spec else None,
        exit_code=exit_code,
        reason=reason,
        message=message,
        created=pod.metadata.creation_timestamp,
        memory_limit=_memory_limit(pod),
        gpus=used.gpus,
        gpu_seconds=used.gpu_seconds,
    )


def progress_pod(pods: Sequence[Any]) -> Any | None:
    """The pod whose log tells the run's progress: the chief (index 0 of a multi-node run), running if one
    runs, else the newest that started (a finished run's last line)."""
    chiefs = [
        p
        for p in pods
        if (p.metadata.labels or {}).get(COMPLETION_INDEX_LABEL, "0") == "0"
        and p.status is not None
        and p.status.phase not in (None, "Pending")
    ]
    chiefs.sort(key=lambda p: (p.status.phase == "Running", p.metadata.creation_timestamp, p.metadata.name))
    return chiefs[-1] if chiefs else None


def _params(annotations: dict[str, str]) -> dict[str, str]:
    try:
        params = json.loads(annotations.get(ANNOTATION_PARAMS) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {}


def summarize(
    job: Any,
    pods: Sequence[Any] = (),
    events: dict[str, Sequence[Any]] | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> JobStatus:
    """The run's status from its Job, its pods (any order), the events of each pod (by pod name), the newest
    progress line of its chief and the time (default: now)."""
    phase, reason, message = job_phase(job)
    annotations = job.metadata.annotations or {}
    resource, now = annotations.get(ANNOTATION_GPU_RESOURCE), now or datetime.now(UTC)
    summaries = sorted(
        (pod_summary(pod, (events or {}).get(pod.metadata.name, ()), now, resource) for pod in pods),
        key=lambda p: (p.created is None, p.created or datetime.min, p.name),
    )
    if phase is JobPhase.PENDING and any(p.phase == "Running" for p in summaries):
        phase = JobPhase.RUNNING
    failed_pods = [p for p in summaries if p.exit_code not in (None, 0)]
    last_failed = failed_pods[-1] if failed_pods else None
    if last_failed is not None and last_failed.message and phase is JobPhase.FAILED:
        # The trainer's own last words (termination message) say more than the Job condition's message.
        message = last_failed.message
    status, job_labels = job.status, job.metadata.labels or {}
    return JobStatus(
        name=job.metadata.name,
        namespace=job.metadata.namespace,
        phase=phase,
        active=(status.active or 0) if status else 0,
        succeeded=(status.succeeded or 0) if status else 0,
        failed=(status.failed or 0) if status else 0,
        pods=tuple(summaries),
        reason=reason,
        message=message,
        exit_code=last_failed.exit_code if last_failed else None,
        artifact_uri=annotations.get(ANNOTATION_OUTPUT),
        created=job.metadata.creation_timestamp,
        queue=job_labels.get(QUEUE_LABEL),
        progress=progress,
        usage=GpuUsage(
            gpu_seconds=sum(p.gpu_seconds for p in summaries),
            gpus=sum(p.gpus for p in summaries if p.phase == "Running"),
        ),
        sweep=job_labels.get(LABEL_SWEEP),
        params=_params(annotations),
    )
