"""`trainer train`: the orchestration of one fine-tuning run, in the order the work happens.

settings -> fetch model and data -> labels, split, tokenize -> tf.data -> strategy scope: build and compile
-> fit -> evaluate and predict -> write artifacts locally -> publish under the output, `_SUCCESS` last.
"""

import json
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from trainer import artifacts, data, distribute, metrics, pipeline
from trainer.callbacks import EpochTimer, ProgressLines
from trainer.errors import DataError, TrainerError, UsageError
from trainer.model import build_classifier, compile_classifier
from trainer.settings import TrainSettings
from trainer.sources import fetch_data, load_tokenizer, resolve_model
from trainer.storage import Location, Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Splits:
    train: data.Examples
    eval: data.Examples
    labels: data.LabelMap


def prepare_splits(settings: TrainSettings, train: data.Examples, evaluation: data.Examples | None) -> Splits:
    """Label map from the training rows, the eval split when no eval data was given, sample limits."""
    if evaluation is None:
        train, evaluation = data.split_for_eval(train, settings.eval_fraction, settings.seed)
    if settings.max_train_samples:
        train = train.take(range(min(settings.max_train_samples, len(train))))
    if settings.max_eval_samples:
        evaluation = evaluation.take(range(min(settings.max_eval_samples, len(evaluation))))
    labels = data.infer_label_map(train.labels, settings.labels)
    return Splits(train=train, eval=evaluation, labels=labels)


def run(settings: TrainSettings, storage: Storage | None = None) -> int:
    """Train, evaluate and publish; returns the process exit code (0, also when the output is already complete)."""
    storage = storage or Storage()
    output = Location.parse(settings.output)
    train_uri = Location.parse(settings.train_data)
    eval_uri = Location.parse(settings.eval_data) if settings.eval_data else None
    success = output.join(artifacts.SUCCESS_MARKER)
    if storage.exists(success):
        if not settings.overwrite:
            log.info(
                "%s already holds a completed run (%s): nothing to do; pass --overwrite to train again",
                output,
                artifacts.SUCCESS_MARKER,
            )
            return 0
        log.info("--overwrite: removing %s before training again", success)
        storage.delete_prefix(success)

    record = artifacts.RunRecord(settings=settings.model_dump(mode="json"))
    # Written first so a missing bucket or a read-only credential fails now, not after hours of training.
    storage.write_bytes(output.join(artifacts.RUN_FILE), json.dumps(record.as_dict(), indent=2).encode())

    settings.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=settings.work_dir))
    try:
        _train_and_publish(settings, storage, output, train_uri, eval_uri, record, work)
    except BaseException as e:
        _record_failure(storage, output, record, e)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _record_failure(
    storage: Storage, output: Location, record: artifacts.RunRecord, error: BaseException
) -> None:
    """Best effort: leave run.json saying why the run stopped; the original error is what the user sees."""
    record.status = "failed"
    record.finished_at = artifacts.utc_now()
    record.error = f"{type(error).__name__}: {error}".splitlines()[0]
    try:
        storage.write_bytes(output.join(artifacts.RUN_FILE), json.dumps(record.as_dict(), indent=2).encode())
    except TrainerError as nested:
        log.warning("could not record the failure in %s: %s", artifacts.RUN_FILE, nested)


