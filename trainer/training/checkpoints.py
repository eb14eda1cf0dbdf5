"""Training-state checkpoints in object storage, so a preempted run resumes where it stopped.

A checkpoint holds the model weights and the optimizer state (its step counter, hence the learning-rate
schedule position, and Adam's moments) in TensorFlow's checkpoint format, plus `meta.json` with the epoch and
the step within it and a fingerprint of the settings that must not change across a resume. It is uploaded under
`<output>/checkpoints/ckpt-<global step>/` and marked complete by a `COMPLETE` object written after every other
file: a checkpoint whose upload was cut off has no marker and is never picked. The last `keep` complete
checkpoints are kept.

Off the training loop's path: `save` only copies the state into host memory (TensorFlow's async checkpointing:
one copy of every variable, allocated at the first save) and returns; TensorFlow's writer thread writes the files
and `uploads.UploadQueue`'s thread ships them (at most one upload in flight and one waiting; a newer checkpoint
replaces a waiting one). SIGTERM and the end of training wait for both (`wait`). The copy runs eagerly: TensorFlow
would trace it into a function at the second save, which measured 1-2 s for all-MiniLM-L6-v2 (more than an eager
copy costs over a run's checkpoints). Its 273 MB state then holds the loop 0.05 s where writing it held it 0.86 s
(`benchmarks/checkpoint_stall.py`).

Not restored: TensorFlow's stateful random number generators (dropout masks). Per-epoch data order does not
depend on them (see `pipeline.epoch_order`), so a resumed run sees exactly the batches it had not trained on.
"""

import json
import logging
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from trainer.data.labels import LabelMap
from trainer.distribute.plan import RunPlan
from trainer.errors import NotFoundError, TrainerError, UsageError
from trainer.settings.problem import SINGLE_LABEL
from trainer.settings.train import TrainSettings
from trainer.storage import Location, Storage
from trainer.training.uploads import UploadQueue

log = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
COMPLETE_MARKER = "COMPLETE"
META_FILE = "meta.json"
STATE_PREFIX = "state"
SNAPSHOT = tf.train.CheckpointOptions(experimental_enable_async_checkpoint=True)
"""`Checkpoint.write` copies the state and returns; a TensorFlow thread writes the files (`Checkpoint.sync`)."""
_NAME = re.compile(r"^ckpt-(\d{10})$")


def checkpoint_name(global_step: int) -> str:
    return f"ckpt-{global_step:010d}"


@dataclass(frozen=True)
class Position:
    """Where training stands: `step` optimizer steps done within `epoch` (0-based), `global_step` in total."""

    epoch: int
    step: int
    global_step: int

    def as_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "step": self.step, "global_step": self.global_step}


@dataclass(frozen=True)
class Restored:
    position: Position
    name: str
    extra: dict[str, Any]
    """What the saver stored beside the position (the training history so far)."""


def find_complete(storage: Storage, root: Location) -> list[str]:
    """Names of the checkpoints under `root` whose COMPLETE marker exists, oldest first."""
    try:
        objects = storage.list(root)
    except NotFoundError:
        return []
    names: dict[str, set[str]] = {}
    for info in objects:
        head, _, rest = info.relative.partition("/")
        if _NAME.match(head):
            names.setdefault(head, set()).add(rest)
    complete = sorted(name for name, files in names.items() if COMPLETE_MARKER in files)
    for name in sorted(set(names) - set(complete)):
        log.info(
            "ignoring incomplete checkpoint %s (no %s marker: its upload was cut off)",
            root.join(name),
            COMPLETE_MARKER,
        )
    return complete


def fingerprint_for(settings: TrainSettings, plan: RunPlan, labels: LabelMap) -> dict[str, Any]:
    """What must not change across a resume; a checkpoint made with other values is refused (`restore_latest`).
    The keys are stored in every checkpoint's meta.json: renaming one would refuse every earlier checkpoint. Keys
    of later options are added only when set away from their defaults, so earlier checkpoints still resume.

    The precision is not among them: mixed_bfloat16 keeps float32 variables and the same optimizer state, so a
    checkpoint made in float32 resumes in bfloat16 and the other way round, and `--bf16 auto` may resolve
    differently on the node a retried pod lands on; refusing that resume would throw the progress away."""
    fingerprint = {
        "model": settings.model,
        "labels": list(labels.names),
        "global_batch_size": plan.global_batch,
        "max_length": plan.max_length,
        "steps_per_epoch": plan.steps_per_epoch,
        "epochs": settings.epochs,
        "group_by_length": settings.group_by_length,  # the batches of a resumed epoch depend on it
        **problem_fingerprint(settings, labels),
    }
    later = {
        "gradient_accumulation_steps": (plan.accumulation_steps, 1),
        "max_steps": (settings.max_steps, None),
    }
    fingerprint.update({key: value for key, (value, default) in later.items() if value != default})
    return fingerprint


