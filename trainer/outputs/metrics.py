"""Evaluation metrics from labels and logits for every problem type (single-label here; regression and multi-label
in `scores`), and the metrics.json documents train and evaluate publish: pure NumPy, no TensorFlow.

Every scalar metric sits at the top level of the evaluation under its name (`accuracy`, `f1_macro`, `mse`,
`pearson`, ...: `settings.problem.EVAL_METRICS`), so a metric can be chosen by name.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trainer.distribute.plan import RunPlan
from trainer.outputs.schema import SCHEMA_VERSION
from trainer.outputs.scores import class_scores, multi_label_report, regression_report
from trainer.outputs.timing import utc_now
from trainer.settings.problem import EVAL_METRICS, MULTI_LABEL, REGRESSION, SINGLE_LABEL, ProblemType

log = logging.getLogger(__name__)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_labels: int) -> np.ndarray:
    """Rows are true labels, columns predicted labels."""
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str]) -> dict[str, object]:
    """Accuracy, macro F1 (`f1_macro`, and `macro_f1` as earlier versions named it), per-class
    precision/recall/F1/support and the confusion matrix.

    A class never predicted has precision 0, a class absent from `y_true` recall 0 (scikit-learn's zero_division=0).
    """
    matrix = confusion_matrix(np.asarray(y_true), np.asarray(y_pred), len(names))
    true_pos = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    support = matrix.sum(axis=1).astype(np.float64)
    per_class, f1 = class_scores(names, true_pos, predicted, support)
    total = int(matrix.sum())
    return {
        "accuracy": float(true_pos.sum() / total) if total else 0.0,
        "f1_macro": float(f1.mean()) if len(names) else 0.0,
        "macro_f1": float(f1.mean()) if len(names) else 0.0,
        "per_class": per_class,
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


def evaluation(
    logits: np.ndarray,
    labels: np.ndarray,
    names: Sequence[str],
    problem_type: ProblemType = SINGLE_LABEL,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """The evaluation train and evaluate report, starting with its problem type and loss: for single-label,
    `classification_report` of the argmax predictions; a regression's errors and correlations; a multi-label
    classifier's F1 at `threshold`."""
    if problem_type == REGRESSION:
        return {"problem_type": problem_type, **regression_report(logits[:, 0], labels)}
    if problem_type == MULTI_LABEL:
        return {"problem_type": problem_type, **multi_label_report(logits, labels, names, threshold)}
    report = classification_report(labels, np.argmax(logits, axis=-1), names)
    return {"problem_type": problem_type, "loss": cross_entropy(logits, labels), **report}


def log_evaluation(result: Mapping[str, Any]) -> None:
    names = EVAL_METRICS[result.get("problem_type", SINGLE_LABEL)]
    shown = " ".join(
        f"{name}={_number(result[name])}" for name in names if name != "macro_f1" and name in result
    )
    log.info("eval: %s", shown)


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


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
        "schema_version": SCHEMA_VERSION,
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
        "schema_version": SCHEMA_VERSION,
        **result,
        "rows": rows,
        "model": model,
        "data": data,
        "seconds": seconds,
        "replicas": replicas,
        "finished_at": utc_now(),
    }
