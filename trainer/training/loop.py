"""The training loop: `model.fit` one epoch at a time, resumable at any checkpointed step.

Each epoch gets its own dataset in the order `pipeline.epoch_order` draws from (seed, epoch), so a run resumed at
step k of epoch e builds exactly the batches the interrupted run had not reached and `fit` trains just those
(`initial_epoch` keeps Keras' epoch numbering and the learning-rate schedule follows the restored optimizer step).
"""

import logging
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import tensorflow as tf

from trainer import pipeline
from trainer.data.tokens import Encoded
from trainer.distribute.plan import RunPlan
from trainer.distribute.strategy import LOST_PEER_ERRORS, input_shard_policy, peer_lost
from trainer.errors import UsageError
from trainer.outputs.tensorboard import EventSync
from trainer.settings.train import TrainSettings
from trainer.training.callbacks import (
    Checkpointing,
    EpochEvaluation,
    EpochHistory,
    FirstStep,
    Preempted,
    ProgressLines,
)
from trainer.training.checkpoints import CheckpointManager, Position, Restored
from trainer.training.tensorboard import RunTensorBoard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitHooks:
    """What the caller of `loop.fit` plugs in: the checkpoints, the stop signal (SIGTERM), its evaluation (a dict
    with loss and accuracy), what to do when the first step begins, and where the TensorBoard events go."""

    checkpoints: CheckpointManager
    stop: threading.Event
    evaluate: Callable[[], Mapping[str, float]] | None = None
    on_first_step: Callable[[], None] | None = None
    events: EventSync | None = None


@dataclass(frozen=True)
class CallbackSet:
    callbacks: list[Any]
    checkpointing: Checkpointing
    progress: ProgressLines | None
    verbose: int
    """Keras' own progress bar (1) or not (0)."""
    tensorboard: RunTensorBoard | None = None

    def resume_at(self, skip: int) -> None:
        """The next `fit` call starts `skip` steps into its epoch."""
        self.checkpointing.step_offset = skip
        if self.progress is not None:
            self.progress.step_offset = skip

    def finish(self) -> None:
        """After the last `fit` (or a preempted one): the TensorBoard events closed and synced."""
        if self.tensorboard is not None:
            self.tensorboard.finish()


def training_callbacks(
    settings: TrainSettings, plan: RunPlan, history: list[dict[str, float]], hooks: FitHooks
) -> CallbackSet:
    """The callbacks of one run, in the order they must see each epoch's logs; `history` collects the epochs."""
    use_bar = settings.progress == "bar" or (settings.progress == "auto" and sys.stderr.isatty())
    progress = (
        None
        if use_bar
        else ProgressLines(
            epochs=settings.epochs,
            steps_per_epoch=plan.steps_per_epoch,
            global_batch_size=plan.global_batch,
            every_steps=settings.log_every_steps,
        )
    )

    tensorboard = _tensorboard(settings, history, hooks.events)

    def save(position: Position, wait: bool) -> None:
        if tensorboard is not None:  # the output's events reach every checkpoint a resumed run may start from
            tensorboard.sync()
        hooks.checkpoints.save(position, extra={"history": history}, wait=wait)

    checkpointing = Checkpointing(
        save,
        steps_per_epoch=plan.steps_per_epoch,
        every_steps=settings.checkpoint_every_steps,
        stop=hooks.stop,
    )
    # TensorBoard after the callbacks that complete an epoch's logs, before the one that checkpoints it.
    callbacks: list[Any] = [
        EpochHistory(history, plan.global_batch),
        *filter(None, [tensorboard]),
        checkpointing,
    ]
    if hooks.evaluate is not None and settings.eval_strategy == "epoch":
        # First in the list: the callbacks after it see the validation metrics it adds to the epoch's logs.
        callbacks.insert(0, EpochEvaluation(hooks.evaluate, last_epoch=settings.epochs - 1, announce=use_bar))
    if hooks.on_first_step is not None:
        callbacks.append(FirstStep(hooks.on_first_step))
    if progress is not None:
        callbacks.append(progress)
    return CallbackSet(callbacks, checkpointing, progress, 1 if use_bar else 0, tensorboard)


def _tensorboard(
    settings: TrainSettings, history: list[dict[str, float]], events: EventSync | None
) -> RunTensorBoard | None:
    """Keras' TensorBoard callback, after the callbacks that complete the epoch's logs and history row."""
    if events is None:
        return None
    return RunTensorBoard(
        events,
        history=history,
        every_steps=settings.log_every_steps,
        profile_steps=settings.profile_steps,
    )


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
    plan: RunPlan,
    settings: TrainSettings,
    hooks: FitHooks,
    restored: Restored | None = None,
) -> FitResult:
    """Train from the `restored` checkpoint's position (else the start) to the last epoch; stops early (and says
    where) once `hooks.stop` is set.

    `hooks.evaluate` runs after every epoch but the last; the caller evaluates the final model anyway, and its
    metrics complete the last epoch's row (`complete_last_epoch`). One evaluation path for both means one traced
    function, not Keras' second one.
    """
    start = restored.position if restored is not None else Position(0, 0, 0)
    result = FitResult(history=list(restored.extra.get("history", [])) if restored is not None else [])
    callbacks = training_callbacks(settings, plan, result.history, hooks)
    try:
        for epoch in range(start.epoch, settings.epochs):
            skip = start.step if epoch == start.epoch else 0
            train_ds = _epoch_dataset(model, train, plan, settings, epoch, skip)
            callbacks.resume_at(skip)
            with _fit_errors(plan, settings):
                model.fit(
                    train_ds,
                    initial_epoch=epoch,
                    epochs=epoch + 1,
                    callbacks=callbacks.callbacks,
                    verbose=callbacks.verbose,
                )
    except Preempted as stopped:
        result.preempted_at = stopped.position
    finally:
        callbacks.finish()
    return result


def _epoch_dataset(
    model: Any, train: Encoded, plan: RunPlan, settings: TrainSettings, epoch: int, skip: int
) -> tf.data.Dataset:
    """Epoch `epoch`'s batches from step `skip` on."""
    order = pipeline.epoch_order(
        len(train),
        plan.global_batch,
        seed=settings.seed,
        epoch=epoch,
        skip_steps=skip,
        lengths=train.lengths if settings.group_by_length else None,
    )
    return pipeline.planned_dataset(
        train,
        plan,
        order=order,
        shard_policy=input_shard_policy(model.distribute_strategy),
        drop_remainder=True,
    )


@contextmanager
def _fit_errors(plan: RunPlan, settings: TrainSettings) -> Iterator[None]:
    """What `model.fit` raises, as the trainer's errors: a lost peer is retryable, out of memory names the fix."""
    try:
        yield
    except LOST_PEER_ERRORS as e:  # multi-worker: a peer crashed or was preempted
        raise peer_lost(e) from e
    except tf.errors.ResourceExhaustedError as e:
        raise UsageError(
            f"out of memory at a global batch of {plan.global_batch} and max length {settings.max_length}: "
            "lower --per-replica-batch-size or --max-length"
        ) from e
