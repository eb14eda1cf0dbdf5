"""`trainer train`: the orchestration of one fine-tuning run, in the order the work happens.

settings -> strategy (multi-worker: meet the peers first) -> run record -> fetch model and data -> labels, split,
tokenize (`data.prepare`) -> plan -> strategy scope: build and compile -> fit (resumable) -> evaluate -> write
artifacts locally -> publish under the output, `_SUCCESS` last. The other rooms do the work.
"""

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from trainer.data.prepare import Prepared, TrainingInputs, prepare_training_data
from trainer.distribute import host
from trainer.distribute.cluster import resolve_cluster
from trainer.distribute.plan import Facts, RunPlan, plan_training
from trainer.distribute.strategy import (
    chief_or_temp_dir,
    describe,
    has_gpus,
    is_chief,
    make_strategy,
    num_workers,
    strategy_name,
    worker_index,
)
from trainer.errors import PreemptedError
from trainer.model import serving
from trainer.model.build import build_and_compile
from trainer.model.inference import evaluate_model
from trainer.outputs import layout, metrics, reports
from trainer.outputs.run_record import RunJournal
from trainer.outputs.tensorboard import TENSORBOARD_DIR, EventSync
from trainer.outputs.timing import Timeline
from trainer.settings.train import TrainSettings
from trainer.storage import Storage
from trainer.training import loop
from trainer.training.checkpoints import CheckpointManager, fingerprint_for
from trainer.verbs.scope import Scope, VerbFrame

log = logging.getLogger(__name__)


def run(settings: TrainSettings, storage: Storage | None = None) -> int:
    """Train, evaluate and publish; returns the process exit code (0, also when the output is already complete)."""
    timeline = Timeline()
    frame = VerbFrame(settings, storage, what="a completed run", work_prefix="run-")
    inputs = TrainingInputs.parse(settings)
    return frame.run(lambda scope: _train(settings, scope, inputs, timeline))


@dataclass(frozen=True)
class _Run:
    """What every stage of one training run works with."""

    settings: TrainSettings
    scope: Scope
    strategy: Any
    journal: RunJournal
    stop: threading.Event
    timeline: Timeline

    @property
    def chief(self) -> bool:
        return is_chief(self.strategy)


def _train(settings: TrainSettings, scope: Scope, inputs: TrainingInputs, timeline: Timeline) -> None:
    # Before any other TensorFlow op (MultiWorkerMirroredStrategy requires it); waits for the other workers.
    cluster = resolve_cluster(os.environ, settings.worker_hosts)
    strategy = make_strategy(cluster, peer_timeout_seconds=settings.peer_timeout_seconds)
    # Written first, by the chief (only it writes under the output), so a missing bucket or a read-only
    # credential fails now, not after hours of training.
    journal = RunJournal.start(
        scope.storage, scope.output, settings.model_dump(mode="json"), writes=is_chief(strategy)
    )
    run = _Run(settings, scope, strategy, journal, scope.stop_on_sigterm(), timeline)
    with journal.failures():
        timeline.mark("imports_and_strategy")
        prepared = prepare_training_data(settings, scope.storage, inputs, scope.work, journal.record)
        timeline.mark("data_ready")
        plan = _plan(run, prepared)
        model = build_and_compile(prepared.model_path, prepared.labels, settings, plan, strategy)
        timeline.mark("model_ready")
        history, checkpoints = _fit(run, prepared, plan, model)
        evaluation = evaluate_model(model, prepared.eval, plan, prepared.labels.names)
        metrics.log_evaluation(evaluation)
        loop.complete_last_epoch(history, evaluation)
        timeline.mark("evaluated")
        if run.chief:
            _publish(run, prepared, plan, model, history, evaluation)
            _discard(checkpoints)
        else:
            _finish_as_worker(run, prepared, model, evaluation)


def _plan(run: _Run, prepared: Prepared) -> RunPlan:
    """The run's plan, recorded in run.json and the log."""
    facts = Facts(
        replicas=run.strategy.num_replicas_in_sync,
        gpus=has_gpus(),
        max_length=prepared.max_length,
        pad_token_id=prepared.tokenizer.pad_token_id,
        memory_limit=host.memory_limit_bytes(),
        token_bytes=prepared.token_bytes,
        rows=len(prepared.train),
    )
    plan = plan_training(run.settings, facts)
    run.journal.record.distribution = {**describe(run.strategy), **plan.describe()}
    log.info(
        "token ids: %.1f MB %s",
        prepared.token_bytes / 1e6,
        "in memory"
        if plan.in_memory
        else "memory-mapped from scratch disk, read per batch (--keep-in-memory false)",
    )
    log.info(
        "strategy=%s replicas=%d global_batch=%d (%d per replica x %d) steps_per_epoch=%d epochs=%d",
        strategy_name(run.strategy),
        plan.replicas,
        plan.global_batch,
        plan.per_replica_batch_size,
        plan.replicas,
        plan.steps_per_epoch,
        run.settings.epochs,
    )
    return plan


