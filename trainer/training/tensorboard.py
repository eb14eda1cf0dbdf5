"""Keras' TensorBoard callback, fitted to a run that calls `fit` once per epoch and resumes across processes.

What it adds to `keras.callbacks.TensorBoard`: epoch curves at the epoch numbers 1..N (as metrics.json and the
event files of earlier attempts), step curves (`batch_loss`, `batch_accuracy`) at the optimizer step every
`every_steps` steps, which keeps counting across `fit` calls and resumes (Keras' own batch counter restarts with
each `fit`), and `--profile-steps` counted over the whole process and profiled once. `sync` uploads the events to
the output (`outputs.tensorboard.EventSync`); the run calls it before saving each checkpoint, so a checkpoint never
lands ahead of the events up to its step.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf
import tf_keras as keras

from trainer.outputs.tensorboard import EventSync
from trainer.training.callbacks import crossed


class RunTensorBoard(keras.callbacks.TensorBoard):
    def __init__(
        self,
        events: EventSync,
        *,
        history: Sequence[Mapping[str, float]],
        every_steps: int,
        profile_steps: Sequence[int] | None = None,
    ) -> None:
        steps = list(profile_steps or [])
        super().__init__(
            log_dir=str(events.local_dir),
            write_graph=False,
            update_freq="epoch",
            profile_batch=(steps[0], steps[-1]) if steps else 0,
        )
        self._events = events
        self._history = history
        self._every_steps = every_steps
        self._batches_run = 0
        self._step = 0

    def _implements_train_batch_hooks(self) -> bool:
        return True

    def set_model(self, model: keras.Model) -> None:
        """Keep the writers across the per-epoch `fit` calls: one event file per run folder and process. Keras opens
        new ones every `fit`, whose names (creation second, then an unpadded counter) can sort out of order."""
        writers = self._writers
        super().set_model(model)
        self._writers = writers

    def _close_writers(self) -> None:
        """Keras closes the writers after every `fit`; they stay open until `finish`, flushed."""
        for writer in self._writers.values():
            writer.flush()

    def _delete_tmp_write_dir(self) -> None:
        """A non-chief worker's scratch folder outlives the `fit` calls too; `finish` removes it."""

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        self._global_train_batch = self._batches_run  # profile steps count over the whole process
        self._step = int(self.model.optimizer.iterations.numpy())

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        self._batches_run = self._global_train_batch
        super().on_train_end(logs)

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        super().on_train_batch_end(batch, logs)
        previous, self._step = self._step, int(self.model.optimizer.iterations.numpy())
        if crossed(previous, self._step, self._every_steps) and logs:
            with self._train_writer.as_default(), tf.summary.record_if(True):
                for name, value in logs.items():
                    tf.summary.scalar(f"batch_{name}", value, step=self._step)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch + 1, logs)  # epochs 1..N, as metrics.json counts them
        row = self._history[-1] if self._history else {}
        if row.get("epoch") == epoch + 1 and "train_examples_per_second" in row:
            with self._train_writer.as_default(), tf.summary.record_if(True):
                tf.summary.scalar(
                    "epoch_examples_per_second", row["train_examples_per_second"], step=epoch + 1
                )

    def finish(self) -> None:
        """After the last `fit`, or one a preemption cut short (Keras then skips `on_train_end`): stop a running
        trace, close the writers and upload everything, waiting for it."""
        if self._is_tracing:
            self._stop_trace()
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
        if self.model is not None:
            super()._delete_tmp_write_dir()
        self._events.sync()
        self._events.wait()

    def sync(self) -> None:
        """Flush the events written so far and upload them, waiting for it."""
        for writer in self._writers.values():
            writer.flush()
        self._events.sync()
        self._events.wait()
