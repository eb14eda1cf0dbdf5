"""`trainer train`: the orchestration of one fine-tuning run, in the order the work happens.

settings -> fetch model and data -> labels, split, tokenize -> tf.data -> strategy scope: build and compile
-> fit -> evaluate and predict -> write artifacts locally -> publish under the output, `_SUCCESS` last.
"""

import json
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from trainer import pipeline
from trainer.data.encode import LabelEncoder
from trainer.data.fetch import load_tokenizer, read_data, resolve_model
from trainer.data.labels import LabelCollector, LabelMap, split_for_eval
from trainer.data.tokens import Encoded
from trainer.distribute import host
from trainer.distribute.cluster import resolve_cluster
from trainer.distribute.strategy import (
    chief_or_temp_dir,
    describe,
    global_batch_size,
    has_gpus,
    is_chief,
    make_strategy,
    num_workers,
    strategy_name,
    worker_index,
)
from trainer.errors import DataError, RetryableError, TrainerError
from trainer.model import inference, serving
from trainer.model.build import build_classifier, compile_classifier
from trainer.outputs import layout, metrics, reports
from trainer.outputs.timing import Timeline
from trainer.settings.train import TrainSettings
from trainer.storage import Location, Storage
from trainer.training import loop
from trainer.training.checkpoints import CheckpointManager, Position

log = logging.getLogger(__name__)


def run(settings: TrainSettings, storage: Storage | None = None) -> int:
    """Train, evaluate and publish; returns the process exit code (0, also when the output is already complete)."""
    timeline = Timeline()
    storage = storage or Storage()
    output = Location.parse(settings.output)
    train_uri = Location.parse(settings.train_data)
    eval_uri = Location.parse(settings.eval_data) if settings.eval_data else None
    if layout.already_published(storage, output, overwrite=settings.overwrite, what="a completed run"):
        return 0

    # Before any other TensorFlow op (MultiWorkerMirroredStrategy requires it); waits for the other workers.
    cluster = resolve_cluster(os.environ, settings.worker_hosts)
    strategy = make_strategy(cluster, peer_timeout_seconds=settings.peer_timeout_seconds)
    chief = is_chief(strategy)

    record = layout.RunRecord(settings=settings.model_dump(mode="json"))
    record.attempts = [
        *_previous_attempts(storage, output),
        {"started_at": record.started_at, "host": record.host, "status": "running", "resumed_from": None},
    ]
    # Written first so a missing bucket or a read-only credential fails now, not after hours of training.
    if chief:  # only the chief writes under the output
        _write_record(storage, output, record)

    settings.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=settings.work_dir))
    stop = threading.Event()
    previous_handler = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        _train_and_publish(
            settings, storage, output, train_uri, eval_uri, record, work, stop, strategy, timeline
        )
    except BaseException as e:
        if chief:
            _record_failure(storage, output, record, e)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        shutil.rmtree(work, ignore_errors=True)
    return 0


class PreemptedError(RetryableError):
    """SIGTERM: the state is checkpointed; the same command resumes."""


def _previous_attempts(storage: Storage, output: Location) -> list[dict[str, Any]]:
    """Attempts recorded by earlier runs on this output (a Job's retries), so run.json tells the whole story."""
    location = output.join(layout.RUN_FILE)
    if not storage.exists(location):
        return []
    try:
        attempts = list(json.loads(storage.read_bytes(location)).get("attempts", []))
    except (ValueError, AttributeError):
        log.warning("ignoring an unreadable %s from an earlier attempt", location)
        return []
    for attempt in attempts:
        if attempt.get("status") == "running":  # it never recorded an end: killed (SIGKILL, OOM, node lost)
            attempt["status"] = "interrupted"
    return attempts


def _write_record(storage: Storage, output: Location, record: layout.RunRecord) -> None:
    storage.write_bytes(output.join(layout.RUN_FILE), json.dumps(record.as_dict(), indent=2).encode())


def _record_failure(
    storage: Storage, output: Location, record: layout.RunRecord, error: BaseException
) -> None:
    """Best effort: leave run.json saying why the run stopped; the original error is what the user sees."""
    record.status = "preempted" if isinstance(error, PreemptedError) else "failed"
    record.finished_at = layout.utc_now()
    record.error = f"{type(error).__name__}: {error}".splitlines()[0]
    record.attempts[-1].update(ended_at=record.finished_at, status=record.status, error=record.error)
    try:
        _write_record(storage, output, record)
    except TrainerError as nested:
        log.warning("could not record the failure in %s: %s", layout.RUN_FILE, nested)


