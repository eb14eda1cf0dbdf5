"""A regression's and a multi-label classifier's evaluation metrics, against values worked out by hand."""

import numpy as np
import pytest

from trainer.outputs.metrics import evaluation
from trainer.outputs.scores import average_ranks, multi_label_report, regression_report, sigmoid
from trainer.settings.problem import EVAL_METRICS


def test_regression_reports_errors_and_both_correlations() -> None:
    predicted = np.array([1.0, 2.0, 3.0, 5.0])
    scores = np.array([1.5, 2.0, 2.5, 6.0])
    report = regression_report(predicted, scores)
    assert report["mse"] == pytest.approx((0.25 + 0 + 0.25 + 1) / 4)
    assert report["loss"] == report["mse"]
    assert report["rmse"] == pytest.approx(np.sqrt(report["mse"]))
    assert report["mae"] == pytest.approx((0.5 + 0 + 0.5 + 1) / 4)
    assert report["pearson"] == pytest.approx(np.corrcoef(predicted, scores)[0, 1])
    assert report["spearman"] == pytest.approx(1.0)  # the same order


def test_spearman_averages_tied_ranks_and_undefined_correlations_are_none() -> None:
    assert average_ranks(np.array([10.0, 20.0, 10.0, 30.0])).tolist() == [1.5, 3.0, 1.5, 4.0]
    reversed_order = regression_report(np.array([3.0, 2.0, 1.0]), np.array([1.0, 2.0, 3.0]))
    assert reversed_order["spearman"] == pytest.approx(-1.0)
    constant = regression_report(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0]))
    assert constant["pearson"] is None and constant["spearman"] is None


def test_the_evaluation_of_a_regression_reads_the_one_output() -> None:
    result = evaluation(np.array([[0.5], [1.5]]), np.array([1.0, 1.0]), ("score",), "regression")
    assert result["problem_type"] == "regression"
    assert result["mse"] == pytest.approx(0.25)
    assert set(result) >= {"loss", "mse", "rmse", "pearson", "spearman"}


def test_multi_label_counts_each_label_at_the_threshold() -> None:
    names = ("food", "sports", "weather")
    truth = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=np.uint8)
    probabilities = np.array([[0.9, 0.1, 0.4], [0.2, 0.8, 0.6], [0.7, 0.3, 0.1], [0.1, 0.1, 0.1]])
    logits = np.log(probabilities / (1 - probabilities))
    report = multi_label_report(logits, truth, names, threshold=0.5)
    # predicted: food {0, 2}, sports {1}, weather {1}; true: food {0, 2}, sports {1}, weather {0}
    assert report["per_label"]["food"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "support": 2,
        "predicted": 2,
    }
    assert report["per_label"]["weather"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 1,
        "predicted": 1,
    }
    assert report["precision_micro"] == pytest.approx(3 / 4) and report["recall_micro"] == pytest.approx(
        3 / 4
    )
    assert report["f1_micro"] == pytest.approx(3 / 4)
    assert report["f1_macro"] == pytest.approx(2 / 3)
    assert report["subset_accuracy"] == pytest.approx(2 / 4)  # rows 2 and 3 exactly right
    expected_loss = -np.mean(truth * np.log(probabilities) + (1 - truth) * np.log(1 - probabilities))
    assert report["loss"] == pytest.approx(expected_loss)
    lenient = multi_label_report(logits, truth, names, threshold=0.35)
    assert lenient["per_label"]["weather"]["predicted"] == 2 and lenient["threshold"] == 0.35


def test_sigmoid_is_stable_for_large_logits() -> None:
    assert sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    ("problem_type", "labels", "names"),
    [
        ("single_label_classification", np.array([0, 1]), ("a", "b")),
        ("multi_label_classification", np.array([[1, 0], [1, 1]]), ("a", "b")),
        ("regression", np.array([0.5, 1.5]), ("score",)),
    ],
)
def test_every_metric_named_for_a_problem_type_is_a_number_in_its_evaluation(
    problem_type, labels, names
) -> None:
    logits = np.array([[1.0, -1.0], [0.5, 2.0]])[:, : len(names)]
    result = evaluation(logits, labels, names, problem_type)
    assert result["problem_type"] == problem_type
    assert all(isinstance(result[name], float) for name in EVAL_METRICS[problem_type])
