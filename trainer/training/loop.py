"""The training loop: `model.fit` one epoch at a time, resumable at any checkpointed step.

Each epoch gets its own dataset in the order `pipeline.epoch_order` draws from (seed, epoch), so a run resumed at
step k of epoch e builds exactly the batches the interrupted run had not reached and `fit` trains just those
(`initial_epoch` keeps Keras' epoch numbering and the learning-rate schedule follows the restored optimizer step).
"""

import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import tensorflow as tf
import tf_keras as keras

from trainer import pipeline
from trainer.data.tokens import Encoded
from trainer.distribute.strategy import LOST_PEER_ERRORS, input_shard_policy, peer_lost
from trainer.errors import UsageError
from trainer.settings.train import TrainSettings
from trainer.training.callbacks import Checkpointing, Preempted, ProgressLines
from trainer.training.checkpoints import CheckpointManager, Position

log = logging.getLogger(__name__)


class EpochHistory(keras.callbacks.Callback):
    """Appends one row per finished epoch (metrics, train seconds without validation, examples/s) to `rows`."""

    def __init__(
        self,
        rows: list[dict[str, float]],
        global_batch_size: int,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__()
        self.rows = rows
        self._global_batch = global_batch_size
        self._clock = clock
        self._start = self._last = 0.0
        self._steps = 0

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._start = self._last = self._clock()
        self._steps = 0

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self._last = self._clock()
        self._steps = batch + 1  # with steps_per_execution > 1, Keras reports the last step of each execution

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        seconds = self._last - self._start
        row: dict[str, float] = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        row["train_seconds"] = seconds
        row["train_examples_per_second"] = self._steps * self._global_batch / seconds if seconds else 0.0
        self.rows.append(row)


class EpochEvaluation(keras.callbacks.Callback):
    """After each epoch but `last_epoch`, adds `val_loss` and `val_accuracy` from `evaluate()` to the epoch's logs."""

    def __init__(
        self, evaluate: Callable[[], Mapping[str, float]], *, last_epoch: int, announce: bool = False
    ) -> None:
        super().__init__()
        self._evaluate = evaluate
        self._last_epoch = last_epoch
        self._announce = announce

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if epoch >= self._last_epoch or logs is None:
            return
        measured = self._evaluate()
        logs["val_loss"] = float(measured["loss"])
        logs["val_accuracy"] = float(measured["accuracy"])
        if self._announce:  # the progress bar printed its epoch line before these existed
            log.info(
                "epoch %d val_loss=%.4f val_accuracy=%.4f", epoch + 1, logs["val_loss"], logs["val_accuracy"]
            )


class FirstStep(keras.callbacks.Callback):
    """Calls `notify` once, when the first training step begins (the end of start-up)."""

    def __init__(self, notify: Callable[[], None]) -> None:
        super().__init__()
        self._notify: Callable[[], None] | None = notify

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        if self._notify is not None:
            notify, self._notify = self._notify, None
            notify()


def batch_buckets(settings: TrainSettings) -> list[int] | None:
    """Under XLA, the few lengths every batch is padded to (one compilation each); else None (any length)."""
    if not settings.jit_compile:
        return None
    return pipeline.bucket_lengths(settings.max_length, settings.pad_to_multiple_of)


def complete_last_epoch(history: list[dict[str, float]], eval_metrics: Mapping[str, float]) -> None:
    """Give the last epoch's row the final evaluation's loss and accuracy as its validation metrics."""
    if history and "val_loss" not in history[-1]:
        history[-1]["val_loss"] = float(eval_metrics["loss"])
        history[-1]["val_accuracy"] = float(eval_metrics["accuracy"])


@dataclass
class FitResult:
    history: list[dict[str, float]] = field(default_factory=list)
    preempted_at: Position | None = None


def fit(
    model: Any,
    train: Encoded,
    evaluate: Callable[[], Mapping[str, float]] | None,
    *,
    settings: TrainSettings,
    steps: int,
    global_batch: int,
    pad_token_id: int,
    start: Position,
    history: list[dict[str, float]],
    checkpoints: CheckpointManager,
    stop: threading.Event,
    on_first_step: Callable[[], None] | None = None,
) -> FitResult:
    """Train from `start` to the last epoch; stops early (and says where) once `stop` is set.

    `evaluate` (the caller's evaluation: a dict with loss and accuracy) runs after every epoch but the last; the
    caller evaluates the final model anyway, and its metrics complete the last epoch's row
    (`complete_last_epoch`). One evaluation path for both means one traced function, not Keras' second one.
    """
    result = FitResult(history=history)
    use_bar = settings.progress == "bar" or (settings.progress == "auto" and sys.stderr.isatty())
    progress = (
        None
        if use_bar
        else ProgressLines(
            epochs=settings.epochs,
            steps_per_epoch=steps,
            global_batch_size=global_batch,
            every_steps=settings.log_every_steps,
        )
    )

    def save(position: Position, wait: bool) -> None:
        checkpoints.save(position, extra={"history": result.history}, wait=wait)

    checkpointing = Checkpointing(
        save, steps_per_epoch=steps, every_steps=settings.checkpoint_every_steps, stop=stop
    )
    callbacks: list[Any] = [EpochHistory(result.history, global_batch), checkpointing]
    if evaluate is not None and settings.eval_strategy == "epoch":
        # First in the list: the callbacks after it see the validation metrics it adds to the epoch's logs.
        callbacks.insert(0, EpochEvaluation(evaluate, last_epoch=settings.epochs - 1, announce=use_bar))
    if on_first_step is not None:
        callbacks.append(FirstStep(on_first_step))
    if progress is not None:
        callbacks.append(progress)
    for epoch in range(start.epoch, settings.epochs):
        skip = start.step if epoch == start.epoch else 0
        order = pipeline.epoch_order(
            len(train),
            global_batch,
            seed=settings.seed,
            epoch=epoch,
            skip_steps=skip,
            lengths=train.lengths if settings.group_by_length else None,
        )
        train_ds = pipeline.build_dataset(
            train,
            global_batch_size=global_batch,
            order=order,
            drop_remainder=True,
            pad_token_id=pad_token_id,
            pad_to_multiple_of=settings.pad_to_multiple_of,
            buckets=batch_buckets(settings),
            shard_policy=input_shard_policy(model.distribute_strategy),
            in_memory=settings.keep_in_memory is not False,
        )
        checkpointing.step_offset = skip
        if progress is not None:
            progress.step_offset = skip
        try:
            model.fit(
                train_ds,
                initial_epoch=epoch,
                epochs=epoch + 1,
                callbacks=callbacks,
                verbose=1 if use_bar else 0,
            )
        except Preempted as stopped:
            result.preempted_at = stopped.position
            return result
        except LOST_PEER_ERRORS as e:  # multi-worker: a peer crashed or was preempted
            raise peer_lost(e) from e
        except tf.errors.ResourceExhaustedError as e:
            raise UsageError(
                f"out of memory at a global batch of {global_batch} and max length {settings.max_length}: "
                "lower --per-replica-batch-size or --max-length"
            ) from e
    return result
