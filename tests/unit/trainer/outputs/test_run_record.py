"""run.json: the attempts of every run on one output, and when the record is written (a local output here)."""

import json
from pathlib import Path

import pytest

from trainer.errors import DataError, PreemptedError, UsageError
from trainer.outputs.run_record import RunJournal, RunRecord, mark_interrupted, read_earlier_attempts
from trainer.storage import Location, Storage


def record() -> RunRecord:
    return RunRecord(
        settings={"epochs": 3}, started_at="2025-01-01T00:00:00+00:00", host="pod-0", versions={}
    )


def written(output: Path) -> dict:
    return json.loads((output / "run.json").read_text())


def test_an_attempt_that_never_recorded_its_end_was_interrupted() -> None:
    attempts = [{"status": "running"}, {"status": "preempted"}, {"status": "running", "error": None}]
    assert [a["status"] for a in mark_interrupted(attempts)] == ["interrupted", "preempted", "interrupted"]


def test_a_new_attempt_follows_the_earlier_ones_and_records_its_resume_point() -> None:
    run = record()
    run.begin_attempt([{"status": "interrupted"}])
    assert run.attempts[-1] == {
        "started_at": "2025-01-01T00:00:00+00:00",
        "host": "pod-0",
        "status": "running",
        "resumed_from": None,
    }
    run.resumed(epoch=1, step=0, optimizer_step=30, checkpoint="s3://b/out/checkpoints/ckpt-0000000030")
    assert run.attempts[-1]["resumed_from"] == {
        "epoch": 2,  # 1-based, as in the logs
        "step": 0,
        "optimizer_step": 30,
        "checkpoint": "s3://b/out/checkpoints/ckpt-0000000030",
    }
    assert [a["status"] for a in run.attempts] == ["interrupted", "running"]


def test_each_attempt_records_its_own_precision() -> None:
    """A retried pod may land on other hardware, where `--bf16 auto` resolves otherwise."""
    run = record()
    run.begin_attempt(
        [{"status": "interrupted", "precision": {"policy": "float32", "reason": "--bf16 auto: ..."}}]
    )
    run.note_attempt(precision={"policy": "mixed_bfloat16", "reason": "--bf16 auto: the CPU has amx_bf16"})
    assert [a["precision"]["policy"] for a in run.attempts] == ["float32", "mixed_bfloat16"]
    assert run.as_dict()["attempts"][-1]["precision"]["reason"] == "--bf16 auto: the CPU has amx_bf16"


@pytest.mark.parametrize(
    ("error", "status"),
    [(PreemptedError("stopped by SIGTERM\nmore"), "preempted"), (DataError("bad rows"), "failed")],
)
def test_a_failure_records_its_status_and_first_line(error: Exception, status: str) -> None:
    run = record()
    run.begin_attempt([])
    run.failed(error)
    assert run.status == status and run.finished_at is not None
    assert run.error == f"{type(error).__name__}: {str(error).splitlines()[0]}"
    costs = ("wall_seconds", "phase_seconds", "accelerator", "gpu_seconds")
    assert {k: v for k, v in run.attempts[-1].items() if k not in costs} | {"ended_at": None} == {
        "started_at": "2025-01-01T00:00:00+00:00",
        "host": "pod-0",
        "status": status,
        "resumed_from": None,
        "ended_at": None,
        "error": run.error,
    }


def test_success_closes_the_attempt_and_the_document_keeps_its_key_order() -> None:
    run = record()
    run.begin_attempt([])
    run.succeeded()
    assert run.attempts[-1]["status"] == "succeeded" and run.attempts[-1]["ended_at"] == run.finished_at
    assert list(run.as_dict()) == [
        "schema_version",
        "status",
        "started_at",
        "finished_at",
        "error",
        "attempts",
        "accelerator",
        "gpu_seconds_total",
        "host",
        "settings",
        "distribution",
        "model_source",
        "data",
        "versions",
    ]


def test_gpu_seconds_per_attempt_and_in_total_across_a_retry() -> None:
    """wall x GPUs per worker x workers, per attempt; the total adds the attempts that recorded their end."""
    accelerator = {"type": "NVIDIA A100-SXM4-80GB", "per_worker": 4, "workers": 2}
    first = RunRecord(settings={}, started_at="2025-01-01T00:00:00+00:00", host="pod-a", versions={})
    first.accelerator, first.phase_marks = accelerator, {"imports_and_strategy": 12.5, "data_ready": 40.0}
    first.begin_attempt([{"status": "interrupted", "host": "pod-z"}])  # killed: no end, no cost recorded
    first.finished_at = "2025-01-01T00:10:00+00:00"
    first._end_attempt()
    assert first.attempts[-1]["wall_seconds"] == 600.0
    assert first.attempts[-1]["phase_seconds"] == {"imports_and_strategy": 12.5, "data_ready": 27.5}
    assert first.attempts[-1]["gpu_seconds"] == 600 * 4 * 2
    retry = RunRecord(settings={}, started_at="2025-01-01T01:00:00+00:00", host="pod-b", versions={})
    retry.accelerator = accelerator
    retry.begin_attempt(mark_interrupted(json.loads(json.dumps(first.attempts))))
    retry.finished_at = "2025-01-01T01:05:00+00:00"
    retry._end_attempt()
    document = retry.as_dict()
    assert [a.get("gpu_seconds") for a in document["attempts"]] == [None, 4800.0, 2400.0]
    assert document["gpu_seconds_total"] == 7200.0
    assert document["accelerator"] == accelerator


def test_gpu_seconds_unknown_before_the_devices_are_known() -> None:
    run = record()
    run.begin_attempt([])
    run.failed(DataError("x"))
    assert run.attempts[-1]["gpu_seconds"] is None and run.gpu_seconds_total == 0.0


def test_the_chief_writes_at_start_and_records_a_failure_before_it_goes_on(tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    (output / "run.json").write_text(json.dumps({"attempts": [{"status": "running", "host": "pod-0"}]}))
    storage, loc = Storage(), Location.local(output)
    journal = RunJournal.start(storage, loc, {"epochs": 3}, writes=True)
    assert [a["status"] for a in written(output)["attempts"]] == ["interrupted", "running"]
    with pytest.raises(UsageError), journal.failures():
        raise UsageError("out of memory")
    document = written(output)
    assert document["status"] == "failed" and document["error"] == "UsageError: out of memory"
    assert [a["status"] for a in document["attempts"]] == ["interrupted", "failed"]


def test_the_other_workers_never_write(tmp_path: Path) -> None:
    storage, loc = Storage(), Location.local(tmp_path)
    journal = RunJournal.start(storage, loc, {}, writes=False)
    journal.resumed(epoch=0, step=5, optimizer_step=5, checkpoint="c")
    with pytest.raises(DataError), journal.failures():
        raise DataError("x")
    assert not (tmp_path / "run.json").exists()
    assert journal.record.attempts[-1]["resumed_from"]["step"] == 5


def test_an_unreadable_earlier_record_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{not json")
    assert read_earlier_attempts(Storage(), Location.local(tmp_path)) == []
    assert read_earlier_attempts(Storage(), Location.local(tmp_path / "absent")) == []
