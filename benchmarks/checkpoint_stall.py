"""How long saving a checkpoint holds the training loop: a synchronous write (before) against the snapshot the
trainer takes now (after: `training.checkpoints`, TensorFlow's async checkpoint, the copy run eagerly).

Builds the classifier with its optimizer state (one training step creates Adam's moments), then saves it
`--repeats` times each way into a temp dir and prints the seconds each save held the caller, and for the snapshot
also how long TensorFlow's writer thread took to finish the files behind it.

    python benchmarks/checkpoint_stall.py --model .cache/models/all-MiniLM-L6-v2
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from transformers import TFAutoModelForSequenceClassification  # noqa: E402

from trainer.training.checkpoints import SNAPSHOT, _eagerly  # noqa: E402


def state_megabytes(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = TFAutoModelForSequenceClassification.from_pretrained(str(args.model), num_labels=2)
    model.compile(
        optimizer=keras.optimizers.Adam(5e-5),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    batch = {"input_ids": np.ones((8, 16), np.int32), "attention_mask": np.ones((8, 16), np.int32)}
    model.train_on_batch(batch, np.zeros((8,), np.int32))
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    sync_held, snapshot_held, written = [], [], []
    with tempfile.TemporaryDirectory(prefix="ckpt-stall-") as tmp:
        for i in range(args.repeats):
            started = time.perf_counter()
            checkpoint.write(f"{tmp}/sync-{i}/state")
            sync_held.append(time.perf_counter() - started)
            started = time.perf_counter()
            with _eagerly():
                checkpoint.write(f"{tmp}/snapshot-{i}/state", options=SNAPSHOT)
            snapshot_held.append(time.perf_counter() - started)
            checkpoint.sync()
            written.append(time.perf_counter() - started)
        size = state_megabytes(Path(tmp) / "sync-0")
    print(f"state: {size:.0f} MB; seconds per save (median, min..max over {args.repeats}):")
    for label, values in (
        ("synchronous write (before): loop held", sync_held),
        ("snapshot (after): loop held", snapshot_held),
        ("snapshot (after): files written, behind the loop", written),
    ):
        print(f"  {label:<50}{statistics.median(values):6.2f} ({min(values):.2f}..{max(values):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
