"""`trainer train`: the orchestration of one fine-tuning run, in the order the work happens.

(`train_start`: settings -> the model and data fetched, labelled, split and tokenized in the background while
TensorFlow loads) -> strategy (multi-worker: meet the peers first) -> run record -> the inputs, once fetched ->
plan -> strategy scope: build and compile -> fit (resumable) -> evaluate -> write artifacts locally -> publish
under the output, `_SUCCESS` last. The other rooms do the work.
"""

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from trainer.data.prepare import Prepared
from trainer.distribute import host
from trainer.distribute.cluster import resolve_cluster
from trainer.distribute.devices import accelerators
from trainer.distribute.plan import Facts, RunPlan, plan_training
from trainer.distribute.precision import Devices
from trainer.distribute.strategy import (
    chief_or_temp_dir,
    describe,
    gpu_compute_capabilities,
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
from trainer.training import best_weights, loop
from trainer.training.best_model import metric_for_problem, tracker_for
from trainer.training.best_weights import BestWeights
from trainer.training.checkpoints import CheckpointManager, fingerprint_for
from trainer.verbs.fetching import Fetching
from trainer.verbs.scope import Scope

log = logging.getLogger(__name__)


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


def train(settings: TrainSettings, scope: Scope, fetching: Fetching, timeline: Timeline) -> None:
    """Train, evaluate and publish, once TensorFlow is loaded; `fetching` delivers the prepared inputs."""
    # Before any other TensorFlow op (MultiWorkerMirroredStrategy requires it); waits for the other workers.
    cluster = resolve_cluster(os.environ, settings.worker_hosts)
    strategy = make_strategy(cluster, peer_timeout_seconds=settings.peer_timeout_seconds)
    # Written first, by the chief (only it writes under the output), so a missing bucket or a read-only
    # credential fails now, not after hours of training.
    journal = RunJournal.start(
        scope.storage, scope.output, settings.model_dump(mode="json"), writes=is_chief(strategy)
    )
    journal.record.accelerator = accelerators(num_workers(strategy))
    journal.record.phase_marks = timeline.marks  # the same dict: every later mark is recorded
    run = _Run(settings, scope, strategy, journal, scope.stop_on_sigterm(), timeline)
    with journal.failures():
        timeline.mark("imports_and_strategy")
        prepared = fetching.result(journal.record)
        timeline.mark("data_ready")
        plan = _plan(run, prepared)
        metric = (  # checked now against what this problem type reports, not at the first evaluation
            metric_for_problem(settings.best_metric, prepared.labels.problem_type)
            if settings.tracks_best_model
            else None
        )
        model = build_and_compile(
            prepared.model_path, prepared.labels, settings, plan, strategy, prepared.class_weights
        )
        timeline.mark("model_ready")
        store = (
            BestWeights(scope.storage, scope.output, scope.work / "best", model=model, publish=run.chief)
            if settings.load_best_model_at_end
            else None
        )
        checkpoints = _checkpoint_manager(run, prepared, plan, model)
        try:
            trained = _fit(run, prepared, plan, model, checkpoints, metric, store)
            # The last checkpoints are written and uploaded while the model is evaluated and exported.
            evaluation = evaluate_model(model, prepared.eval, plan, prepared.labels, settings.threshold)
            metrics.log_evaluation(evaluation)
            loop.complete_last_epoch(trained.history, evaluation)
            if trained.best is not None:  # the published model's evaluation: the best one's, with its weights
                steps = int(model.optimizer.iterations.numpy())
                evaluation, trained.best_summary = best_weights.finish(
                    trained.best, store, evaluation, global_step=steps, epoch=len(trained.history)
                )
            timeline.mark("evaluated")
            if run.chief:
                _publish(run, prepared, plan, model, trained, evaluation, checkpoints)
                _discard(checkpoints)
            else:
                _finish_as_worker(run, prepared, model, evaluation)
        finally:
            checkpoints.close()


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
        devices=Devices(gpu_compute_capabilities(), host.cpu_flags()),
    )
    plan = plan_training(run.settings, facts)
    run.journal.record.distribution = {**describe(run.strategy), **plan.describe()}
    run.journal.record.note_attempt(precision=plan.precision.describe())
    run.journal.write()
    log.info("precision: %s (%s)", plan.precision.name, plan.precision.reason)
    log.info(
        "token ids: %.1f MB %s",
        prepared.token_bytes / 1e6,
        "in memory"
        if plan.in_memory
        else "memory-mapped from scratch disk, read per batch (--keep-in-memory false)",
    )
    log.info(
        "strategy=%s replicas=%d global_batch=%d (%d per replica x %d) effective_batch=%d (x %d accumulation "
        "steps) steps_per_epoch=%d epochs=%d optimizer_steps=%d",
        strategy_name(run.strategy),
        plan.replicas,
        plan.global_batch,
        plan.per_replica_batch_size,
        plan.replicas,
        plan.step_batch,
        plan.accumulation_steps,
        plan.steps_per_epoch,
        plan.epochs,
        plan.total_steps,
    )
    return plan