def problem_fingerprint(settings: TrainSettings, labels: LabelMap) -> dict[str, Any]:
    """The problem type and class weights, when not single-label classification without weights (issue 17)."""
    keys: dict[str, Any] = {}
    if labels.problem_type != SINGLE_LABEL:
        keys["problem_type"] = labels.problem_type
    if settings.class_weight is not None:
        keys["class_weight"] = settings.class_weight
    return keys


class CheckpointManager:
    """Saves and restores the training state; writing and uploading run in the background (module docstring)."""

    def __init__(
        self,
        storage: Storage,
        output: Location,
        local_dir: Path,
        *,
        model: Any,
        fingerprint: dict[str, Any],
        keep: int,
        publish: bool = True,
    ) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1. Received: keep={keep}")
        self._storage = storage
        self._root = output.join(CHECKPOINTS_DIR)
        self._local = local_dir
        self._fingerprint = fingerprint
        self._keep = keep
        self._publish = publish
        self._checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
        self._uploads = UploadQueue(self._ship, _remove)
        self.last_saved: Position | None = None
        self.stall_seconds = 0.0
        """How long `save` held the training loop, in all (waits for uploads excluded)."""

    @property
    def root(self) -> Location:
        return self._root

    def discard(self) -> int:
        """Delete every checkpoint under the output (--restart, or after a successful publish)."""
        self.wait()
        return self._storage.delete_prefix(self._root)

    def resume(self, *, restart: bool) -> Restored | None:
        """Where training starts: the newest complete checkpoint (unless --restart: then they are discarded, by
        the publishing worker), else None, the beginning."""
        if restart:
            removed = self.discard() if self._publish else 0
            log.info("--restart: discarded %d checkpoint objects under %s", removed, self._root)
            return None
        restored = self.restore_latest()
        if restored is not None:
            position = restored.position
            log.info(
                "resumed from checkpoint %s: epoch %d step %d (optimizer step %d)",
                self._root.join(restored.name),
                position.epoch + 1,
                position.step,
                position.global_step,
            )
        return restored

    def restore_latest(self) -> Restored | None:
        """Load the newest complete checkpoint, if any; an incompatible one is a UsageError naming --restart."""
        complete = find_complete(self._storage, self._root)
        if not complete:
            return None
        name = complete[-1]
        target = self._local / "restore" / name
        self._storage.download(self._root.join(name), target, copy_local=True)
        meta = json.loads((target / META_FILE).read_text())
        changed = {
            key: (meta["fingerprint"].get(key), value)
            for key, value in self._fingerprint.items()
            if meta["fingerprint"].get(key) != value
        }
        if changed:
            described = ", ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in sorted(changed.items()))
            raise UsageError(
                f"the checkpoint in {self._root.join(name)} was made with other settings ({described}): "
                "rerun with the original settings to resume, or pass --restart to discard it and start over"
            )
        self._checkpoint.read(str(target / STATE_PREFIX)).assert_existing_objects_matched().expect_partial()
        shutil.rmtree(target, ignore_errors=True)
        return Restored(position=Position(**meta["position"]), name=name, extra=meta.get("extra", {}))

    def save(self, position: Position, *, extra: dict[str, Any] | None = None, wait: bool = False) -> None:
        """Take a copy of the state now; write and upload it in the background (and wait for that, with `wait`)."""
        started = time.perf_counter()
        name = checkpoint_name(position.global_step)
        folder = self._local / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with _eagerly():
            self._checkpoint.write(str(folder / STATE_PREFIX), options=SNAPSHOT)
        (folder / META_FILE).write_text(
            json.dumps(
                {"position": position.as_dict(), "fingerprint": self._fingerprint, "extra": extra or {}},
                indent=2,
            )
        )
        self.last_saved = position
        self._uploads.submit(name, folder)
        self.stall_seconds += time.perf_counter() - started
        if wait:
            self.wait()

    def _ship(self, name: str, folder: Path) -> None:
        """In the upload thread: once TensorFlow wrote the files, upload them (the publishing worker) and prune;
        the folder goes either way (the other workers write theirs only because saving takes every worker)."""
        try:
            self._checkpoint.sync()
            if not (folder / f"{STATE_PREFIX}.index").is_file():
                raise TrainerError(
                    f"checkpoint {name} was not written to {folder}: is the scratch disk full?"
                )
            if self._publish:
                destination = self._root.join(name)
                self._storage.publish(folder, destination, marker=COMPLETE_MARKER)
                log.info("checkpoint %s uploaded", destination)
                self._prune()
        finally:
            _remove(folder)

    def _prune(self) -> None:
        complete = find_complete(self._storage, self._root)
        for name in complete[: -self._keep]:
            self._storage.delete_prefix(self._root.join(name))

    def wait(self) -> None:
        """Block until every checkpoint handed over is written and uploaded (or superseded while it waited);
        re-raise the first failure."""
        self._uploads.wait()

    def close(self) -> None:
        try:
            self.wait()
        except TrainerError as e:
            log.warning("a checkpoint upload failed: %s", e)
        finally:
            self._uploads.close()
            self._checkpoint.sync()


@contextmanager
def _eagerly() -> Iterator[None]:
    """Run tf.functions eagerly inside: the same results, no tracing (the training loop is paused in a callback)."""
    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
