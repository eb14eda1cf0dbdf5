"""A training run's TensorBoard event files: written live, synced to `<output>/tensorboard/`, kept across resumes.

Keras' TensorBoard callback (`training.tensorboard`) writes the events into the staging folder's `tensorboard/`
while the run trains; `EventSync` uploads the new and grown files to the output just before each checkpoint is
saved (every --checkpoint-every-steps steps, every epoch end, on SIGTERM), so a synced copy of the output shows
the curves during training, and the output's events always reach the newest checkpoint. A resumed run downloads
them, drops what lies beyond the checkpoint it resumes from (written before a SIGKILL, say: it trains those steps
again) and writes its own files beside them, so the curves cover every epoch once, steps increasing; a run that
starts from scratch removes stale events. At the end the final evaluation is added and the folder is published
with the run.

Layout under a run's output:

    tensorboard/train/       epoch_loss, epoch_accuracy, epoch_learning_rate, epoch_examples_per_second per epoch
                             (steps 1..N); batch_loss, batch_accuracy every --log-every-steps optimizer steps
    tensorboard/validation/  epoch_loss, epoch_accuracy per epoch; eval/loss, eval/accuracy, eval/macro_f1 and
                             the eval/confusion_matrix image at the last epoch
    tensorboard/plugins/profile/  with --profile-steps: the profiler's trace (TensorBoard's Profile tab)
"""

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from trainer.errors import NotFoundError, TrainerError
from trainer.storage import Location, Storage

log = logging.getLogger(__name__)

TENSORBOARD_DIR = "tensorboard"
TB_TRAIN_RUN = "train"
TB_VALIDATION_RUN = "validation"
"""The run names Keras' TensorBoard callback uses, so the train and validation curves overlay."""
EPOCH_TAG_PREFIXES = ("epoch_", "eval/")
"""Tags whose step is the epoch number (1..N); every other tag's step is the optimizer step."""


class EventSync:
    """Copies the event files under `local_dir` to `<output>/tensorboard/`: only new or grown files, one sync at a
    time in the background. A failed sync is logged, not raised: the events are published with the run anyway."""

    def __init__(self, storage: Storage, output: Location, local_dir: Path, *, publish: bool) -> None:
        self.local_dir = local_dir
        self._storage = storage
        self.remote = output.join(TENSORBOARD_DIR)
        self._publish = publish
        self._synced: dict[str, tuple[int, int]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tensorboard-sync")
        self._queued: Future[None] | None = None
        self._lock = threading.Lock()

    def start(self, resumed_at: tuple[int, int] | None) -> None:
        """Before training. A run resumed at (epochs done, optimizer step) gets the events published so far, less
        any past that point; a fresh run (None) removes stale ones."""
        self.local_dir.mkdir(parents=True, exist_ok=True)
        if not self._publish:
            return
        if resumed_at is None:
            removed = self._storage.delete_prefix(self.remote)
            if removed:
                log.info("removed %d TensorBoard files of an earlier attempt under %s", removed, self.remote)
            return
        try:
            pairs = self._storage.download(self.remote, self.local_dir, copy_local=True)
        except NotFoundError:
            return
        self._synced.update({info.relative: _stamp(path) for info, path in pairs})
        dropped = drop_events_after(self.local_dir, *resumed_at)
        log.info(
            "TensorBoard: %d files of the earlier attempts restored from %s (%d events past the checkpoint dropped)",
            len(pairs),
            self.remote,
            dropped,
        )

    def sync(self) -> None:
        """Queue an upload of what changed, unless one is queued and not started yet (it will see the same)."""
        if not self._publish:
            return
        with self._lock:
            queued = self._queued
            if queued is not None and not queued.running() and not queued.done():
                return
            self._queued = self._pool.submit(self._upload_changed)

    def wait(self) -> None:
        """Block until the queued sync finished."""
        with self._lock:
            queued = self._queued
        if queued is not None:
            queued.result()

    def close(self) -> None:
        self.wait()
        self._pool.shutdown(wait=True)

    def _upload_changed(self) -> None:
        try:
            for path in sorted(p for p in self.local_dir.rglob("*") if p.is_file()):
                relative, stamp = path.relative_to(self.local_dir).as_posix(), _stamp(path)
                if self._synced.get(relative) != stamp:
                    self._storage.upload_file(path, self.remote.join(relative))
                    self._synced[relative] = stamp
        except (TrainerError, OSError) as e:
            log.warning(
                "could not sync the TensorBoard events to %s (they are published at the end): %s",
                self.remote,
                e,
            )


def drop_events_after(log_dir: Path, epochs_done: int, step: int) -> int:
    """Rewrite the event files under `log_dir` without the events past `epochs_done` (tags of the epoch number) or
    `step` (tags of the optimizer step); a record cut off by a crash ends its file. Returns how many went."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    dropped = 0
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        events, cut_off = [], False
        try:
            for record in tf.data.TFRecordDataset(str(path)):
                events.append(event_pb2.Event.FromString(record.numpy()))
        except tf.errors.DataLossError:
            cut_off = True
        kept = [event for event in events if not _past(event, epochs_done, step)]
        if cut_off or len(kept) < len(events):
            dropped += len(events) - len(kept) + cut_off
            with tf.io.TFRecordWriter(str(path)) as writer:
                for event in kept:
                    writer.write(event.SerializeToString())
    return dropped


def _past(event: Any, epochs_done: int, step: int) -> bool:
    tags = [value.tag for value in event.summary.value]
    if not tags:
        return False
    return event.step > (epochs_done if all(tag.startswith(EPOCH_TAG_PREFIXES) for tag in tags) else step)


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def write_evaluation_events(
    log_dir: Path, eval_metrics: Mapping[str, Any], step: int, confusion_png: Path | None = None
) -> None:
    """The final evaluation into the validation run at `step` (the last epoch, which has no per-epoch evaluation):
    the last point of the `epoch_loss` and `epoch_accuracy` curves, `eval/loss`, `eval/accuracy`, `eval/macro_f1`
    and the confusion matrix image, through TensorBoard's summary ops."""
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(log_dir / TB_VALIDATION_RUN))
    with writer.as_default(), tf.summary.record_if(True):
        for key in ("loss", "accuracy"):
            if isinstance(eval_metrics.get(key), int | float):
                tf.summary.scalar(f"epoch_{key}", float(eval_metrics[key]), step=step)
        for key in ("loss", "accuracy", "macro_f1"):
            if isinstance(eval_metrics.get(key), int | float):
                tf.summary.scalar(f"eval/{key}", float(eval_metrics[key]), step=step)
        if confusion_png is not None and confusion_png.is_file():
            pixels = tf.io.decode_png(confusion_png.read_bytes(), channels=3)
            tf.summary.image("eval/confusion_matrix", pixels[tf.newaxis], step=step)
    writer.close()
