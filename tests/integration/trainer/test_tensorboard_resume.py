"""TensorBoard across a preemption, for real: `trainer train` stopped by SIGTERM in its second epoch, its events
already in the output while it trained, then resumed; the published curves cover every epoch, steps only increasing,
read with TensorBoard's own event reader. (Events written past the checkpoint a SIGKILL leaves behind:
tests/unit/trainer/outputs/test_tensorboard.py.)"""

import signal
from pathlib import Path

import pytest
from test_preemption import args, interrupt, keys, start, wait_for_step
from trainer_e2e_helpers import Staged, run_trainer

from support.tensorboard_events import read_run, steps

pytestmark = pytest.mark.slow

EPOCHS = 4
STEPS_PER_EPOCH = 480 // 16
LOG_EVERY = 10


def download(s3: Staged, output: str, dest: Path) -> Path:
    prefix = output.removeprefix(f"s3://{s3.bucket}/")
    client = s3.endpoint.client()
    for key in keys(s3, output):
        if key.startswith("tensorboard/"):
            path = dest / key
            path.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(s3.bucket, f"{prefix}/{key}", str(path))
    return dest / "tensorboard"


def test_the_curves_of_a_resumed_run_cover_every_epoch(staged_moto: Staged, tmp_path: Path) -> None:
    s3 = staged_moto
    output = s3.output("tensorboard")
    argv = args(s3, output, "--checkpoint-every-steps", "7", "--epochs", str(EPOCHS))
    process = start(s3, argv, tmp_path / "w1")
    wait_for_step(s3, output, process, STEPS_PER_EPOCH + 7)  # into epoch 2
    live = read_run(download(s3, output, tmp_path / "live") / "train")
    interrupt(process, signal.SIGTERM)
    process.communicate(timeout=60)
    assert "_SUCCESS" not in keys(s3, output)
    assert steps(live, "epoch_loss")[:1] == [1]  # in the output while it trained

    resumed = run_trainer(argv, s3.endpoint, tmp_path / "w2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from checkpoint" in resumed.stderr

    published = download(s3, output, tmp_path / "published")
    train, validation = read_run(published / "train"), read_run(published / "validation")
    epochs = list(range(1, EPOCHS + 1))
    assert steps(train, "epoch_loss") == steps(train, "epoch_accuracy") == epochs
    assert steps(validation, "epoch_loss") == epochs
    assert steps(validation, "eval/accuracy") == [EPOCHS]
    batch = steps(train, "batch_loss")
    assert batch == list(range(LOG_EVERY, EPOCHS * STEPS_PER_EPOCH + 1, LOG_EVERY)), batch
