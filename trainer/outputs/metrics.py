"""Classification metrics from label ids and logits, and the metrics.json documents train and evaluate publish:
pure NumPy, no TensorFlow."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trainer.distribute.plan import RunPlan
from trainer.outputs.timing import utc_now

log = logging.getLogger(__name__)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_labels: int) -> np.ndarray:
    """Rows are true labels, columns predicted labels."""
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str]) -> dict[str, object]:
    """Accuracy, macro F1, per-class precision/recall/F1/support and the confusion matrix.

    A class never predicted has precision 0, a class absent from `y_true` recall 0 (scikit-learn's zero_division=0).
    """
    matrix = confusion_matrix(np.asarray(y_true), np.asarray(y_pred), len(names))
    true_pos = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    support = matrix.sum(axis=1).astype(np.float64)
    precision = np.divide(true_pos, predicted, out=np.zeros_like(true_pos), where=predicted > 0)
    recall = np.divide(true_pos, support, out=np.zeros_like(true_pos), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(true_pos), where=denom > 0)
    total = int(matrix.sum())
    return {
        "accuracy": float(true_pos.sum() / total) if total else 0.0,
        "macro_f1": float(f1.mean()) if len(names) else 0.0,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(names)
        },
        "confusion_matrix": {"labels": list(names), "matrix": matrix.tolist()},
    }


def cross_entropy(logits: np.ndarray, label_ids: np.ndarray) -> float:
    """Mean sparse categorical cross-entropy from logits (what training's loss reports)."""
    if len(label_ids) == 0:
        return 0.0
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=-1))
    picked = shifted[np.arange(len(label_ids)), label_ids]
    return float(np.mean(log_norm - picked))


def evaluation(logits: np.ndarray, label_ids: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """The evaluation train and evaluate report: loss, then `classification_report` of the argmax predictions."""
    report = classification_report(label_ids, np.argmax(logits, axis=-1), names)
    return {"loss": cross_entropy(logits, label_ids), **report}


def log_evaluation(result: Mapping[str, Any]) -> None:
    log.info(
        "eval: loss=%.4f accuracy=%.4f macro_f1=%.4f", result["loss"], result["accuracy"], result["macro_f1"]
    )


def training_document(
    history: list[dict[str, float]],
    evaluation: Mapping[str, Any],
    plan: RunPlan,
    *,
    optimizer_steps: int,
    timeline: Mapping[str, float],
    rows: Mapping[str, int],
    checkpoint_stall_seconds: float | None = None,
) -> dict[str, Any]:
    """metrics.json of a training run: the final evaluation, the per-epoch history, throughput (with how long
    the training loop waited for checkpoint snapshots), the phases' timeline (seconds from process start) and the
    rows trained and evaluated on."""
    train_seconds = sum(row["train_seconds"] for row in history)
    trained_examples = sum(row["train_seconds"] * row["train_examples_per_second"] for row in history)
    return {
        "eval": evaluation,
        "history": history,
        "throughput": {
            "train_seconds": train_seconds,
            "train_examples_per_second": trained_examples / train_seconds if train_seconds else None,
            "global_batch_size": plan.global_batch,
            "steps_per_epoch": plan.steps_per_epoch,
            "optimizer_steps": optimizer_steps,
            "replicas": plan.replicas,
            "startup_seconds": timeline.get("first_step"),
            "checkpoint_stall_seconds": checkpoint_stall_seconds,
        },
        "timeline_seconds": dict(timeline),
        "rows": dict(rows),
    }


def evaluation_document(
    result: Mapping[str, Any],
    *,
    rows: int,
    model: str,
    data: list[dict[str, Any]],
    seconds: float,
    replicas: int,
) -> dict[str, Any]:
    """metrics.json of `trainer evaluate`: the evaluation, then what was measured with what."""
    return {
        **result,
        "rows": rows,
        "model": model,
        "data": data,
        "seconds": seconds,
        "replicas": replicas,
        "finished_at": utc_now(),
    }
