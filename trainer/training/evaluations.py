"""Evaluation every N optimizer steps (--eval-strategy steps --eval-steps N), within and across epochs.

Each evaluation is logged and recorded with the optimizer step it was made after; the records travel in every
checkpoint (a resumed run keeps those of the run it resumes) and end in metrics.json's "evaluations". No step
evaluation is made at the last step: the final evaluation, which always runs, measures that model.
"""

import logging
from collections.abc import Callable, Mapping
from typing import Any

from trainer.training.callbacks import _EpochSteps, crossed, format_metrics

log = logging.getLogger("trainer.progress")


def reported_metrics(evaluation: Mapping[str, Any]) -> dict[str, float]:
    """An evaluation's top-level numbers (loss, accuracy, macro_f1, ...), without its per-label tables."""
    return {
        key: float(value)
        for key, value in evaluation.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


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
    ) -> None:
        super().__init__(steps_per_epoch=steps_per_epoch, every_steps=every_steps, allow_zero=False)
        self._evaluate = evaluate
        self.records = records
        self._total_steps = total_steps

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        previous, step = self._advance(batch)
        done_before = self._epoch * self.steps_per_epoch  # N counts optimizer steps of the run, as in HF
        global_step = done_before + step
        if (
            not crossed(done_before + previous, global_step, self.every_steps)
            or global_step >= self._total_steps
        ):
            return
        measured = reported_metrics(self._evaluate())
        self.records.append({"global_step": global_step, "epoch": self._epoch + 1, **measured})
        log.info(
            "evaluation at optimizer step %d (epoch %d step %d): %s",
            global_step,
            self._epoch + 1,
            step,
            format_metrics(measured),
        )
