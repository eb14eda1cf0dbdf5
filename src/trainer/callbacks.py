"""Keras callbacks: throughput timing and log-friendly progress lines.

In a pod there is no TTY and Keras' progress bar turns into a wall of carriage returns in `kubectl logs`, so there
the trainer logs one line every N steps and one per epoch instead, as `key=value` pairs a person can read and a
log pipeline can parse.
"""

import logging
import time
from collections.abc import Callable, Mapping

import tf_keras as keras

log = logging.getLogger("trainer.progress")


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def format_metrics(logs: Mapping[str, float] | None) -> str:
    return " ".join(f"{key}={value:.4f}" for key, value in sorted((logs or {}).items()))


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of every training epoch (without validation) for metrics.json."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__()
        self._clock = clock
        self._start = 0.0
        self._last = 0.0
        self.train_seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._start = self._last = self._clock()

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self._last = self._clock()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self.train_seconds.append(self._last - self._start)


class ProgressLines(keras.callbacks.Callback):
    """One log line every `every_steps` steps and one per epoch: loss, accuracy, examples/s and ETA."""

    def __init__(
        self,
        *,
        epochs: int,
        steps_per_epoch: int,
        global_batch_size: int,
        every_steps: int,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__()
        if every_steps <= 0:
            raise ValueError(f"every_steps must be positive. Received: every_steps={every_steps}")
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.global_batch_size = global_batch_size
        self.every_steps = every_steps
        self._clock = clock
        self._train_start = 0.0
        self._epoch_start = 0.0
        self._epoch = 0

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self._train_start = self._clock()

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._epoch = epoch
        self._epoch_start = self._clock()

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        step = batch + 1
        if step % self.every_steps and step != self.steps_per_epoch:
            return
        elapsed = self._clock() - self._epoch_start
        rate = step * self.global_batch_size / elapsed if elapsed > 0 else 0.0
        done = self._epoch * self.steps_per_epoch + step
        remaining = self.epochs * self.steps_per_epoch - done
        seconds_per_step = (self._clock() - self._train_start) / done
        log.info(
            "epoch %d/%d step %d/%d %s examples/s=%.1f eta=%s",
            self._epoch + 1,
            self.epochs,
            step,
            self.steps_per_epoch,
            format_metrics(logs),
            rate,
            format_duration(remaining * seconds_per_step),
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
