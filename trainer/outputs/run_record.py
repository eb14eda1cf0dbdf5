"""run.json: what a training run records about itself, and when it is written.

The chief writes `<output>/run.json` when the run starts (so a missing bucket or a read-only credential fails at
once, not after hours of training), when it resumes from a checkpoint and when it fails or is preempted; on
success the record is published with the artifacts. Every attempt on the same output (a Job's retries) adds an
entry to `attempts`: an earlier entry still "running" never recorded its end (SIGKILL, OOM, node lost) and is
rewritten as "interrupted".

Cost: `accelerator` says what each worker trained on (GPU model and count, from the devices TensorFlow sees, and
the number of workers); every attempt that recorded its end has its wall time from process start, the wall time
of each phase, and `gpu_seconds` = wall x GPUs per worker x workers; `gpu_seconds_total` adds up the attempts (an
interrupted one never recorded its end, so it is not counted: `launcher status` measures from the pods instead).
"""

import json
import logging
import platform
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from trainer.errors import PreemptedError, TrainerError
from trainer.outputs.layout import RUN_FILE
from trainer.outputs.schema import SCHEMA_VERSION
from trainer.outputs.timing import process_started_at, utc_now
from trainer.storage import Location, Storage

log = logging.getLogger(__name__)

VERSIONED_PACKAGES = (
    "tf-finetune-k8s",
    "tensorflow",
    "tf-keras",
    "transformers",
    "tokenizers",
    "numpy",
    "pyarrow",
    "boto3",
)


def _process_start() -> str:
    return datetime.fromtimestamp(process_started_at(), UTC).isoformat(timespec="seconds")


def gpu_seconds(wall_seconds: float, accelerator: dict[str, Any]) -> float | None:
    """Wall time x GPUs per worker x workers; None while the accelerators are not known yet."""
    if "per_worker" not in accelerator:
        return None
    return round(wall_seconds * accelerator["per_worker"] * accelerator.get("workers", 1), 1)


def phase_seconds(marks: dict[str, float]) -> dict[str, float]:
    """The wall time of each phase, from the seconds after process start at which each one ended."""
    durations, previous = {}, 0.0
    for name, at in marks.items():
        durations[name] = round(at - previous, 3)
        previous = at
    return durations


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclass
class RunRecord:
    """What run.json says about one run; updated as the run progresses."""

    settings: dict[str, Any]
    started_at: str = field(default_factory=_process_start)
    finished_at: str | None = None
    status: str = "running"
    host: str = field(default_factory=socket.gethostname)
    versions: dict[str, str | None] = field(default_factory=package_versions)
    distribution: dict[str, Any] = field(default_factory=dict)
    data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    model_source: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    accelerator: dict[str, Any] = field(default_factory=dict)
    """`{"type", "per_worker", "workers"}` (`distribute.devices`), once the strategy is up."""
    phase_marks: dict[str, float] = field(default_factory=dict)
    """Seconds after process start at which each phase ended (the run's `Timeline.marks`)."""

    @property
    def gpu_seconds_total(self) -> float:
        return round(sum(attempt.get("gpu_seconds") or 0.0 for attempt in self.attempts), 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "attempts": self.attempts,
            "accelerator": self.accelerator,
            "gpu_seconds_total": self.gpu_seconds_total,
            "host": self.host,
            "settings": self.settings,
            "distribution": self.distribution,
            "model_source": self.model_source,
            "data": self.data,
            "versions": self.versions,
        }

    def begin_attempt(self, earlier: list[dict[str, Any]]) -> None:
        """This process's attempt, after the `earlier` ones on the same output."""
        running = {
            "started_at": self.started_at,
            "host": self.host,
            "status": "running",
            "resumed_from": None,
        }
        self.attempts = [*earlier, running]

    def note_attempt(self, **facts: Any) -> None:
        """Facts of this attempt that a retry may resolve otherwise (a pod can land on other hardware):
        `precision`."""
        self.attempts[-1].update(facts)

    def resumed(self, *, epoch: int, step: int, optimizer_step: int, checkpoint: str) -> None:
        """The attempt resumed from `checkpoint` at (0-based) `epoch`, step `step` within it."""
        self.attempts[-1]["resumed_from"] = {
            "epoch": epoch + 1,  # 1-based, as in the logs
            "step": step,
            "optimizer_step": optimizer_step,
            "checkpoint": checkpoint,
        }

    def failed(self, error: BaseException) -> None:
        """Why the run stopped: "preempted" (SIGTERM, resumable) or "failed", with the error's first line."""
        self.status = "preempted" if isinstance(error, PreemptedError) else "failed"
        self.finished_at = utc_now()
        self.error = f"{type(error).__name__}: {error}".splitlines()[0]
        self._end_attempt(error=self.error)

    def succeeded(self) -> None:
        self.status = "succeeded"
        self.finished_at = utc_now()
        self._end_attempt()

    def _end_attempt(self, **extra: Any) -> None:
        """This attempt's end, status, wall time (also per phase) and GPU-seconds."""
        started = datetime.fromisoformat(self.started_at)
        wall = max(0.0, (datetime.fromisoformat(self.finished_at or utc_now()) - started).total_seconds())
        self.attempts[-1].update(
            ended_at=self.finished_at,
            status=self.status,
            **extra,
            wall_seconds=wall,
            phase_seconds=phase_seconds(self.phase_marks),
            accelerator=dict(self.accelerator),
            gpu_seconds=gpu_seconds(wall, self.accelerator),
        )


