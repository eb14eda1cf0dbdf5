"""Reports a person looks at rather than reads: training curves and confusion matrix as PNG, and the final
evaluation added to the run's TensorBoard events (written live during training: `outputs.tensorboard`).

The plots use matplotlib's headless Agg backend, imported lazily (only the verbs that draw pay for it).

Layout under a run's output:

    training_curves.png     loss and accuracy per epoch, train vs validation
    confusion_matrix.png    rows true label, columns predicted, counts and row-normalised shading
    tensorboard/            the run's event files (see `outputs.tensorboard`)
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from trainer.outputs.tensorboard import TENSORBOARD_DIR, write_evaluation_events

TRAINING_CURVES_FILE = "training_curves.png"
CONFUSION_MATRIX_FILE = "confusion_matrix.png"

_DPI = 110
_MAX_TICK_LABEL = 18
"""Label names longer than this are shortened on the axes (the full names are in metrics.json)."""


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path) -> Path:
    """Lay the figure out, write it as a PNG at `path` and free it."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def _short(name: str) -> str:
    return name if len(name) <= _MAX_TICK_LABEL else name[: _MAX_TICK_LABEL - 1] + "…"


def plot_training_curves(history_rows: Sequence[Mapping[str, float]], path: Path) -> Path:
    """Two panels, loss and accuracy per epoch, train (`loss`, `accuracy`) vs validation (`val_*`).

    `history_rows` is metrics.json's "history": one mapping per epoch with `epoch` and the Keras metrics.
    """
    plt = _pyplot()
    epochs = [int(row.get("epoch", i + 1)) for i, row in enumerate(history_rows)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=_DPI)
    for ax, metric, title in ((axes[0], "loss", "Loss"), (axes[1], "accuracy", "Accuracy")):
        for key, label, style in ((metric, "train", "o-"), (f"val_{metric}", "validation", "s--")):
            points = [(e, row[key]) for e, row in zip(epochs, history_rows, strict=True) if key in row]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], style, label=label)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
        if epochs:
            ax.set_xticks(epochs if len(epochs) <= 20 else epochs[:: max(1, len(epochs) // 10)])
        if metric == "accuracy":
            ax.set_ylim(0.0, 1.02)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.suptitle("Training curves")
    return _save(plt, fig, path)


def plot_confusion_matrix(
    names: Sequence[str], matrix: Sequence[Sequence[int]], path: Path, *, title: str = "Confusion matrix"
) -> Path:
    """A heat map shaded by each row's share (recall), annotated with the counts; rows true, columns predicted."""
    import numpy as np

    plt = _pyplot()
    counts = np.asarray(matrix, dtype=np.int64).reshape(len(names), len(names))
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=np.float64), where=totals > 0)
    side = min(4.0 + 0.6 * len(names), 16.0)
    fig, ax = plt.subplots(figsize=(side + 1.5, side), dpi=_DPI)
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true label's rows")
    ticks = range(len(names))
    ax.set_xticks(ticks, [_short(n) for n in names], rotation=45, ha="right")
    ax.set_yticks(ticks, [_short(n) for n in names])
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    if len(names) <= 30:
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    color="white" if shares[i, j] > 0.5 else "black",
                    fontsize=9,
                )
    total = int(counts.sum())
    accuracy = float(np.trace(counts) / total) if total else 0.0
    ax.set_title(f"{title} ({total} rows, accuracy {accuracy:.3f})")
    return _save(plt, fig, path)


def write_training_reports(
    staging: Path,
    history_rows: Sequence[Mapping[str, float]],
    eval_metrics: Mapping[str, Any],
) -> list[Path]:
    """Everything a training run adds beside its artifacts: both PNGs, and the final evaluation in the TensorBoard
    events under `staging/tensorboard` (the callback wrote the per-epoch curves there during training)."""
    written = [plot_training_curves(history_rows, staging / TRAINING_CURVES_FILE)]
    confusion = eval_metrics.get("confusion_matrix")
    confusion_png = None
    if isinstance(confusion, Mapping):
        confusion_png = plot_confusion_matrix(
            confusion["labels"], confusion["matrix"], staging / CONFUSION_MATRIX_FILE
        )
        written.append(confusion_png)
    last_epoch = int(history_rows[-1].get("epoch", len(history_rows))) if history_rows else 0
    write_evaluation_events(staging / TENSORBOARD_DIR, eval_metrics, last_epoch, confusion_png)
    written.append(staging / TENSORBOARD_DIR)
    return written
