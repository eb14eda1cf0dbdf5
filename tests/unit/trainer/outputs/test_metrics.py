import numpy as np
import pytest

from trainer.outputs.metrics import classification_report


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
