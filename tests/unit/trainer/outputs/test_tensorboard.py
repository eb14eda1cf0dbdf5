"""What a resumed run keeps of the event files an earlier attempt left in the output."""

from pathlib import Path

import tensorflow as tf

from support.tensorboard_events import read_run, steps
from trainer.outputs.tensorboard import drop_events_after


def write_events(run_dir: Path) -> Path:
    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        for epoch in (1, 2, 3):
            tf.summary.scalar("epoch_loss", 1.0 / epoch, step=epoch)
            tf.summary.scalar("eval/accuracy", 0.5, step=epoch)
        for step in range(10, 100, 10):
            tf.summary.scalar("batch_loss", 1.0 / step, step=step)
    writer.close()
    (path,) = run_dir.glob("events.out.tfevents.*")
    return path


def test_events_past_the_checkpoint_are_dropped_by_the_step_their_tag_counts(tmp_path: Path) -> None:
    write_events(tmp_path / "train")
    assert drop_events_after(tmp_path, 2, 45) == 1 + 1 + 5
    run = read_run(tmp_path / "train")
    assert steps(run, "epoch_loss") == [1, 2] and steps(run, "eval/accuracy") == [1, 2]
    assert steps(run, "batch_loss") == [10, 20, 30, 40]


def test_a_file_cut_off_by_a_crash_keeps_its_whole_records(tmp_path: Path) -> None:
    path = write_events(tmp_path / "train")
    path.write_bytes(path.read_bytes()[:-7])  # the last record's tail never reached the disk
    assert drop_events_after(tmp_path, 3, 1000) == 1
    assert steps(read_run(tmp_path / "train"), "batch_loss") == list(range(10, 90, 10))
    assert drop_events_after(tmp_path, 3, 1000) == 0  # now a clean file
