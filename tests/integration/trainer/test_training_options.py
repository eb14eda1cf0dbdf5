"""Hugging Face Trainer's step options end to end: --max-steps ends the run inside an epoch, --eval-strategy steps
evaluates every --eval-steps optimizer steps of the run, and both are what metrics.json and run.json report."""

from pathlib import Path

import pytest
from trainer_e2e_helpers import Staged, listing, read_json, run_trainer

pytestmark = pytest.mark.slow


def test_max_steps_and_step_evaluations(staged_moto: Staged, tmp_path: Path) -> None:
    s3 = staged_moto
    output = s3.output("max-steps")
    argv = [
        *s3.train_args(output),
        *("--per-replica-batch-size", "16", "--epochs", "5", "--max-steps", "40"),  # 30 steps per epoch
        *(
            "--eval-strategy",
            "steps",
            "--eval-steps",
            "15",
            "--save-strategy",
            "no",
            "--max-grad-norm",
            "1.0",
        ),
    ]
    result = run_trainer(argv, s3.endpoint, tmp_path / "work")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "steps_per_epoch=30 epochs=2 optimizer_steps=40" in result.stderr
    assert "evaluation at optimizer step 30 (epoch 1 step 30): accuracy=" in result.stderr
    assert "checkpoint" not in result.stderr  # --save-strategy no: none saved, none removed

    metrics = read_json(s3.endpoint, output, "metrics.json")
    assert metrics["throughput"]["optimizer_steps"] == 40
    assert [row["epoch"] for row in metrics["history"]] == [1, 2]  # the second one cut short at step 10
    assert [(e["global_step"], e["epoch"]) for e in metrics["evaluations"]] == [(15, 1), (30, 1)]
    assert set(metrics["evaluations"][0]) >= {"loss", "accuracy", "macro_f1"}
    assert "val_loss" in metrics["history"][-1] and "val_loss" not in metrics["history"][0]
    assert read_json(s3.endpoint, output, "run.json")["distribution"]["total_steps"] == 40
    assert "_SUCCESS" in listing(s3.endpoint, output)