def _checkpoint_manager(run: _Run, prepared: Prepared, plan: RunPlan, model: Any) -> CheckpointManager:
    return CheckpointManager(
        run.scope.storage,
        run.scope.output,
        run.scope.work / "checkpoints",
        model=model,
        keep=run.settings.save_total_limit,
        publish=run.chief,  # the others write theirs to their own scratch and delete it (TensorFlow's temp-dir rule)
        fingerprint=fingerprint_for(run.settings, plan, prepared.labels),
    )


def _fit(
    run: _Run,
    prepared: Prepared,
    plan: RunPlan,
    model: Any,
    checkpoints: CheckpointManager,
    metric: str | None,
    store: BestWeights | None,
) -> loop.FitResult:
    """Train from the newest checkpoint (or the start) to the end; PreemptedError once SIGTERM stopped it (its
    checkpoint uploaded)."""
    # Written live into the staging folder, synced to the output, published with the run.
    events = EventSync(
        run.scope.storage, run.scope.output, run.scope.work / "output" / TENSORBOARD_DIR, publish=run.chief
    )
    try:
        restored = checkpoints.resume(restart=run.settings.restart)
        hooks = loop.FitHooks(
            checkpoints,
            run.stop,
            evaluate=lambda: evaluate_model(
                model, prepared.eval, plan, prepared.labels, run.settings.threshold
            ),
            on_first_step=run.timeline.log_first_step,
            events=events,
            best=None
            if metric is None
            else tracker_for(
                metric,
                greater_is_better=run.settings.best_is_greater,
                patience=run.settings.early_stopping_patience,
                saved=restored.extra.get("best") if restored is not None else None,
            ),
            on_best=None if store is None else store.save,
        )
        at = restored.position if restored is not None else None
        events.start(None if at is None else (at.epoch, at.global_step))
        if restored is not None:
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
    finally:
        events.close()
    if result.preempted_at is not None:
        at = result.preempted_at
        raise PreemptedError(
            f"stopped by SIGTERM at epoch {at.epoch + 1} step {at.step} after uploading its checkpoint to "
            f"{checkpoints.root}: run the same command again to resume"
        )
    return result


def _finish_as_worker(run: _Run, prepared: Prepared, model: Any, evaluation: dict[str, Any]) -> None:
    # The SavedModel export runs collectives, so every worker takes part; the others write a throwaway copy.
    with chief_or_temp_dir(run.scope.work / "output" / serving.SERVING_DIR, run.strategy) as scratch:
        serving.write_serving_folder(model, prepared.tokenizer, prepared.labels.names, scratch)
    log.info(
        "worker %d of %d done: eval loss=%.4f; the chief publishes",
        worker_index(run.strategy),
        num_workers(run.strategy),
        evaluation["loss"],
    )


def _publish(
    run: _Run,
    prepared: Prepared,
    plan: RunPlan,
    model: Any,
    trained: loop.FitResult,
    evaluation: dict[str, Any],
    checkpoints: CheckpointManager,
) -> None:
    """Write model, tokenizer, labels, serving folder, metrics, reports and run record; once the checkpoints are
    uploaded, publish, `_SUCCESS` last."""
    staging, timeline, names = run.scope.work / "output", run.timeline, prepared.labels.names
    model.save_pretrained(staging / layout.MODEL_DIR, safe_serialization=True)
    prepared.tokenizer.save_pretrained(staging / layout.MODEL_DIR)
    layout.write_json(staging / layout.LABELS_FILE, list(names))
    timeline.mark("model_saved")
    serving.write_serving_folder(model, prepared.tokenizer, names, staging / serving.SERVING_DIR)
    timeline.mark("serving_exported")
    checkpoints.wait()  # the end of training waits for the uploads; they ran while it evaluated and exported
    if checkpoints.last_saved is not None:
        log.info(
            "checkpoints: training waited %.2fs for their snapshots in all; they were written and uploaded behind it",
            checkpoints.stall_seconds,
        )
    timeline.mark("checkpoints_uploaded")
    document = metrics.training_document(
        trained.history,
        evaluation,
        plan,
        optimizer_steps=int(model.optimizer.iterations.numpy()),
        timeline=timeline.as_dict(),
        rows={"train": len(prepared.train), "eval": len(prepared.eval)},
        checkpoint_stall_seconds=checkpoints.stall_seconds,
    )
    if trained.evaluations:  # --eval-strategy steps
        document["evaluations"] = trained.evaluations
    if trained.best_summary is not None:
        document["best_model"] = trained.best_summary
    layout.write_json(staging / layout.METRICS_FILE, document)
    reports.write_training_reports(staging, trained.history, evaluation)
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
