"""Keras' TensorBoard callback as a run uses it: one `fit` per epoch, events synced to the output while training,
a second process resuming where the first stopped. Read back with TensorBoard's own event reader."""

import time
from pathlib import Path

import numpy as np
import pytest
import tf_keras as keras

from support.tensorboard_events import read_run, steps
from trainer.outputs.tensorboard import EventSync
from trainer.storage import Location, Storage
from trainer.training.tensorboard import RunTensorBoard

STEPS_PER_EPOCH = 8


def toy_model() -> keras.Model:
    model = keras.Sequential(
        [keras.layers.Dense(8, activation="relu", input_shape=(4,)), keras.layers.Dense(2)]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def train(
    model: keras.Model,
    events: EventSync,
    epochs: range,
    live: list[list[int]] | None = None,
    **options: object,
) -> RunTensorBoard:
    """`fit` once per epoch, as `training.loop` does: validation metrics added to the epoch's logs, a sync where
    the run checkpoints (every epoch end). `live` collects the epochs the output shows at each later epoch."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS_PER_EPOCH * 4, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    history: list[dict[str, float]] = []

    class Validation(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            if live is not None and epoch > epochs.start:
                live.append(steps(read_run(events.remote.path / "train"), "epoch_loss"))

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            assert logs is not None
            logs.update(val_loss=0.5 / (epoch + 1), val_accuracy=0.5 + epoch / 10)
            history.append({"epoch": epoch + 1, "train_examples_per_second": 100.0 + epoch})

    callback = RunTensorBoard(events, history=history, every_steps=4, **options)  # type: ignore[arg-type]

    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            callback.sync()

    for epoch in epochs:
        model.fit(
            x,
            y,
            batch_size=4,
            initial_epoch=epoch,
            epochs=epoch + 1,
            verbose=0,
            callbacks=[Validation(), callback, Checkpoint()],
        )
    callback.finish()
    return callback


def test_epoch_and_step_curves_are_synced_live_and_continue_after_a_resume(tmp_path: Path) -> None:
    output = Location.local(tmp_path / "output")
    storage = Storage()
    model = toy_model()

    first = EventSync(storage, output, tmp_path / "process-1", publish=True)
    first.start(None)
    live: list[list[int]] = []
    train(model, first, range(0, 3), live)
    first.close()
    assert live == [[1], [1, 2]]  # in the output while the run trains
    for run in ("train", "validation"):  # one file per run folder, however many `fit` calls
        assert len(list((tmp_path / "process-1" / run).glob("events.out.tfevents.*"))) == 1

    # Event file names begin with their creation second; a resumed run starts in a new pod, seconds later.
    time.sleep(1.0 - time.time() % 1.0)
    # A second process resumes from the checkpoint at the end of epoch 2 (as after a SIGKILL that came before
    # the next one landed): the output already holds epoch 3's events, which the new ones replace.
    model.optimizer.iterations.assign(2 * STEPS_PER_EPOCH)
    second = EventSync(storage, output, tmp_path / "process-2", publish=True)
    second.start((2, 2 * STEPS_PER_EPOCH))
    train(model, second, range(2, 4))
    second.close()

    for folder in (tmp_path / "process-2", tmp_path / "output" / "tensorboard"):
        train_run, validation = read_run(folder / "train"), read_run(folder / "validation")
        assert steps(train_run, "epoch_loss") == [1, 2, 3, 4]
        assert steps(train_run, "epoch_accuracy") == [1, 2, 3, 4]
        assert [v for _, v in train_run["epoch_examples_per_second"]] == [100.0, 101.0, 102.0, 103.0]
        assert steps(validation, "epoch_loss") == [1, 2, 3, 4]
        assert [v for _, v in validation["epoch_accuracy"]] == pytest.approx([0.5, 0.6, 0.7, 0.8])
        # Step curves at the optimizer step, every 4 steps, across `fit` calls and processes.
        assert steps(train_run, "batch_loss") == list(range(4, 4 * STEPS_PER_EPOCH + 1, 4))


def test_a_fresh_start_removes_the_events_of_an_earlier_attempt(tmp_path: Path) -> None:
    output = Location.local(tmp_path / "output")
    stale = tmp_path / "output" / "tensorboard" / "train" / "events.out.tfevents.1.old"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"")
    EventSync(Storage(), output, tmp_path / "scratch", publish=True).start(None)
    assert not stale.exists()


def test_a_worker_that_does_not_publish_leaves_the_output_alone(tmp_path: Path) -> None:
    output = Location.local(tmp_path / "output")
    events = EventSync(Storage(), output, tmp_path / "scratch", publish=False)
    events.start(None)
    train(toy_model(), events, range(0, 1))
    events.close()
    assert not (tmp_path / "output").exists()


def test_profile_steps_trace_once_across_fit_calls(tmp_path: Path) -> None:
    events = EventSync(Storage(), Location.local(tmp_path / "output"), tmp_path / "scratch", publish=True)
    events.start(None)
    train(toy_model(), events, range(0, 3), profile_steps=[3, 5])
    events.close()
    traces = sorted((tmp_path / "output" / "tensorboard" / "plugins" / "profile").rglob("*.xplane.pb"))
    assert len(traces) == 1 and traces[0].stat().st_size > 0
