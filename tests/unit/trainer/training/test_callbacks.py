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


def test_an_epoch_cut_short_by_max_steps_is_checkpointed_where_it_ended_once() -> None:
    import threading

    from trainer.training.callbacks import Checkpointing
    from trainer.training.checkpoints import Position

    saved: list[Position] = []
    callback = Checkpointing(
        lambda p, wait: saved.append(p), steps_per_epoch=10, every_steps=3, stop=threading.Event()
    )
    callback.on_epoch_begin(1)
    for batch in range(6):  # --max-steps 16: 6 steps of the second epoch
        callback.on_train_batch_end(batch)
    callback.on_epoch_end(1)
    assert saved == [Position(1, 3, 13), Position(1, 6, 16)]  # not a second save of step 6


def test_save_strategy_no_saves_only_on_preemption() -> None:
    import threading

    from trainer.training.callbacks import Checkpointing, Preempted
    from trainer.training.checkpoints import Position

    saved: list[Position] = []
    stop = threading.Event()
    callback = Checkpointing(
        lambda p, wait: saved.append(p), steps_per_epoch=4, every_steps=0, stop=stop, at_epoch_end=False
    )
    callback.on_epoch_begin(0)
    for batch in range(4):
        callback.on_train_batch_end(batch)
    callback.on_epoch_end(0)
    assert saved == []
    stop.set()
    callback.on_epoch_begin(1)
    with pytest.raises(Preempted):
        callback.on_train_batch_end(0)
    assert saved == [Position(1, 1, 5)]


def test_step_evaluation_every_n_optimizer_steps_of_the_run_but_not_at_the_last(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from trainer.training.evaluations import StepEvaluation

    measured = iter([{"loss": 0.9, "accuracy": 0.5, "per_class": {}}, {"loss": 0.7, "accuracy": 0.6}] * 3)
    records: list[dict[str, float]] = []
    callback = StepEvaluation(
        lambda: next(measured), records, steps_per_epoch=5, every_steps=4, total_steps=12
    )
    caplog.set_level(logging.INFO, logger="trainer.progress")
    for epoch, steps in [(0, 5), (1, 5), (2, 2)]:
        callback.on_epoch_begin(epoch)
        for batch in range(steps):
            callback.on_train_batch_end(batch)
    assert records == [  # steps 4 and 8 of the run; 12 is the last: the final evaluation measures it
        {"global_step": 4, "epoch": 1, "loss": 0.9, "accuracy": 0.5},
        {"global_step": 8, "epoch": 2, "loss": 0.7, "accuracy": 0.6},
    ]
    assert caplog.records[1].getMessage() == (
        "evaluation at optimizer step 8 (epoch 2 step 3): accuracy=0.6000 loss=0.7000"
    )