def _train_and_publish(
    settings: TrainSettings,
    storage: Storage,
    output: Location,
    train_uri: Location,
    eval_uri: Location | None,
    record: artifacts.RunRecord,
    work: Path,
) -> None:
    model_path, record.model_source = resolve_model(settings.model, storage, work / "base-model")
    tokenizer = load_tokenizer(model_path)
    train_rows, record.data["train"] = fetch_data(
        train_uri, storage, work / "data" / "train", settings, "train"
    )
    eval_rows = None
    if eval_uri is not None:
        eval_rows, record.data["eval"] = fetch_data(
            eval_uri, storage, work / "data" / "eval", settings, "eval"
        )
    splits = prepare_splits(settings, train_rows, eval_rows)
    log.info(
        "data: %d training rows, %d evaluation rows, %d labels %s",
        len(splits.train),
        len(splits.eval),
        len(splits.labels),
        list(splits.labels.names),
    )
    max_length = min(settings.max_length, getattr(tokenizer, "model_max_length", settings.max_length))
    started = time.perf_counter()
    train_enc = data.tokenize(
        splits.train, splits.labels.encode(splits.train.labels, source="training data"), tokenizer, max_length
    )
    eval_enc = data.tokenize(
        splits.eval, splits.labels.encode(splits.eval.labels, source="evaluation data"), tokenizer, max_length
    )
    log.info(
        "tokenized %d rows in %.1fs (max length %d)",
        len(train_enc) + len(eval_enc),
        time.perf_counter() - started,
        max_length,
    )

    strategy = distribute.make_strategy()
    replicas = strategy.num_replicas_in_sync
    global_batch = distribute.global_batch_size(settings.per_replica_batch_size, replicas)
    steps = pipeline.steps_per_epoch(len(train_enc), global_batch, drop_remainder=True)
    if steps == 0:
        raise DataError(
            f"{len(train_enc)} training rows are fewer than one global batch of {global_batch} "
            f"({settings.per_replica_batch_size} per replica x {replicas} replicas): lower "
            "--per-replica-batch-size or add data"
        )
    record.distribution = {
        **distribute.describe(strategy),
        "per_replica_batch_size": settings.per_replica_batch_size,
        "global_batch_size": global_batch,
        "steps_per_epoch": steps,
    }
    log.info(
        "strategy=%s replicas=%d global_batch=%d (%d per replica x %d) steps_per_epoch=%d epochs=%d",
        type(strategy).__name__,
        replicas,
        global_batch,
        settings.per_replica_batch_size,
        replicas,
        steps,
        settings.epochs,
    )
    pad_id = tokenizer.pad_token_id or 0
    train_ds = pipeline.build_dataset(
        train_enc, global_batch_size=global_batch, training=True, seed=settings.seed, pad_token_id=pad_id
    )
    eval_ds = pipeline.build_dataset(
        eval_enc, global_batch_size=global_batch, training=False, seed=settings.seed, pad_token_id=pad_id
    )

    tf.keras.utils.set_random_seed(settings.seed)
    with strategy.scope():
        model = build_classifier(model_path, splits.labels)
        compile_classifier(
            model,
            learning_rate=settings.learning_rate,
            total_steps=steps * settings.epochs,
            warmup_ratio=settings.warmup_ratio,
            weight_decay=settings.weight_decay,
        )
    history, timer = _fit(model, train_ds, eval_ds, settings, steps, global_batch)

    evaluation = model.evaluate(eval_ds, verbose=0, return_dict=True)
    logits = _logits(model.predict(eval_ds, verbose=0))
    report = metrics.classification_report(eval_enc.labels, np.argmax(logits, axis=-1), splits.labels.names)
    eval_metrics = {"loss": float(evaluation["loss"]), **report}
    log.info(
        "eval: loss=%.4f accuracy=%.4f macro_f1=%.4f",
        eval_metrics["loss"],
        report["accuracy"],
        report["macro_f1"],
    )

    staging = work / "output"
    model.save_pretrained(staging / artifacts.MODEL_DIR, safe_serialization=True)
    tokenizer.save_pretrained(staging / artifacts.MODEL_DIR)
    artifacts.write_json(staging / artifacts.LABELS_FILE, list(splits.labels.names))
    train_seconds = sum(timer.train_seconds)
    artifacts.write_json(
        staging / artifacts.METRICS_FILE,
        {
            "eval": eval_metrics,
            "history": _history_rows(history, timer.train_seconds, steps * global_batch),
            "throughput": {
                "train_seconds": train_seconds,
                "train_examples_per_second": steps * global_batch * settings.epochs / train_seconds
                if train_seconds
                else None,
                "global_batch_size": global_batch,
                "steps_per_epoch": steps,
                "replicas": replicas,
            },
            "rows": {"train": len(train_enc), "eval": len(eval_enc)},
        },
    )
    record.status = "succeeded"
    record.finished_at = artifacts.utc_now()
    artifacts.write_json(staging / artifacts.RUN_FILE, record.as_dict())
    storage.publish(staging, output, marker=artifacts.SUCCESS_MARKER)
    log.info(
        "published %s (model, tokenizer, labels, metrics, run record) and %s",
        output,
        artifacts.SUCCESS_MARKER,
    )


def _fit(
    model: Any,
    train_ds: tf.data.Dataset,
    eval_ds: tf.data.Dataset,
    settings: TrainSettings,
    steps: int,
    global_batch: int,
) -> tuple[dict[str, list[float]], EpochTimer]:
    timer = EpochTimer()
    callbacks: list[Any] = [timer]
    use_bar = settings.progress == "bar" or (settings.progress == "auto" and sys.stderr.isatty())
    if not use_bar:
        callbacks.append(
            ProgressLines(
                epochs=settings.epochs,
                steps_per_epoch=steps,
                global_batch_size=global_batch,
                every_steps=settings.log_every_steps,
            )
        )
    try:
        history = model.fit(
            train_ds,
            validation_data=eval_ds,
            epochs=settings.epochs,
            callbacks=callbacks,
            verbose=1 if use_bar else 0,
        )
    except tf.errors.ResourceExhaustedError as e:
        raise UsageError(
            f"out of memory at a global batch of {global_batch} and max length {settings.max_length}: "
            "lower --per-replica-batch-size or --max-length"
        ) from e
    return history.history, timer


def _logits(predictions: Any) -> np.ndarray:
    if isinstance(predictions, dict):
        return np.asarray(predictions["logits"])
    return np.asarray(getattr(predictions, "logits", predictions))


def _history_rows(
    history: dict[str, list[float]], seconds: list[float], examples: int
) -> list[dict[str, float]]:
    rows = []
    for epoch, elapsed in enumerate(seconds):
        row: dict[str, float] = {"epoch": epoch + 1}
        row.update({key: float(values[epoch]) for key, values in history.items() if epoch < len(values)})
        row["train_seconds"] = elapsed
        row["train_examples_per_second"] = examples / elapsed if elapsed else 0.0
        rows.append(row)
    return rows
