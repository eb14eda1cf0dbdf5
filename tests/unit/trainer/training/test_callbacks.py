import json
import logging

import pytest

from trainer.contract import progress as progress_contract
from trainer.training.callbacks import ProgressLines, format_duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_every_n_steps_and_per_epoch(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    progress = ProgressLines(
        epochs=2, steps_per_epoch=4, global_batch_size=32, every_steps=2, gpus=8, clock=clock
    )
    caplog.set_level(logging.INFO, logger="trainer.progress")
    progress.on_train_begin()
    progress.on_epoch_begin(0)
    for step in range(4):
        clock.now += 0.5
        progress.on_train_batch_end(step, {"loss": 0.5, "accuracy": 0.75})
    progress.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.4, "val_accuracy": 0.8})
    lines = [r.getMessage() for r in caplog.records]
    human = [line for line in lines if not line.startswith(progress_contract.TAG)]
    assert human == [
        "epoch 1/2 step 2/4 accuracy=0.7500 loss=0.5000 examples/s=64.0 eta=0:00:03",
        "epoch 1/2 step 4/4 accuracy=0.7500 loss=0.5000 examples/s=64.0 eta=0:00:02",
        "epoch 1/2 done in 0:00:02 accuracy=0.7500 loss=0.5000 val_accuracy=0.8000 val_loss=0.4000",
    ]
    # Each step line is followed by its JSON twin, with the same numbers under stable keys.
    assert [line.startswith(progress_contract.TAG) for line in lines] == [False, True, False, True, False]
    assert json.loads(lines[3].split(" ", 1)[1]) == {
        "v": 1,
        "epoch": 1,
        "epochs": 2,
        "step": 4,
        "steps": 4,
        "loss": 0.5,
        "metrics": {"accuracy": 0.75},
        "examples_per_second": 64.0,
        "eta_seconds": 2,
        "gpus": 8,
    }
    assert progress_contract.parse_line(lines[1]) == progress_contract.Progress(
        epoch=1,
        epochs=2,
        step=2,
        steps=4,
        loss=0.5,
        metrics={"accuracy": 0.75},
        examples_per_second=64.0,
        eta_seconds=3,
        gpus=8,
    )


def test_progress_rejects_a_non_positive_interval() -> None:
    with pytest.raises(ValueError, match="every_steps must be positive"):
        ProgressLines(epochs=1, steps_per_epoch=1, global_batch_size=1, every_steps=0)


def test_format_duration() -> None:
    assert format_duration(3725.4) == "1:02:05"
    assert format_duration(-3) == "0:00:00"


def test_checkpointing_every_n_steps_at_epoch_ends_and_on_preemption() -> None:
    import threading

    from trainer.training.callbacks import Checkpointing, Preempted
    from trainer.training.checkpoints import Position

    saved: list[tuple[Position, bool]] = []
    stop = threading.Event()
    callback = Checkpointing(
        lambda p, wait: saved.append((p, wait)), steps_per_epoch=5, every_steps=2, stop=stop
    )
    callback.on_epoch_begin(0)
    for batch in range(5):
        callback.on_train_batch_end(batch)
    callback.on_epoch_end(0)
    assert saved == [
        (Position(epoch=0, step=2, global_step=2), False),
        (Position(epoch=0, step=4, global_step=4), False),
        (Position(epoch=1, step=0, global_step=5), False),  # an epoch end is the start of the next epoch
    ]
    saved.clear()
    callback.step_offset = 2  # a resumed epoch: 2 of its steps were done before this fit call
    callback.on_epoch_begin(1)
    callback.on_train_batch_end(0)  # step 3 of epoch 2
    stop.set()
    with pytest.raises(Preempted) as stopped:
        callback.on_train_batch_end(1)  # step 4: SIGTERM arrived; save and wait for the upload, then stop
    assert saved == [(Position(epoch=1, step=4, global_step=9), True)]
    assert stopped.value.position == Position(epoch=1, step=4, global_step=9)


def test_with_steps_per_execution_checkpoints_and_progress_fire_when_a_multiple_is_crossed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With steps_per_execution 4, Keras reports steps 4, 8, 12: every 5 steps means after steps 8 and 12."""
    import threading

    from trainer.training.callbacks import Checkpointing, crossed
    from trainer.training.checkpoints import Position

    assert crossed(4, 8, 5) and not crossed(0, 4, 5) and crossed(0, 5, 5) and not crossed(3, 7, 0)
    saved: list[Position] = []
    checkpointing = Checkpointing(
        lambda p, wait: saved.append(p), steps_per_epoch=14, every_steps=5, stop=threading.Event()
    )
    clock = FakeClock()
    progress = ProgressLines(epochs=1, steps_per_epoch=14, global_batch_size=8, every_steps=5, clock=clock)
    caplog.set_level(logging.INFO, logger="trainer.progress")
    for callback in (checkpointing, progress):
        callback.on_train_begin()
        callback.on_epoch_begin(0)
    for last_step in (3, 7, 11, 13):  # the last step index of each execution, as Keras passes it
        clock.now += 4.0
        for callback in (checkpointing, progress):
            callback.on_train_batch_end(last_step, {"loss": 0.5})
    assert [p.step for p in saved] == [8, 12]
    messages = [r.getMessage() for r in caplog.records]
    assert [p.step for p in map(progress_contract.parse_line, messages) if p] == [8, 12, 14]
    lines = [line for line in messages if progress_contract.parse_line(line) is None]
    assert [line.split(" loss")[0] for line in lines] == [
        "epoch 1/1 step 8/14",
        "epoch 1/1 step 12/14",
        "epoch 1/1 step 14/14",
    ]
    assert lines[0].endswith(
        "examples/s=8.0 eta=0:00:06"
    )  # 8 steps x 8 rows in 8 s; 6 steps left at 1 s each