def _fit(
    run: _Run, prepared: Prepared, plan: RunPlan, model: Any
) -> tuple[list[dict[str, float]], CheckpointManager]:
    """Train from the newest checkpoint (or the start) to the end; PreemptedError once SIGTERM stopped it."""
    checkpoints = CheckpointManager(
        run.scope.storage,
        run.scope.output,
        run.scope.work / "checkpoints",
        model=model,
        keep=run.settings.keep_checkpoints,
        publish=run.chief,  # the others write theirs to their own scratch and delete it (TensorFlow's temp-dir rule)
        fingerprint=fingerprint_for(run.settings, plan, prepared.labels),
    )
    # Written live into the staging folder, synced to the output, published with the run.
    events = EventSync(
        run.scope.storage, run.scope.output, run.scope.work / "output" / TENSORBOARD_DIR, publish=run.chief
    )
    hooks = loop.FitHooks(
        checkpoints,
        run.stop,
        evaluate=lambda: evaluate_model(model, prepared.eval, plan, prepared.labels.names),
        on_first_step=lambda: _log_startup(run.timeline),
        events=events,
    )
    try:
        restored = checkpoints.resume(restart=run.settings.restart)
        at = restored.position if restored is not None else None
        events.start(None if at is None else (at.epoch, at.global_step))
        if restored is not None:
            at = restored.position
            checkpoint = str(checkpoints.root.join(restored.name))
            run.journal.resumed(
                epoch=at.epoch, step=at.step, optimizer_step=at.global_step, checkpoint=checkpoint
            )
        if run.stop.is_set():
            raise PreemptedError(
                "stopped by SIGTERM before training started; run the same command to start again"
            )
        result = loop.fit(model, prepared.train, plan, run.settings, hooks, restored)
        run.timeline.mark("trained")
        checkpoints.wait()
    finally:
        checkpoints.close()
        events.close()
    if result.preempted_at is not None:
        at = result.preempted_at
        raise PreemptedError(
            f"stopped by SIGTERM at epoch {at.epoch + 1} step {at.step} after uploading its checkpoint to "
            f"{checkpoints.root}: run the same command again to resume"
        )
    return result.history, checkpoints


def _finish_as_worker(run: _Run, prepared: Prepared, model: Any, evaluation: dict[str, Any]) -> None:
    # The SavedModel export runs collectives, so every worker takes part; the others write a throwaway copy.
    with chief_or_temp_dir(run.scope.work / "output" / serving.SERVING_DIR, run.strategy) as scratch:
        serving.write_serving_folder(model, prepared.tokenizer, prepared.labels.names, scratch)
    log.info(
        "worker %d of %d done: eval loss=%.4f accuracy=%.4f; the chief publishes",
        worker_index(run.strategy),
        num_workers(run.strategy),
        evaluation["loss"],
        evaluation["accuracy"],
    )


def _publish(
    run: _Run,
    prepared: Prepared,
    plan: RunPlan,
    model: Any,
    history: list[dict[str, float]],
    evaluation: dict[str, Any],
) -> None:
    """Write model, tokenizer, labels, serving folder, metrics, reports and run record; publish, `_SUCCESS` last."""
    staging, timeline, names = run.scope.work / "output", run.timeline, prepared.labels.names
    model.save_pretrained(staging / layout.MODEL_DIR, safe_serialization=True)
    prepared.tokenizer.save_pretrained(staging / layout.MODEL_DIR)
    layout.write_json(staging / layout.LABELS_FILE, list(names))
    timeline.mark("model_saved")
    serving.write_serving_folder(model, prepared.tokenizer, names, staging / serving.SERVING_DIR)
    timeline.mark("serving_exported")
    document = metrics.training_document(
        history,
        evaluation,
        plan,
        optimizer_steps=int(model.optimizer.iterations.numpy()),
        timeline=timeline.as_dict(),
        rows={"train": len(prepared.train), "eval": len(prepared.eval)},
    )
    layout.write_json(staging / layout.METRICS_FILE, document)
    reports.write_training_reports(staging, history, evaluation)
    run.journal.record.succeeded()
    layout.write_json(staging / layout.RUN_FILE, run.journal.record.as_dict())
    run.scope.storage.publish(staging, run.scope.output, marker=layout.SUCCESS_MARKER)
    log.info(
        "published %s (model, serving SavedModel, labels, metrics, reports, run record) and %s "
        "%.1fs after process start",
        run.scope.output,
        layout.SUCCESS_MARKER,
        timeline.mark("published"),
    )


def _discard(checkpoints: CheckpointManager) -> None:
    removed = checkpoints.discard()
    if removed:
        log.info("removed %d checkpoint objects under %s: the run is published", removed, checkpoints.root)


def _log_startup(timeline: Timeline) -> None:
    seconds = timeline.mark("first_step")
    phases = " ".join(f"{name}={at:.1f}s" for name, at in timeline.marks.items())
    log.info("first training step began %.1fs after process start (%s)", seconds, phases)
