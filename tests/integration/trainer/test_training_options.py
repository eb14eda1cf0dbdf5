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


def test_early_stopping_publishes_the_best_evaluations_weights(staged_moto: Staged, tmp_path: Path) -> None:
    """The toy task's loss falls, so with "higher loss is better" the first evaluation stays the best: training
    stops after two more without improvement, and the first evaluation's weights are published."""
    s3 = staged_moto
    output = s3.output("best-model")
    argv = [
        *s3.train_args(output),
        *(
            "--per-replica-batch-size",
            "16",
            "--epochs",
            "3",
            "--learning-rate",
            "2e-3",
            "--warmup-ratio",
            "0",
        ),
        *("--eval-strategy", "steps", "--eval-steps", "10", "--load-best-model-at-end"),
        *("--metric-for-best-model", "eval_loss", "--greater-is-better", "--early-stopping-patience", "2"),
    ]
    result = run_trainer(argv, s3.endpoint, tmp_path / "work")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "early stopping: loss has not improved for 2 evaluations" in result.stderr
    assert "loaded the best weights (loss=" in result.stderr

    metrics = read_json(s3.endpoint, output, "metrics.json")
    assert metrics["throughput"]["optimizer_steps"] == 30  # evaluations at 10 (the best), 20, 30
    first = metrics["evaluations"][0]
    assert first["global_step"] == 10 and first["loss"] > metrics["evaluations"][1]["loss"]
    assert metrics["best_model"] == {
        "metric": "loss",
        "greater_is_better": True,
        "value": first["loss"],
        "global_step": 10,
        "epoch": 1,
        "loaded_at_end": True,
        "stopped_early": True,
    }
    assert metrics["eval"]["loss"] == first["loss"]  # the published model's evaluation: the best one's
    assert not any(key.startswith("checkpoints/") for key in listing(s3.endpoint, output))


def test_a_metric_the_evaluation_does_not_report_fails_before_training(
    staged_moto: Staged, tmp_path: Path
) -> None:
    s3 = staged_moto
    argv = [*s3.train_args(s3.output("mse")), "--load-best-model-at-end", "--metric-for-best-model", "mse"]
    result = run_trainer(argv, s3.endpoint, tmp_path / "work")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "trainer: error: --metric-for-best-model mse: this run's evaluation reports accuracy, f1_macro, loss, macro_f1"
        "; choose one of those"
    )
    assert "first training step" not in result.stderr