@dataclass(frozen=True)
class Prepared:
    """Everything training needs from the inputs: the base model, tokenizer, label map and the token ids."""

    model_path: Path | str
    tokenizer: Any
    labels: LabelMap
    train: Encoded
    eval: Encoded
    max_length: int

    @property
    def token_bytes(self) -> int:
        """The token files' size (the eval rows share the training files when split off them)."""
        shared = self.eval.input_ids is self.train.input_ids
        return self.train.token_bytes + (0 if shared else self.eval.token_bytes)


def _prepare(
    settings: TrainSettings,
    storage: Storage,
    train_uri: Location,
    eval_uri: Location | None,
    record: layout.RunRecord,
    work: Path,
) -> Prepared:
    """Fetch the model and data; tokenize the data once, streamed into token files; labels, eval split, limits."""
    model_path, record.model_source = resolve_model(settings.model, storage, work / "base-model")
    tokenizer = load_tokenizer(model_path)
    max_length = min(settings.max_length, getattr(tokenizer, "model_max_length", settings.max_length))
    started = time.perf_counter()

    def encode(uri: Location, split: str, encode_labels: LabelEncoder, limit: int | None = None) -> Encoded:
        read = read_data(
            uri,
            storage,
            work / split,
            f"--{split}-data",
            settings,
            tokenizer=tokenizer,
            max_length=max_length,
            encode_labels=encode_labels,
            source={"train": "training data", "eval": "evaluation data"}[split],
            limit=limit,
        )
        record.data[split] = read.record
        log.info("%s data: %d rows from %d file(s) under %s", split, len(read.encoded), read.files, uri)
        return read.encoded

    # With --eval-data, --max-train-samples means the first N rows: no need to read the rest. Without it, the
    # stratified split needs every row first.
    train_limit = settings.max_train_samples if eval_uri is not None else None
    if settings.labels:
        labels = LabelMap(tuple(settings.labels))
        train = encode(
            train_uri, "train", lambda names, source: labels.encode(names, source=source), train_limit
        )
    else:
        collector = LabelCollector()
        train = encode(train_uri, "train", collector, train_limit)
        labels = collector.label_map()
        train = collector.relabel(train, labels)
    if eval_uri is not None:
        evaluation = encode(
            eval_uri,
            "eval",
            lambda names, source: labels.encode(names, source=source),
            settings.max_eval_samples,
        )
    else:
        train_rows, eval_rows = split_for_eval(train.labels, settings.eval_fraction, settings.seed)
        train, evaluation = train.take(train_rows), train.take(eval_rows)
    if settings.max_train_samples:
        train = train.take(range(min(settings.max_train_samples, len(train))))
    if settings.max_eval_samples:
        evaluation = evaluation.take(range(min(settings.max_eval_samples, len(evaluation))))
    log.info(
        "data: %d training rows, %d evaluation rows, %d labels %s; read and tokenized in %.1fs (max length %d)",
        len(train),
        len(evaluation),
        len(labels),
        list(labels.names),
        time.perf_counter() - started,
        max_length,
    )
    return Prepared(model_path, tokenizer, labels, train, evaluation, max_length)


