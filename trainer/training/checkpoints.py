"""Training-state checkpoints in object storage, so a preempted run resumes where it stopped.

A checkpoint holds the model weights and the optimizer state (its step counter, hence the learning-rate
schedule position, and Adam's moments) in TensorFlow's checkpoint format, plus `meta.json` with the epoch and
the step within it and a fingerprint of the settings that must not change across a resume. It is written to
local disk, then uploaded under `<output>/checkpoints/ckpt-<global step>/` by a background thread, and marked
complete by a `COMPLETE` object written after every other file: a checkpoint whose upload was cut off has no
marker and is never picked. The last `keep` complete checkpoints are kept.

Not restored: TensorFlow's stateful random number generators (dropout masks). Per-epoch data order does not
depend on them (see `pipeline.epoch_order`), so a resumed run sees exactly the batches it had not trained on.
"""

import json
import logging
import re
import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from trainer.data.labels import LabelMap
from trainer.distribute.plan import RunPlan
from trainer.errors import NotFoundError, TrainerError, UsageError
from trainer.settings.train import TrainSettings
from trainer.storage import Location, Storage

log = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
COMPLETE_MARKER = "COMPLETE"
META_FILE = "meta.json"
STATE_PREFIX = "state"
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
    of later options are added only when set away from their defaults, so earlier checkpoints still resume."""
    fingerprint = {
        "model": settings.model,
        "labels": list(labels.names),
        "global_batch_size": plan.global_batch,
        "max_length": plan.max_length,
        "steps_per_epoch": plan.steps_per_epoch,
        "epochs": settings.epochs,
        "group_by_length": settings.group_by_length,  # the batches of a resumed epoch depend on it
    }
    later = {
        "gradient_accumulation_steps": (plan.accumulation_steps, 1),
        "max_steps": (settings.max_steps, None),
    }
    fingerprint.update({key: value for key, (value, default) in later.items() if value != default})
    return fingerprint


class CheckpointManager:
    """Saves and restores the training state; uploads run in the background, one at a time, in order."""

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
        self._uploads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint-upload")
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()
        self.last_saved: Position | None = None

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
        """Write the state locally now; upload it in the background (or now, with `wait`)."""
        name = checkpoint_name(position.global_step)
        folder = self._local / name
        shutil.rmtree(folder, ignore_errors=True)
        self._checkpoint.write(str(folder / STATE_PREFIX))
        (folder / META_FILE).write_text(
            json.dumps(
                {"position": position.as_dict(), "fingerprint": self._fingerprint, "extra": extra or {}},
                indent=2,
            )
        )
        self.last_saved = position
        if not self._publish:
            shutil.rmtree(folder, ignore_errors=True)
            return
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(self._uploads.submit(self._upload, folder, name))
        if wait:
            self.wait()

    def _upload(self, folder: Path, name: str) -> None:
        destination = self._root.join(name)
        try:
            self._storage.publish(folder, destination, marker=COMPLETE_MARKER)
            log.info("checkpoint %s uploaded", destination)
            self._prune()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _prune(self) -> None:
        complete = find_complete(self._storage, self._root)
        for name in complete[: -self._keep]:
            self._storage.delete_prefix(self._root.join(name))

    def wait(self) -> None:
        """Block until every queued upload finished; re-raise the first failure."""
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        try:
            self.wait()
        except TrainerError as e:
            log.warning("a checkpoint upload failed: %s", e)
        finally:
            self._uploads.shutdown(wait=True)
