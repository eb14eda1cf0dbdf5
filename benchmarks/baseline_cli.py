"""What both baseline recipes share, so `bench_train.py` runs and times them the same way: the command line and
the epoch timer."""

import argparse
import time
from pathlib import Path
from typing import Any


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--text-column", action="append", required=True, help="one, or two for pairs")
    parser.add_argument("--label-column", required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    if len(args.text_column) > 2:
        parser.error("--text-column: one or two columns")
    return args


def epoch_timer(keras: Any) -> Any:
    """A Keras callback summing each epoch's seconds from its start to its last batch: the training phase, the
    per-epoch validation excluded (the trainer's own figure is measured the same way). `keras` is tf.keras, passed
    in because the recipes import TensorFlow late."""

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds = 0.0
            self._start = self._last = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._start = self._last = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self._last = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.seconds += self._last - self._start

    return EpochTimer()
