"""Evaluation every N optimizer steps (--eval-strategy steps --eval-steps N), within and across epochs, and the
early stop once the best model has not improved for --early-stopping-patience evaluations.

Each evaluation is logged and recorded with the optimizer step it was made after; the records travel in every
checkpoint (a resumed run keeps those of the run it resumes) and end in metrics.json's "evaluations". No step
evaluation is made at the last step: the final evaluation, which always runs, measures that model.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import tf_keras as keras

from trainer.distribute.plan import RunPlan
from trainer.settings.train import TrainSettings
from trainer.training.best_model import BestModel, reported_metrics
from trainer.training.callbacks import EpochEvaluation, _EpochSteps, crossed, format_metrics

log = logging.getLogger("trainer.progress")


class StepEvaluation(_EpochSteps):
    """Evaluates every `every_steps` optimizer steps before `total_steps`, appending to `records`
    `{"global_step", "epoch", <metric>: value, ...}`."""

    def __init__(
        self,
        evaluate: Callable[[], Mapping[str, Any]],
        records: list[dict[str, float]],
        *,
        steps_per_epoch: int,
        every_steps: int,
        total_steps: int,
        observe: Callable[[Mapping[str, Any], int, int], None] | None = None,
    ) -> None:
        super().__init__(steps_per_epoch=steps_per_epoch, every_steps=every_steps, allow_zero=False)
        self._evaluate = evaluate
        self.records = records
        self._total_steps = total_steps
        self._observe = observe

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        previous, step = self._advance(batch)
        done_before = self._epoch * self.steps_per_epoch  # N counts optimizer steps of the run, as in HF
        global_step = done_before + step
        if (
            not crossed(done_before + previous, global_step, self.every_steps)
            or global_step >= self._total_steps
        ):
            return
        evaluation = self._evaluate()
        measured = reported_metrics(evaluation)
        self.records.append({"global_step": global_step, "epoch": self._epoch + 1, **measured})
        log.info(
            "evaluation at optimizer step %d (epoch %d step %d): %s",
            global_step,
            self._epoch + 1,
            step,
            format_metrics(measured),
        )
        if self._observe is not None:
            self._observe(evaluation, global_step, self._epoch + 1)


class StopWhenStale(keras.callbacks.Callback):
    """Ends `fit` after the step or epoch whose evaluation used up --early-stopping-patience."""

    def __init__(self, best: BestModel) -> None:
        super().__init__()
        self._best = best

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        if self._best.should_stop and not self.model.stop_training:
            self.model.stop_training = True
            log.info(
                "early stopping: %s has not improved for %d evaluations (--early-stopping-patience)",
                self._best.metric,
                self._best.evaluations_without_improvement,
            )

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self.on_train_batch_end(0)


@dataclass(frozen=True)
class Evaluating:
    """What evaluations during training need: the evaluation, where step evaluations are recorded, the
    best-model tracker and what to do for a new best (save its weights)."""

    evaluate: Callable[[], Mapping[str, Any]] | None
    records: list[dict[str, float]]
    best: BestModel | None = None
    on_best: Callable[[int], None] | None = None

    def observe(self, measured: Mapping[str, Any], global_step: int, epoch: int) -> None:
        """Show an evaluation to the tracker; a new best's weights are saved before training goes on."""
        if self.best is None:
            return
        if self.best.observe(measured, global_step=global_step, epoch=epoch) and self.on_best is not None:
            self.on_best(global_step)
        log.info("%s", self.best.describe())


def evaluation_callbacks(
    settings: TrainSettings,
    plan: RunPlan,
    evaluating: Evaluating,
    *,
    where: Callable[[], tuple[int, int]],
    announce: bool,
) -> tuple[list[Any], StepEvaluation | None]:
    """The evaluations during training (after epochs but the last, or every --eval-steps steps), each shown to
    the best-model tracker, and the early stop; and the step evaluation, if any. `where` tells (optimizer steps
    done, epoch) at an epoch's end."""
    run_evaluation, best = evaluating.evaluate, evaluating.best
    if run_evaluation is None or settings.eval_strategy == "no":
        return [], None
    stopping = [] if best is None else [StopWhenStale(best)]
    if settings.eval_strategy == "epoch":

        def evaluate() -> Mapping[str, Any]:
            measured = run_evaluation()
            evaluating.observe(measured, *where())
            return measured

        return [EpochEvaluation(evaluate, last_epoch=plan.epochs - 1, announce=announce), *stopping], None
    evaluation = StepEvaluation(
        run_evaluation,
        evaluating.records,
        steps_per_epoch=plan.steps_per_epoch,
        every_steps=settings.eval_steps or 1,
        total_steps=plan.total_steps,
        observe=evaluating.observe,
    )
    return [evaluation, *stopping], evaluation
