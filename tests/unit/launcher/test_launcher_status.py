"""One phase vocabulary, from Job conditions and pod states."""

from datetime import UTC, datetime

import pytest
from kubernetes import client

from launcher.status import JobPhase, summarize

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def job(
    conditions: list[tuple[str, str, str | None]] = (), ready: int = 0, failed: int = 0, suspend: bool = False
):
    return client.V1Job(
        metadata=client.V1ObjectMeta(
            name="r",
            namespace="ml",
            annotations={"tf-finetune-k8s/output": "s3://o/r"},
            creation_timestamp=T0,
        ),
        spec=client.V1JobSpec(template=client.V1PodTemplateSpec(), suspend=suspend),
        status=client.V1JobStatus(
            ready=ready,
            failed=failed,
            conditions=[client.V1JobCondition(type=t, status=s, reason=r) for t, s, r in conditions],
        ),
    )


def pod(
    name: str,
    phase: str,
    minute: int,
    *,
    exit_code: int | None = None,
    waiting: str | None = None,
    message: str | None = None,
):
    state = client.V1ContainerState()
    if exit_code is not None:
        state.terminated = client.V1ContainerStateTerminated(
            exit_code=exit_code, reason="Error", message=message
        )
    elif waiting:
        state.waiting = client.V1ContainerStateWaiting(reason=waiting, message=message)
    elif phase == "Running":
        state.running = client.V1ContainerStateRunning()
    status = client.V1ContainerStatus(
        name="trainer", image="i", image_id="", ready=phase == "Running", restart_count=0, state=state
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, creation_timestamp=T0.replace(minute=minute)),
        status=client.V1PodStatus(phase=phase, container_statuses=[status]),
    )


@pytest.mark.parametrize(
    ("conditions", "phase"),
    [
        ([], JobPhase.PENDING),
        ([("Complete", "True", None)], JobPhase.SUCCEEDED),
        ([("SuccessCriteriaMet", "True", None)], JobPhase.SUCCEEDED),
        ([("FailureTarget", "True", "PodFailurePolicy")], JobPhase.FAILED),
        ([("Failed", "True", "DeadlineExceeded")], JobPhase.FAILED),
        ([("Failed", "False", None)], JobPhase.PENDING),
        ([("Suspended", "True", None)], JobPhase.PENDING),
    ],
)
def test_phase_from_conditions(conditions, phase: JobPhase) -> None:
    assert summarize(job(conditions)).phase is phase


def test_suspended_and_running() -> None:
    assert summarize(job(suspend=True)).phase is JobPhase.SUSPENDED
    assert summarize(job(ready=1)).phase is JobPhase.RUNNING
    assert summarize(job(), [pod("p", "Running", 1)]).phase is JobPhase.RUNNING


def test_terminal() -> None:
    assert [p for p in JobPhase if p.is_terminal()] == [JobPhase.SUCCEEDED, JobPhase.FAILED]


def test_failure_uses_the_last_failed_pod() -> None:
    pods = [
        pod("b", "Failed", 2, exit_code=3, message="line 1\ncolumn 'text' not found\n"),
        pod("a", "Failed", 1, exit_code=75),
    ]
    status = summarize(job([("Failed", "True", "PodFailurePolicy")], failed=2), pods)
    assert [p.name for p in status.pods] == ["a", "b"]
    assert (status.exit_code, status.reason, status.artifact_uri) == (3, "PodFailurePolicy", "s3://o/r")
    assert status.failure_line() == (
        "job r failed: reason PodFailurePolicy, trainer exit code 3 (the data cannot be used) - "
        "column 'text' not found"
    )


def test_waiting_reason_and_scheduling_events() -> None:
    pulling = summarize(job(), [pod("p", "Pending", 1, waiting="ImagePullBackOff", message="no such image")])
    assert (pulling.pods[0].reason, pulling.pods[0].message) == ("ImagePullBackOff", "no such image")
    event = client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="e"),
        involved_object=client.V1ObjectReference(name="q"),
        type="Warning",
        reason="FailedScheduling",
        message="0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
    )
    pending = summarize(job(), [pod("q", "Pending", 1)], {"q": [event]})
    assert pending.pods[0].reason == "FailedScheduling"
    assert pending.progress_line() == "r: Pending (pods: 1 pending; retries: 0)"
