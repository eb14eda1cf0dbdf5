"""One vocabulary for the state of a run, mapped from the Job's conditions and its pods' states.

`status`, `list` and `submit --wait` all go through `summarize`. It is pure: it reads client model objects
(`V1Job`, `V1Pod`, `CoreV1Event`) that `launcher.cluster` fetched.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from launcher.labels import ANNOTATION_OUTPUT, CONTAINER_NAME
from trainer.contract import exit_codes


class JobPhase(Enum):
    PENDING = "Pending"
    """Created; no pod is running yet (scheduling, pulling the image, or between retries)."""
    RUNNING = "Running"
    """A trainer pod is running."""
    SUSPENDED = "Suspended"
    """`spec.suspend` is set (e.g. by a queue such as Kueue); no pods run."""
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
        return f"{self.name}: {self.phase.value} (pods: {pods}; retries: {restarts})"


def job_phase(job: Any) -> tuple[JobPhase, str | None, str | None]:
    """The phase from the Job alone, with the deciding condition's reason and message."""
    status = job.status
    for condition in (status.conditions or []) if status else []:
        phase = JOB_CONDITIONS.get(condition.type)
        if phase is not None and condition.status == "True" and phase is not JobPhase.SUSPENDED:
            return phase, condition.reason, condition.message
    if job.spec is not None and job.spec.suspend:
        return JobPhase.SUSPENDED, None, None
    if status is not None and (status.ready or 0) > 0:
        return JobPhase.RUNNING, None, None
    return JobPhase.PENDING, None, None


def pod_summary(pod: Any, events: Sequence[Any] = ()) -> PodSummary:
    """A pod's state from its trainer container: waiting reason, or terminated exit code and reason."""
    status = pod.status
    phase = (status.phase if status else None) or "Pending"
    restarts, exit_code, reason, message = 0, None, None, None
    for cs in (status.container_statuses or []) if status else []:
        if cs.name != CONTAINER_NAME:
            continue
        restarts = cs.restart_count or 0
        state = cs.state
        if state and state.terminated:
            exit_code, reason, message = (
                state.terminated.exit_code,
                state.terminated.reason,
                state.terminated.message,
            )
        elif state and state.waiting and state.waiting.reason not in (None, "ContainerCreating"):
            reason, message = state.waiting.reason, state.waiting.message
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
    return PodSummary(
        name=pod.metadata.name,
        phase=phase,
        restarts=restarts,
        node=pod.spec.node_name if pod.spec else None,
        exit_code=exit_code,
        reason=reason,
        message=message,
        created=pod.metadata.creation_timestamp,
    )


def summarize(
    job: Any, pods: Sequence[Any] = (), events: dict[str, Sequence[Any]] | None = None
) -> JobStatus:
    """The run's status from its Job, its pods (any order) and the events of each pod (by pod name)."""
    phase, reason, message = job_phase(job)
    summaries = sorted(
        (pod_summary(pod, (events or {}).get(pod.metadata.name, ())) for pod in pods),
        key=lambda p: (p.created is None, p.created or datetime.min, p.name),
    )
    if phase is JobPhase.PENDING and any(p.phase == "Running" for p in summaries):
        phase = JobPhase.RUNNING
    failed_pods = [p for p in summaries if p.exit_code not in (None, 0)]
    last_failed = failed_pods[-1] if failed_pods else None
    if last_failed is not None and last_failed.message and phase is JobPhase.FAILED:
        # The trainer's own last words (termination message) say more than the Job condition's message.
        message = last_failed.message
    status = job.status
    annotations = job.metadata.annotations or {}
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
    )
