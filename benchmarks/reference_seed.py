"""The seed-style reference recipe the trainer is measured against (issue: performance).

The straightforward Keras recipe: tokenize every row padded to the longest row of the whole set, `fit` on NumPy
arrays with the dev set as `validation_data` (so Keras evaluates it after every epoch, as the seed recipe does;
the last epoch's `val_accuracy` is the final accuracy), save. Same model, data, epochs, batch size, learning rate
and seed as the trainer run it is compared with. Prints nothing; writes a JSON report with its own timings:
`train_examples_per_second` counts each epoch from its start to its last batch (validation excluded, as the
trainer's own figure), `fit_seconds` the whole `fit` with validation.

    python benchmarks/reference_seed.py --train T.tsv --dev D.tsv --model DIR --epochs 2 --batch-size 32 \
        --learning-rate 5e-5 --seed 42 --report out.json
"""

import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import baseline_cli

STARTED = time.perf_counter()


def read_tsv(path: Path, text_columns: list[str], label_column: str) -> tuple[list[list[str]], list[int]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [[row[c] for c in text_columns] for row in rows], [int(row[label_column]) for row in rows]


def main() -> int:
    args = baseline_cli.parse_args()

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import numpy as np
    import tensorflow as tf
    from transformers import AutoTokenizer, TFAutoModelForSequenceClassification

    tf.keras.utils.set_random_seed(args.seed)
    train_texts, train_labels = read_tsv(args.train, args.text_column, args.label_column)
    dev_texts, dev_labels = read_tsv(args.dev, args.text_column, args.label_column)
    tokenizer = AutoTokenizer.from_pretrained(args.model)

    def encode(texts: list[list[str]]) -> dict[str, np.ndarray]:
        columns = list(zip(*texts, strict=True))
        pair = columns[1] if len(columns) > 1 else None
        return dict(
            tokenizer(
                list(columns[0]),
                list(pair) if pair else None,
                padding="longest",
                truncation=True,
                max_length=args.max_length,
                return_tensors="np",
            )
        )

    x_train, x_dev = encode(train_texts), encode(dev_texts)
    y_train, y_dev = np.asarray(train_labels), np.asarray(dev_labels)
    model = TFAutoModelForSequenceClassification.from_pretrained(
        args.model, num_labels=int(y_train.max()) + 1
    )
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=args.learning_rate),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    timer = baseline_cli.epoch_timer(tf.keras)
    first_step = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_dev, y_dev),
        callbacks=[timer],
        verbose=0,
    )
    fit_seconds = time.perf_counter() - first_step
    accuracy = history.history["val_accuracy"][-1]
    with tempfile.TemporaryDirectory() as out:
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
    report = {
        "recipe": "seed-style",
        "train_rows": len(y_train),
        "epochs": args.epochs,
        "train_seconds": timer.seconds,
        "train_examples_per_second": len(y_train) * args.epochs / timer.seconds,
        "fit_seconds": fit_seconds,
        "validation": "every epoch",
        "startup_seconds": first_step - STARTED,
        "dev_accuracy": float(accuracy),
        "padded_length": int(x_train["input_ids"].shape[1]),
    }
    args.report.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
