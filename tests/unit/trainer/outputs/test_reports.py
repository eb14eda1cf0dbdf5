"""Training curves and confusion matrix as PNG from a run's history, and the final evaluation in its TensorBoard
events (the per-epoch curves are written live: tests/unit/trainer/training/test_tensorboard.py)."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from support.tensorboard_events import read_run
from trainer.outputs import reports
from trainer.outputs.tensorboard import write_evaluation_events

HISTORY = [
    {
        "epoch": 1,
        "loss": 1.05,
        "accuracy": 0.41,
        "val_loss": 0.98,
        "val_accuracy": 0.47,
        "train_seconds": 2.0,
    },
    {
        "epoch": 2,
        "loss": 0.71,
        "accuracy": 0.69,
        "val_loss": 0.66,
        "val_accuracy": 0.72,
        "train_seconds": 1.8,
    },
    {
        "epoch": 3,
        "loss": 0.38,
        "accuracy": 0.88,
        "val_loss": 0.45,
        "val_accuracy": 0.84,
        "train_seconds": 1.7,
    },
]
NAMES = ["food", "sports", "weather"]
MATRIX = [[28, 1, 1], [2, 26, 2], [0, 3, 27]]


def _png(path: Path) -> np.ndarray:
    """Decode the file as PNG (fails if it is not one) and return its pixels."""
    content = path.read_bytes()
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    return tf.io.decode_png(content).numpy()


def _non_trivial(pixels: np.ndarray) -> None:
    height, width = pixels.shape[:2]
    assert height >= 300 and width >= 400
    colours = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
    assert len(colours) > 50  # lines, text and shading, not a blank canvas
    assert (pixels[..., :3] < 250).mean() > 0.02  # ink on a meaningful share of the image


def test_training_curves_png(tmp_path: Path) -> None:
    path = reports.plot_training_curves(HISTORY, tmp_path / "curves" / reports.TRAINING_CURVES_FILE)
    _non_trivial(_png(path))


def test_confusion_matrix_png(tmp_path: Path) -> None:
    path = reports.plot_confusion_matrix(NAMES, MATRIX, tmp_path / reports.CONFUSION_MATRIX_FILE)
    pixels = _png(path)
    _non_trivial(pixels)
    blue = (pixels[..., 2].astype(int) - pixels[..., 0].astype(int)) > 60
    assert blue.mean() > 0.05  # the diagonal's dark blue cells


def test_confusion_matrix_with_an_empty_row_and_long_names(tmp_path: Path) -> None:
    names = ["a label name far too long for an axis", "b", "c"]
    path = reports.plot_confusion_matrix(names, [[0, 0, 0], [1, 5, 0], [0, 2, 9]], tmp_path / "cm.png")
    _non_trivial(_png(path))


def test_the_final_evaluation_joins_the_validation_run_at_the_last_epoch(tmp_path: Path) -> None:
    confusion = reports.plot_confusion_matrix(NAMES, MATRIX, tmp_path / "cm.png")
    eval_metrics = {"loss": 0.45, "accuracy": 0.84, "macro_f1": 0.83}
    write_evaluation_events(tmp_path / "tensorboard", eval_metrics, 3, confusion)
    validation = read_run(tmp_path / "tensorboard" / "validation")
    assert validation["eval/macro_f1"] == [(3, pytest.approx(0.83))]
    assert validation["eval/accuracy"] == [(3, pytest.approx(0.84))]
    assert validation["eval/loss"] == [(3, pytest.approx(0.45))]
    assert validation["epoch_loss"] == [(3, pytest.approx(0.45))]  # the validation curve's last epoch
    assert validation["epoch_accuracy"] == [(3, pytest.approx(0.84))]
    assert validation["eval/confusion_matrix"] == [(3, "images")]


def test_write_training_reports_lays_out_the_staging_dir(tmp_path: Path) -> None:
    eval_metrics = {"loss": 0.4, "accuracy": 0.9, "confusion_matrix": {"labels": NAMES, "matrix": MATRIX}}
    reports.write_training_reports(tmp_path, HISTORY, eval_metrics)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert "confusion_matrix.png" in files and "training_curves.png" in files
    assert any(f.startswith("tensorboard/validation/events.out.tfevents.") for f in files)
    assert read_run(tmp_path / "tensorboard" / "validation")["eval/confusion_matrix"] == [(3, "images")]
