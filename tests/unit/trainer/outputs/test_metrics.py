"""Classification metrics, the shared evaluation and the metrics.json documents: pure NumPy."""

import numpy as np
import pytest

from support.plans import run_plan
from trainer.outputs.metrics import (
    classification_report,
    cross_entropy,
    evaluation,
    evaluation_document,
    training_document,
)


def test_report_matches_hand_computed_values() -> None:
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    report = classification_report(y_true, y_pred, ["a", "b", "c"])
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["confusion_matrix"]["matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    per_class = report["per_class"]
    assert per_class["a"] == {
        "precision": 1.0,
        "recall": pytest.approx(2 / 3),
        "f1": pytest.approx(0.8),
        "support": 3,
    }
    assert per_class["b"]["precision"] == pytest.approx(0.5) and per_class["b"]["recall"] == pytest.approx(
        0.5
    )
    assert per_class["c"]["precision"] == pytest.approx(0.5) and per_class["c"]["recall"] == 1.0
    assert report["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_never_predicted_class_scores_zero_not_nan() -> None:
    report = classification_report(np.array([0, 1]), np.array([0, 0]), ["a", "b"])
    assert report["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_the_evaluation_is_the_loss_from_logits_then_the_report_of_their_argmax() -> None:
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]], dtype=np.float32)
    labels = np.array([0, 1, 1])
    result = evaluation(logits, labels, ("neg", "pos"))
    expected_loss = np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(-1.0)), np.log1p(np.exp(3.0))])
    assert result["loss"] == pytest.approx(expected_loss)
    assert list(result) == [
        "problem_type",
        "loss",
        "accuracy",
        "f1_macro",
        "macro_f1",
        "per_class",
        "confusion_matrix",
    ]
    assert result["problem_type"] == "single_label_classification"
    assert result["f1_macro"] == result["macro_f1"]
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert result["confusion_matrix"] == {"labels": ["neg", "pos"], "matrix": [[1, 0], [1, 1]]}
    assert cross_entropy(np.zeros((0, 2)), np.zeros(0, np.int64)) == 0.0


def test_the_training_metrics_document() -> None:
    history = [
        {"epoch": 1, "loss": 0.9, "train_seconds": 2.0, "train_examples_per_second": 50.0},
        {"epoch": 2, "loss": 0.5, "train_seconds": 3.0, "train_examples_per_second": 100.0},
    ]
    plan = run_plan()
    timeline = {"data_ready": 3.5, "first_step": 9.25, "published": 40.0}
    document = training_document(
        history,
        {"loss": 0.4},
        plan,
        optimizer_steps=20,
        timeline=timeline,
        rows={"train": 320, "eval": 40},
        checkpoint_stall_seconds=0.25,
    )
    assert document == {
        "schema_version": 1,
        "eval": {"loss": 0.4},
        "history": history,
        "throughput": {
            "train_seconds": 5.0,
            "train_examples_per_second": (2.0 * 50 + 3.0 * 100) / 5.0,
            "global_batch_size": 32,
            "steps_per_epoch": 10,
            "optimizer_steps": 20,
            "replicas": 2,
            "startup_seconds": 9.25,
            "checkpoint_stall_seconds": 0.25,
        },
        "timeline_seconds": timeline,
        "rows": {"train": 320, "eval": 40},
    }
    assert list(document) == ["schema_version", "eval", "history", "throughput", "timeline_seconds", "rows"]
    empty = training_document([], {}, plan, optimizer_steps=0, timeline={}, rows={})
    assert empty["throughput"]["train_examples_per_second"] is None
    assert empty["throughput"]["startup_seconds"] is None
    assert empty["throughput"]["checkpoint_stall_seconds"] is None


def test_the_evaluate_metrics_document_puts_the_evaluation_first_after_its_schema_version() -> None:
    document = evaluation_document(
        {"loss": 0.3, "accuracy": 0.9}, rows=10, model="s3://b/run/model", data=[], seconds=1.5, replicas=2
    )
    assert list(document) == [
        "schema_version",
        "loss",
        "accuracy",
        "rows",
        "model",
        "data",
        "seconds",
        "replicas",
        "finished_at",
    ]
    assert document["model"] == "s3://b/run/model" and document["finished_at"].endswith("+00:00")
