"""Metrics of the problem types beyond single-label classification, and the output activations: a regression's
errors and correlations, a multi-label classifier's precision, recall and F1 at a threshold. Pure NumPy."""

from collections.abc import Sequence
from typing import Any

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * logits))  # no overflow warning for large negative logits


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank (what Spearman's correlation needs)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(values) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson's correlation; None when undefined (fewer than two rows, or a constant side)."""
    if len(x) < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    denominator = float(np.sqrt((dx * dx).sum() * (dy * dy).sum()))
    return float((dx * dy).sum() / denominator) if denominator > 0 else None


def regression_report(predicted: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """loss (the mean squared error training minimises), mse, rmse, mae, Pearson's and Spearman's correlation."""
    predicted = np.asarray(predicted, dtype=np.float64).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    error = predicted - scores
    mse = float(np.mean(error * error)) if len(error) else 0.0
    return {
        "loss": mse,
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(np.mean(np.abs(error))) if len(error) else 0.0,
        "pearson": pearson(predicted, scores),
        "spearman": pearson(average_ranks(predicted), average_ranks(scores)),
    }


def binary_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean binary cross-entropy of every label's sigmoid, from logits (what multi-label training reports)."""
    if logits.size == 0:
        return 0.0
    x, y = logits.astype(np.float64), targets.astype(np.float64)
    return float(np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator, denominator = np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def class_scores(
    names: Sequence[str], true_pos: np.ndarray, predicted: np.ndarray, support: np.ndarray
) -> tuple[dict[str, dict[str, Any]], np.ndarray]:
    """Per class (or label) name its precision, recall, F1 and support, and the F1s in id order. A class never
    predicted has precision 0, one never present recall 0 (scikit-learn's zero_division=0)."""
    precision, recall = _ratio(true_pos, predicted), _ratio(true_pos, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    scores = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(names)
    }
    return scores, f1


def multi_label_report(
    logits: np.ndarray, targets: np.ndarray, names: Sequence[str], threshold: float
) -> dict[str, Any]:
    """loss, micro and macro F1, micro precision and recall, subset accuracy (every label of the row right) and
    per label precision/recall/F1/support (`class_scores`), a label predicted when its sigmoid reaches
    `threshold`."""
    predicted = sigmoid(np.asarray(logits, dtype=np.float64)) >= threshold
    truth = np.asarray(targets) > 0.5
    true_pos = (predicted & truth).sum(axis=0)
    predicted_count, support = predicted.sum(axis=0), truth.sum(axis=0)
    per_label, f1 = class_scores(names, true_pos, predicted_count, support)
    micro_precision = float(_ratio(true_pos.sum(), predicted_count.sum()))
    micro_recall = float(_ratio(true_pos.sum(), support.sum()))
    return {
        "loss": binary_cross_entropy(np.asarray(logits), truth),
        "f1_micro": float(_ratio(2 * micro_precision * micro_recall, micro_precision + micro_recall)),
        "f1_macro": float(f1.mean()) if len(names) else 0.0,
        "precision_micro": micro_precision,
        "recall_micro": micro_recall,
        "subset_accuracy": float(np.mean(np.all(predicted == truth, axis=1))) if len(truth) else 0.0,
        "threshold": threshold,
        "per_label": {
            name: {**scores, "predicted": int(predicted_count[i])}
            for i, (name, scores) in enumerate(per_label.items())
        },
    }