def _train_and_publish(
    settings: TrainSettings,
    storage: Storage,
    output: Location,
    train_uri: Location,
    eval_uri: Location | None,
    record: layout.RunRecord,
    work: Path,
    stop: threading.Event,
    strategy: tf.distribute.Strategy,
    timeline: Timeline,
) -> None:
    chief = is_chief(strategy)
    settings = settings.model_copy(
        update={"pad_to_multiple_of": pipeline.pad_multiple(settings.pad_to_multiple_of, gpus=has_gpus())}
    )
    timeline.mark("imports_and_strategy")
    prepared = _prepare(settings, storage, train_uri, eval_uri, record, work)
    timeline.mark("data_ready")
    in_memory = host.keep_in_memory(settings.keep_in_memory, prepared.token_bytes, host.memory_limit_bytes())
    settings = settings.model_copy(update={"keep_in_memory": in_memory})
    labels = prepared.labels
    replicas = strategy.num_replicas_in_sync
    global_batch = global_batch_size(settings.per_replica_batch_size, replicas)
    steps = pipeline.steps_per_epoch(len(prepared.train), global_batch, drop_remainder=True)
    if steps == 0:
        raise DataError(
            f"{len(prepared.train)} training rows are fewer than one global batch of {global_batch} "
            f"({settings.per_replica_batch_size} per replica x {replicas} replicas): lower "
            "--per-replica-batch-size or add data"
        )
    record.distribution = {
        **describe(strategy),
        "per_replica_batch_size": settings.per_replica_batch_size,
        "global_batch_size": global_batch,
        "steps_per_epoch": steps,
        "pad_to_multiple_of": settings.pad_to_multiple_of,
        "token_ids_in_memory": in_memory,
    }
    log.info(
        "token ids: %.1f MB %s",
        prepared.token_bytes / 1e6,
        "in memory"
        if in_memory
        else "memory-mapped from scratch disk, read per batch (--keep-in-memory false)",
    )
    log.info(
        "strategy=%s replicas=%d global_batch=%d (%d per replica x %d) steps_per_epoch=%d epochs=%d",
        strategy_name(strategy),
        replicas,
        global_batch,
        settings.per_replica_batch_size,
        replicas,
        steps,
        settings.epochs,
    )
    pad_id = prepared.tokenizer.pad_token_id or 0
    buckets = loop.batch_buckets(settings)

    def evaluate() -> dict[str, Any]:
        """Loss, accuracy and the per-label report on the evaluation rows, from one prediction pass."""
        logits = inference.predict_logits(
            model,
            prepared.eval,
            global_batch_size=global_batch,
            pad_token_id=pad_id,
            pad_to_multiple_of=settings.pad_to_multiple_of,
            buckets=buckets,
            in_memory=in_memory,
        )
        report = metrics.classification_report(prepared.eval.labels, np.argmax(logits, axis=-1), labels.names)
        return {"loss": inference.cross_entropy(logits, prepared.eval.labels), **report}

    tf.keras.utils.set_random_seed(settings.seed)
    with strategy.scope():
        model = build_classifier(prepared.model_path, labels, settings.mixed_precision)
        compile_classifier(
            model,
            learning_rate=settings.learning_rate,
            total_steps=steps * settings.epochs,
            warmup_ratio=settings.warmup_ratio,
            weight_decay=settings.weight_decay,
            optim=settings.optim,
            lr_scheduler_type=settings.lr_scheduler_type,
            jit_compile=settings.jit_compile,
            steps_per_execution=settings.steps_per_execution,
        )
    timeline.mark("model_ready")
    checkpoints = CheckpointManager(
        storage,
        output,
        work / "checkpoints",
        model=model,
        keep=settings.keep_checkpoints,
        publish=chief,  # the others write theirs to their own scratch and delete it (TensorFlow's temp-dir rule)
        fingerprint={
            "model": settings.model,
            "labels": list(labels.names),
            "global_batch_size": global_batch,
            "max_length": prepared.max_length,
            "steps_per_epoch": steps,
            "epochs": settings.epochs,
            "group_by_length": settings.group_by_length,  # the batches of a resumed epoch depend on it
        },
    )
    try:
        start, history = _resume_point(settings, checkpoints, record, storage, output, chief)
        if stop.is_set():
            raise PreemptedError(
                "stopped by SIGTERM before training started; run the same command to start again"
            )
        result = loop.fit(
            model,
            prepared.train,
            evaluate,
            settings=settings,
            steps=steps,
            global_batch=global_batch,
            pad_token_id=pad_id,
            start=start,
            history=history,
            checkpoints=checkpoints,
            stop=stop,
            on_first_step=lambda: _log_startup(timeline),
        )
        timeline.mark("trained")
        checkpoints.wait()
    finally:
        checkpoints.close()
    if result.preempted_at is not None:
        at = result.preempted_at
        raise PreemptedError(
            f"stopped by SIGTERM at epoch {at.epoch + 1} step {at.step} after uploading its checkpoint to "
            f"{checkpoints.root}: run the same command again to resume"
        )

    eval_metrics = evaluate()
    log.info(
        "eval: loss=%.4f accuracy=%.4f macro_f1=%.4f",
        eval_metrics["loss"],
        eval_metrics["accuracy"],
        eval_metrics["macro_f1"],
    )
    loop.complete_last_epoch(result.history, eval_metrics)
    timeline.mark("evaluated")

    if not chief:
        # The SavedModel export runs collectives, so every worker takes part; the others write a throwaway copy.
        with chief_or_temp_dir(work / "output" / serving.SERVING_DIR, strategy) as scratch:
            serving.write_serving_folder(model, prepared.tokenizer, labels.names, scratch)
        log.info(
            "worker %d of %d done: eval loss=%.4f accuracy=%.4f; the chief publishes",
            worker_index(strategy),
            num_workers(strategy),
            eval_metrics["loss"],
            eval_metrics["accuracy"],
        )
        return
    staging = work / "output"
    model.save_pretrained(staging / layout.MODEL_DIR, safe_serialization=True)
    prepared.tokenizer.save_pretrained(staging / layout.MODEL_DIR)
    layout.write_json(staging / layout.LABELS_FILE, list(labels.names))
    timeline.mark("model_saved")
    serving.write_serving_folder(model, prepared.tokenizer, labels.names, staging / serving.SERVING_DIR)
    timeline.mark("serving_exported")
    train_seconds = sum(row["train_seconds"] for row in result.history)
    trained_examples = sum(row["train_seconds"] * row["train_examples_per_second"] for row in result.history)
    layout.write_json(
        staging / layout.METRICS_FILE,
        {
            "eval": eval_metrics,
            "history": result.history,
            "throughput": {
                "train_seconds": train_seconds,
                "train_examples_per_second": trained_examples / train_seconds if train_seconds else None,
                "global_batch_size": global_batch,
                "steps_per_epoch": steps,
                "optimizer_steps": int(model.optimizer.iterations.numpy()),
                "replicas": replicas,
                "startup_seconds": timeline.marks.get("first_step"),
            },
            "timeline_seconds": timeline.as_dict(),
            "rows": {"train": len(prepared.train), "eval": len(prepared.eval)},
        },
    )
    reports.write_training_reports(staging, result.history, eval_metrics)
    record.status = "succeeded"
    record.finished_at = layout.utc_now()
    record.attempts[-1].update(ended_at=record.finished_at, status=record.status)
    layout.write_json(staging / layout.RUN_FILE, record.as_dict())
    storage.publish(staging, output, marker=layout.SUCCESS_MARKER)
    published_at = timeline.mark("published")
    log.info(
        "published %s (model, serving SavedModel, labels, metrics, reports, run record) and %s "
        "%.1fs after process start",
        output,
        layout.SUCCESS_MARKER,
        published_at,
    )
    removed = checkpoints.discard()
    if removed:
        log.info("removed %d checkpoint objects under %s: the run is published", removed, checkpoints.root)