def mark_interrupted(attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier attempts as recorded, an attempt that never recorded an end ("running") as "interrupted"."""
    for attempt in attempts:
        if attempt.get("status") == "running":  # killed: SIGKILL, OOM, node lost
            attempt["status"] = "interrupted"
    return attempts


def read_earlier_attempts(storage: Storage, output: Location) -> list[dict[str, Any]]:
    """Attempts recorded by earlier runs on this output (a Job's retries), so run.json tells the whole story."""
    location = output.join(RUN_FILE)
    if not storage.exists(location):
        return []
    try:
        attempts = list(json.loads(storage.read_bytes(location)).get("attempts", []))
    except (ValueError, AttributeError):
        log.warning("ignoring an unreadable %s from an earlier attempt", location)
        return []
    return mark_interrupted(attempts)


class RunJournal:
    """A run's record and its place in storage; only the process that `writes` (the chief) writes it."""

    def __init__(self, storage: Storage, output: Location, record: RunRecord, *, writes: bool) -> None:
        self.record = record
        self._storage = storage
        self._output = output
        self._writes = writes

    @classmethod
    def start(
        cls, storage: Storage, output: Location, settings: dict[str, Any], *, writes: bool
    ) -> "RunJournal":
        """A new attempt after the earlier ones, written at once by the writer."""
        journal = cls(storage, output, RunRecord(settings=settings), writes=writes)
        journal.record.begin_attempt(read_earlier_attempts(storage, output))
        journal.write()
        return journal

    def write(self) -> None:
        if self._writes:
            payload = json.dumps(self.record.as_dict(), indent=2).encode()
            self._storage.write_bytes(self._output.join(RUN_FILE), payload)

    def resumed(self, *, epoch: int, step: int, optimizer_step: int, checkpoint: str) -> None:
        self.record.resumed(epoch=epoch, step=step, optimizer_step=optimizer_step, checkpoint=checkpoint)
        self.write()

    @contextmanager
    def failures(self) -> Iterator[None]:
        """Any error out of the block is recorded (best effort) before it goes on to the user."""
        try:
            yield
        except BaseException as e:
            if self._writes:
                self.record.failed(e)
                try:
                    self.write()
                except TrainerError as nested:
                    log.warning("could not record the failure in %s: %s", RUN_FILE, nested)
            raise
