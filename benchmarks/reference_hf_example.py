"""Hugging Face's own TensorFlow recipe as a second baseline for the trainer (issue: performance).

A condensed but faithful copy of the training path of transformers' (v4.x)
`examples/tensorflow/text-classification/run_text_classification.py`, with that example's defaults:

- `datasets.load_dataset("csv")`, tokenized with the fast tokenizer by `Dataset.map(batched=True)`, truncation to
  `max_seq_length` (128) and no padding; labels mapped to ids from the sorted unique training labels;
- `TFTrainingArguments` for the strategy (OneDeviceStrategy on CPU or one GPU, MirroredStrategy on several) and for
  every optimizer default: `set_seed`, model built in `strategy.scope()`;
- `model.prepare_tf_dataset(dataset, shuffle=..., batch_size=..., tokenizer=tokenizer)`: dynamic padding per batch
  by DataCollatorWithPadding, the training set shuffled and its last partial batch dropped (drop_remainder follows
  shuffle), auto-sharding off;
- `create_optimizer(...)` as the example calls it with the `TFTrainingArguments` defaults: warmup_steps 0 and
  warmup_ratio 0 (no warmup), weight_decay 0 (so plain Keras Adam, not AdamWeightDecay), betas 0.9/0.999,
  epsilon 1e-8, global clipnorm 1.0 (max_grad_norm), learning rate decaying linearly to 0 over the training steps;
- `model.compile(optimizer=optimizer, metrics=["accuracy"])`: no loss, so the model's internal loss; no
  `jit_compile` (Keras' default: no XLA; `TFTrainingArguments.xla` is False and the example never reads it);
- `model.fit` with the dev set as `validation_data` (evaluated after every epoch), `model.evaluate` on the dev
  set (`do_eval`), `model.save_pretrained(output_dir)` (the model only, as there).

Deviations, all to compare like with like against `reference_seed.py` and the trainer: the CLI and the JSON report
are `reference_seed.py`'s (TSV files read by the csv builder with a tab delimiter and no quoting; text and label
columns named on the command line instead of guessed; one --batch-size for training and evaluation); `fit` runs
with verbose=0; no checkpoint detection, telemetry, all_results.json, predictions or hub push.
`train_examples_per_second` counts the examples actually trained (whole batches: the partial one is dropped) over
each epoch from its start to its last batch (validation excluded, as the trainer's own figure).

    python benchmarks/reference_hf_example.py --train T.tsv --dev D.tsv --model DIR --text-column sentence \
        --label-column label --epochs 2 --batch-size 32 --learning-rate 5e-5 --seed 42 --report out.json
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


def main() -> int:
    args = baseline_cli.parse_args()

    with tempfile.TemporaryDirectory(prefix="hf-example-") as tmp:
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        # The Arrow cache of the loaded and mapped data is part of the recipe; keep it out of ~/.cache.
        os.environ["HF_DATASETS_CACHE"] = str(Path(tmp) / "datasets")
        import tensorflow as tf
        from datasets import load_dataset
        from transformers import (
            AutoConfig,
            AutoTokenizer,
            TFAutoModelForSequenceClassification,
            TFTrainingArguments,
            create_optimizer,
            set_seed,
        )

        training_args = TFTrainingArguments(
            output_dir=str(Path(tmp) / "output"),
            per_device_train_batch_size=args.batch_size,
            per_device_eval_batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            num_train_epochs=args.epochs,
            seed=args.seed,
        )
        datasets = load_dataset(
            "csv",
            data_files={"train": str(args.train), "validation": str(args.dev)},
            delimiter="\t",
            quoting=csv.QUOTE_NONE,
            cache_dir=str(Path(tmp) / "datasets"),
        )
        label_list = sorted(datasets["train"].unique(args.label_column))
        label_to_id = {v: i for i, v in enumerate(label_list)}
        config = AutoConfig.from_pretrained(args.model, num_labels=len(label_list))
        config.label2id = label_to_id
        config.id2label = {i: label for label, i in label_to_id.items()}
        tokenizer = AutoTokenizer.from_pretrained(args.model)
        max_seq_length = min(args.max_length, tokenizer.model_max_length)

        def preprocess_function(examples: dict[str, list]) -> dict[str, list]:
            texts = [examples[column] for column in args.text_column]
            result = tokenizer(*texts, max_length=max_seq_length, truncation=True)
            result["label"] = [label_to_id[label] for label in examples[args.label_column]]
            return result

        datasets = datasets.map(preprocess_function, batched=True)

        with training_args.strategy.scope():
            set_seed(training_args.seed)
            model = TFAutoModelForSequenceClassification.from_pretrained(args.model, config=config)
            dataset_options = tf.data.Options()
            dataset_options.experimental_distribute.auto_shard_policy = (
                tf.data.experimental.AutoShardPolicy.OFF
            )
            num_replicas = training_args.strategy.num_replicas_in_sync
            tf_data = {}
            for key, shuffle, batch_size in (
                ("train", True, training_args.per_device_train_batch_size * num_replicas),
                ("validation", False, training_args.per_device_eval_batch_size * num_replicas),
            ):
                data = model.prepare_tf_dataset(
                    datasets[key], shuffle=shuffle, batch_size=batch_size, tokenizer=tokenizer
                )
                tf_data[key] = data.with_options(dataset_options)

            num_train_steps = len(tf_data["train"]) * training_args.num_train_epochs
            if training_args.warmup_steps > 0:
                num_warmup_steps = training_args.warmup_steps
            elif training_args.warmup_ratio > 0:
                num_warmup_steps = int(num_train_steps * training_args.warmup_ratio)
            else:
                num_warmup_steps = 0
            optimizer, _schedule = create_optimizer(
                init_lr=training_args.learning_rate,
                num_train_steps=num_train_steps,
                num_warmup_steps=num_warmup_steps,
                adam_beta1=training_args.adam_beta1,
                adam_beta2=training_args.adam_beta2,
                adam_epsilon=training_args.adam_epsilon,
                weight_decay_rate=training_args.weight_decay,
                adam_global_clipnorm=training_args.max_grad_norm,
            )
            # No loss: the model's internal one, as in the example.
            model.compile(optimizer=optimizer, metrics=["accuracy"])

            timer = baseline_cli.epoch_timer(tf.keras)
            first_step = time.perf_counter()
            model.fit(
                tf_data["train"],
                validation_data=tf_data["validation"],
                epochs=int(training_args.num_train_epochs),
                callbacks=[timer],
                verbose=0,
            )
            fit_seconds = time.perf_counter() - first_step
            accuracy = model.evaluate(tf_data["validation"], verbose=0, return_dict=True)["accuracy"]
            model.save_pretrained(training_args.output_dir)
        train_rows = len(datasets["train"])

    examples_per_epoch = len(tf_data["train"]) * training_args.per_device_train_batch_size * num_replicas
    report = {
        "recipe": "hf-example",
        "train_rows": train_rows,
        "epochs": args.epochs,
        "train_seconds": timer.seconds,
        "train_examples_per_second": examples_per_epoch * args.epochs / timer.seconds,
        "fit_seconds": fit_seconds,
        "validation": "every epoch",
        "startup_seconds": first_step - STARTED,
        "dev_accuracy": float(accuracy),
        "examples_per_epoch": examples_per_epoch,
        "train_steps": int(num_train_steps),
        "warmup_steps": num_warmup_steps,
        "optimizer": type(optimizer).__name__,
        "jit_compile": bool(model.jit_compile),
    }
    args.report.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
