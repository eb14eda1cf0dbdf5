"""Reports a person looks at rather than reads: training curves and confusion matrix as PNG, TensorBoard events.

The plots use matplotlib's headless Agg backend, imported lazily (only the verbs that draw pay for it). The
TensorBoard event files are written with TensorFlow's own summary writer and the scalars/images plugin metadata
that TensorBoard reads, so they need no `tensorboard` package at training time; `tensorboard --logdir` on a
downloaded copy (or on `s3://...` where TensorBoard's S3 support is installed) shows the run.

Layout under a run's output:

    training_curves.png     loss and accuracy per epoch, train vs validation
    confusion_matrix.png    rows true label, columns predicted, counts and row-normalised shading
    tensorboard/train/      events: epoch_loss, epoch_accuracy per epoch
    tensorboard/validation/ events: epoch_loss, epoch_accuracy per epoch (val_* of the history), eval metrics and
                            the confusion matrix image at the last epoch
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

TRAINING_CURVES_FILE = "training_curves.png"
CONFUSION_MATRIX_FILE = "confusion_matrix.png"
TENSORBOARD_DIR = "tensorboard"
TB_TRAIN_RUN = "train"
TB_VALIDATION_RUN = "validation"
"""The run names Keras' TensorBoard callback uses, so the two curves overlay in TensorBoard's scalar view."""

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


def write_tensorboard(
    history_rows: Sequence[Mapping[str, float]],
    log_dir: Path,
    *,
    eval_metrics: Mapping[str, Any] | None = None,
    confusion_png: Path | None = None,
) -> Path:
    """Event files under `log_dir/train` and `log_dir/validation` from the per-epoch history.

    Tags follow Keras' TensorBoard callback (`epoch_loss`, `epoch_accuracy`), so the train and validation curves
    overlay; the final eval metrics (`eval/accuracy`, `eval/macro_f1`, `eval/loss`) and the confusion matrix
    image are written at the last epoch of the validation run.
    """
    import tensorflow as tf

    last_epoch = int(history_rows[-1].get("epoch", len(history_rows))) if history_rows else 0
    runs = {TB_TRAIN_RUN: "", TB_VALIDATION_RUN: "val_"}
    for run, prefix in runs.items():
        writer = tf.summary.create_file_writer(str(log_dir / run))
        with writer.as_default():
            for i, row in enumerate(history_rows):
                step = int(row.get("epoch", i + 1))
                for metric in ("loss", "accuracy"):
                    if f"{prefix}{metric}" in row:
                        _scalar(f"epoch_{metric}", float(row[f"{prefix}{metric}"]), step)
                if not prefix and "train_examples_per_second" in row:
                    _scalar("epoch_examples_per_second", float(row["train_examples_per_second"]), step)
            if prefix and eval_metrics:
                for key in ("loss", "accuracy", "macro_f1"):
                    if isinstance(eval_metrics.get(key), int | float):
                        _scalar(f"eval/{key}", float(eval_metrics[key]), last_epoch)
            if prefix and confusion_png is not None and confusion_png.is_file():
                _png_image("eval/confusion_matrix", confusion_png.read_bytes(), last_epoch)
        writer.flush()
        writer.close()
    return log_dir


def _scalar(tag: str, value: float, step: int) -> None:
    """What `tensorboard.summary.scalar` writes: a float32 scalar tagged for the scalars plugin."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=summary_pb2.DATA_CLASS_SCALAR,
    )
    tf.summary.write(tag, tf.constant(value, tf.float32), step=step, metadata=metadata.SerializeToString())


def _png_image(tag: str, png: bytes, step: int) -> None:
    """What `tensorboard.summary.image` writes: [width, height, encoded PNG] strings for the images plugin."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    # The IHDR chunk follows the 8-byte signature: length, type, then width and height as big-endian uint32.
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images"),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )
    tensor = tf.constant([str(width).encode(), str(height).encode(), png], dtype=tf.string)
    tf.summary.write(tag, tensor, step=step, metadata=metadata.SerializeToString())


def write_training_reports(
    staging: Path,
    history_rows: Sequence[Mapping[str, float]],
    eval_metrics: Mapping[str, Any],
) -> list[Path]:
    """Everything a training run adds beside its artifacts: both PNGs and the TensorBoard events."""
    written = [plot_training_curves(history_rows, staging / TRAINING_CURVES_FILE)]
    confusion = eval_metrics.get("confusion_matrix")
    confusion_png = None
    if isinstance(confusion, Mapping):
        confusion_png = plot_confusion_matrix(
            confusion["labels"], confusion["matrix"], staging / CONFUSION_MATRIX_FILE
        )
        written.append(confusion_png)
    written.append(
        write_tensorboard(
            history_rows,
            staging / TENSORBOARD_DIR,
            eval_metrics=eval_metrics,
            confusion_png=confusion_png,
        )
    )
    return written
