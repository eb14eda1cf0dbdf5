"""An out-of-memory end is said as its fix: host memory (OOMKilled) and GPU memory (the trainer's exit 2) apart."""

from launcher.diagnosis import diagnose
from launcher.status import PodSummary


def summary(**kwargs: object) -> PodSummary:
    return PodSummary(**{"name": "r-1", "phase": "Failed", "restarts": 0, "node": "n", **kwargs})  # type: ignore[arg-type]


def test_oom_killed_names_a_bigger_memory_limit() -> None:
    found = diagnose([summary(exit_code=137, reason="OOMKilled", memory_limit="24Gi")])
    assert found is not None
    assert found.line() == (
        "out of memory: pod r-1 was OOMKilled at its 24Gi limit: raise --memory (e.g. --memory 48Gi) or lower "
        "the trainer's --per-replica-batch-size"
    )


def test_gpu_out_of_memory_says_more_memory_does_not_help() -> None:
    found = diagnose(
        [summary(exit_code=2, reason="Error", message="out of memory on the accelerator at batch 64")]
    )
    assert found is not None and "more --memory does not help" in found.fix


def test_other_failures_have_no_diagnosis_and_the_newest_pod_counts() -> None:
    assert diagnose([summary(exit_code=3, reason="Error", message="column 'text' not found")]) is None
    older_oom = summary(name="r-0", exit_code=137, reason="OOMKilled", memory_limit="16Gi")
    assert diagnose([older_oom, summary(exit_code=75, reason="Error")]) is not None
    assert diagnose([]) is None