def _log_startup(timeline: Timeline) -> None:
    seconds = timeline.mark("first_step")
    phases = " ".join(f"{name}={at:.1f}s" for name, at in timeline.marks.items())
    log.info("first training step began %.1fs after process start (%s)", seconds, phases)


def _resume_point(
    settings: TrainSettings,
    checkpoints: CheckpointManager,
    record: layout.RunRecord,
    storage: Storage,
    output: Location,
    chief: bool = True,
) -> tuple[Position, list[dict[str, float]]]:
    """Where training starts: the newest complete checkpoint (unless --restart), else the beginning."""
    if settings.restart:
        removed = checkpoints.discard() if chief else 0
        log.info("--restart: discarded %d checkpoint objects under %s", removed, checkpoints.root)
        return Position(0, 0, 0), []
    restored = checkpoints.restore_latest()
    if restored is None:
        return Position(0, 0, 0), []
    position = restored.position
    log.info(
        "resumed from checkpoint %s: epoch %d step %d (optimizer step %d)",
        checkpoints.root.join(restored.name),
        position.epoch + 1,
        position.step,
        position.global_step,
    )
    record.attempts[-1]["resumed_from"] = {
        "epoch": position.epoch + 1,  # 1-based, as in the logs
        "step": position.step,
        "optimizer_step": position.global_step,
        "checkpoint": str(checkpoints.root.join(restored.name)),
    }
    if chief:
        _write_record(storage, output, record)
    return position, list(restored.extra.get("history", []))
