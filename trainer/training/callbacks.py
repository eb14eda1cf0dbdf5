"""Every Keras callback of a training run: progress lines, checkpoints and the SIGTERM stop, the per-epoch history
and evaluation, the first-step notice (`loop.training_callbacks` puts them together).

In a pod there is no TTY and Keras' progress bar turns into a wall of carriage returns in `kubectl logs`, so there
the trainer logs one line every N steps and one per epoch instead, as `key=value` pairs a person can read, each
followed by the same numbers as one JSON line (`trainer.contract.progress`) that `launcher status` reads.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import tf_keras as keras

from trainer.contract.progress import Progress, to_line
from trainer.training.checkpoints import Position

log = logging.getLogger("trainer.progress")


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def format_metrics(logs: Mapping[str, float] | None) -> str:
    return " ".join(f"{key}={value:.4f}" for key, value in sorted((logs or {}).items()))


def crossed(previous_step: int, step: int, every: int) -> bool:
    """Whether a multiple of `every` lies in (previous_step, step]: with steps_per_execution N > 1 Keras reports
    only every N-th step, so "step % every == 0" would miss most multiples."""
    return every > 0 and step // every > previous_step // every


class _EpochSteps(keras.callbacks.Callback):
    """Which step of its epoch a run is at, also across `fit` calls: `step_offset` is the number of steps of the
    current epoch done before this call (a resumed epoch). Acts every `every_steps` steps."""

    def __init__(self, *, steps_per_epoch: int, every_steps: int, allow_zero: bool) -> None:
        super().__init__()
        if every_steps < 0 or (every_steps == 0 and not allow_zero):
            allowed = "0 or positive" if allow_zero else "positive"
            raise ValueError(f"every_steps must be {allowed}. Received: every_steps={every_steps}")
        self.steps_per_epoch = steps_per_epoch
        self.every_steps = every_steps
        self.step_offset = 0
        self._last_step = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._epoch = epoch
        self._last_step = self.step_offset

    def done(self) -> tuple[int, int]:
        """(optimizer steps of the run done, 1-based epoch) as of the last step seen."""
        return self._epoch * self.steps_per_epoch + self._last_step, self._epoch + 1

    def _advance(self, batch: int) -> tuple[int, int]:
        """(previous step, this step) of the epoch; `batch` is the last step of the call: with steps_per_execution
        N, Keras reports every N steps."""
        step = self.step_offset + batch + 1
        previous, self._last_step = self._last_step, step
        return previous, step


class ProgressLines(_EpochSteps):
    """One log line every `every_steps` steps and one per epoch: loss, accuracy, examples/s and ETA; each step line
    is followed by its machine-readable twin (`trainer.contract.progress`), which also counts the run's `gpus`.

    One instance serves a whole run, also when it is resumed mid-epoch; the ETA is measured on the steps this
    process ran.
    """

    def __init__(
        self,
        *,
        epochs: int,
        steps_per_epoch: int,
        global_batch_size: int,
        every_steps: int,
        gpus: int = 0,
        total_steps: int | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__(steps_per_epoch=steps_per_epoch, every_steps=every_steps, allow_zero=False)
        self.epochs = epochs
        self.total_steps = total_steps or epochs * steps_per_epoch
        self.global_batch_size = global_batch_size
        self.gpus = gpus
        self._clock = clock
        self._train_start: float | None = None
        self._steps_run = 0
        self._epoch_start = 0.0

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        if self._train_start is None:
            self._train_start = self._clock()

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        super().on_epoch_begin(epoch, logs)
        self._epoch_start = self._clock()

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        previous, step = self._advance(batch)
        self._steps_run += step - previous
        if not crossed(previous, step, self.every_steps) and step != self.steps_per_epoch:
            return
        now = self._clock()
        elapsed = now - self._epoch_start
        rate = (batch + 1) * self.global_batch_size / elapsed if elapsed > 0 else 0.0
        remaining = self.total_steps - (self._epoch * self.steps_per_epoch + step)
        eta = remaining * (now - (self._train_start or now)) / self._steps_run
        log.info(
            "epoch %d/%d step %d/%d %s examples/s=%.1f eta=%s",
            self._epoch + 1,
            self.epochs,
            step,
            self.steps_per_epoch,
            format_metrics(logs),
            rate,
            format_duration(eta),
        )
        log.info("%s", to_line(self._progress(step, logs or {}, rate, eta)))

    def _progress(self, step: int, logs: Mapping[str, float], rate: float, eta: float) -> Progress:
        return Progress(
            epoch=self._epoch + 1,
            epochs=self.epochs,
            step=step,
            steps=self.steps_per_epoch,
            loss=round(float(logs["loss"]), 6) if "loss" in logs else None,
            metrics={k: round(float(v), 6) for k, v in sorted(logs.items()) if k != "loss"},
            examples_per_second=round(rate, 1),
            eta_seconds=round(eta),
            gpus=self.gpus,
        )

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        elapsed = self._clock() - self._epoch_start
        log.info(
            "epoch %d/%d done in %s %s",
            epoch + 1,
            self.epochs,
            format_duration(elapsed),
            format_metrics(logs),
        )


class Preempted(Exception):  # noqa: N818 - an event, not a failure: training stopped where asked
    """Raised out of `fit` once a preemption checkpoint is saved, so no validation pass delays the exit."""

    def __init__(self, position: Position) -> None:
        super().__init__(f"stopped at epoch {position.epoch + 1} step {position.step}")
        self.position = position


class Checkpointing(_EpochSteps):
    """Checkpoints every `every_steps` steps and (`at_epoch_end`) at every epoch end, also an epoch --max-steps
    cut short; stops at the next step after `stop` is set.

    `stop` is the preemption signal (SIGTERM): the state is saved and uploaded, then `Preempted` ends `fit`.
    """

    def __init__(
        self,
        save: Callable[[Position, bool], None],
        *,
        steps_per_epoch: int,
        every_steps: int,
        stop: threading.Event,
        at_epoch_end: bool = True,
    ) -> None:
        super().__init__(steps_per_epoch=steps_per_epoch, every_steps=every_steps, allow_zero=True)
        self._save_now = save
        self._stop = stop
        self._at_epoch_end = at_epoch_end
        self._saved: Position | None = None

    def _save(self, position: Position, wait: bool) -> None:
        if position != self._saved:  # a step checkpoint may fall on the end of a cut-short epoch
            self._saved = position
            self._save_now(position, wait)

    def _position(self, epoch: int, step: int) -> Position:
        if step >= self.steps_per_epoch:
            epoch, step = epoch + 1, 0
        return Position(epoch=epoch, step=step, global_step=epoch * self.steps_per_epoch + step)

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        previous, step = self._advance(batch)
        if self._stop.is_set():
            position = self._position(self._epoch, step)
            self._save(position, True)
            raise Preempted(position)
        if crossed(previous, step, self.every_steps) and step < self.steps_per_epoch:
            self._save(self._position(self._epoch, step), False)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if self._at_epoch_end:
            self._save(self._position(epoch, self._last_step), False)


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


def validation_logs(measured: Mapping[str, Any]) -> dict[str, float]:
    """An evaluation's loss and accuracy (single-label) as `val_loss` and `val_accuracy`: the Keras logs' names."""
    return {f"val_{key}": float(measured[key]) for key in ("loss", "accuracy") if key in measured}


class EpochEvaluation(keras.callbacks.Callback):
    """After each epoch but `last_epoch`, adds `val_loss` (and `val_accuracy`) from `evaluate()` to the epoch's
    logs."""

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
        added = validation_logs(self._evaluate())
        logs.update(added)
        if self._announce:  # the progress bar printed its epoch line before these existed
            log.info("epoch %d %s", epoch + 1, format_metrics(added))


class FirstStep(keras.callbacks.Callback):
    """Calls `notify` once, when the first training step begins (the end of start-up)."""

    def __init__(self, notify: Callable[[], None]) -> None:
        super().__init__()
        self._notify: Callable[[], None] | None = notify

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        if self._notify is not None:
            notify, self._notify = self._notify, None
            notify()
