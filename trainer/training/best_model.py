"""The best evaluation of a run (--metric-for-best-model) and early stopping (--early-stopping-patience): pure.

The metric is looked up by name among the numbers the evaluation reports, whatever the problem type, so a metric
(mse, pearson, ...) is accepted as soon as the evaluation reports it. The tracker's state travels in every
checkpoint's meta.json, so a resumed run continues with the best-so-far (and its step) of the run it resumes.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from trainer.errors import UsageError
from trainer.settings.problem import EVAL_METRICS, ProblemType

EVAL_PREFIX = "eval_"
SYNONYMS = {"f1_macro": "macro_f1", "f1_micro": "micro_f1"}
"""Hugging Face examples' spellings of metrics the evaluation may name the other way round."""


def reported_metrics(evaluation: Mapping[str, Any]) -> dict[str, float]:
    """An evaluation's top-level numbers (loss, accuracy, macro_f1, ...), without its per-label tables."""
    return {
        key: float(value)
        for key, value in evaluation.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def resolve_metric(name: str, evaluation: Mapping[str, Any]) -> str:
    """The key of `evaluation` that --metric-for-best-model `name` means; a UsageError naming the choices if none."""
    available = reported_metrics(evaluation)
    bare = name.removeprefix(EVAL_PREFIX)
    for candidate in (name, bare, SYNONYMS.get(bare, bare)):
        if candidate in available:
            return candidate
    raise UsageError(
        f"--metric-for-best-model {name}: this run's evaluation reports {', '.join(sorted(available))}; "
        "choose one of those"
    )


def metric_for_problem(name: str, problem_type: ProblemType) -> str:
    """`resolve_metric` against the metrics a `problem_type` evaluation reports, before training starts."""
    return resolve_metric(name, dict.fromkeys(EVAL_METRICS[problem_type], 0.0))


@dataclass
class BestModel:
    """The best value of `metric` so far, where it was measured, and how many evaluations since it improved."""

    metric: str
    greater_is_better: bool
    patience: int | None = None
    value: float | None = None
    global_step: int | None = None
    epoch: int | None = None
    """The epoch (1-based) the best evaluation was made in."""
    evaluation: dict[str, Any] | None = None
    """The whole best evaluation: what metrics.json reports when its weights are published."""
    evaluations_without_improvement: int = 0
    last_step: int | None = None

    def observe(self, evaluation: Mapping[str, Any], *, global_step: int, epoch: int) -> bool:
        """Count an evaluation made after `global_step` optimizer steps, in (1-based) `epoch`; whether it is the
        new best. The same step evaluated again (the final evaluation after a step evaluation) is not counted."""
        if global_step == self.last_step:
            return False
        self.last_step = global_step
        value = reported_metrics(evaluation)[self.metric]
        better = self.value is None or (value > self.value if self.greater_is_better else value < self.value)
        if better:
            self.value, self.global_step, self.epoch = value, global_step, epoch
            self.evaluation = dict(evaluation)
            self.evaluations_without_improvement = 0
        else:
            self.evaluations_without_improvement += 1
        return better

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.evaluations_without_improvement >= self.patience

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: Mapping[str, Any], *, patience: int | None) -> "BestModel":
        """The tracker a checkpoint stored; the patience as given now."""
        return cls(**{**saved, "patience": patience})

    def summary(self, *, loaded: bool) -> dict[str, Any]:
        """metrics.json's "best_model": the metric, its best value, where, and whether model/ holds those weights."""
        return {
            "metric": self.metric,
            "greater_is_better": self.greater_is_better,
            "value": self.value,
            "global_step": self.global_step,
            "epoch": self.epoch,
            "loaded_at_end": loaded,
            "stopped_early": self.should_stop,
        }

    def describe(self) -> str:
        """The log's account of the last evaluation."""
        best = f"best {self.metric}={self.value:.4f} at optimizer step {self.global_step}"
        if self.global_step == self.last_step:
            return f"new {best}"
        waited = f"{self.evaluations_without_improvement} evaluation(s) without improvement"
        return f"{best}; {waited}" + (f" of {self.patience} allowed" if self.patience else "")


def tracker_for(
    metric: str, *, greater_is_better: bool, patience: int | None, saved: Mapping[str, Any] | None
) -> BestModel:
    """A new tracker of `metric`, or the one a resumed checkpoint `saved`."""
    if saved:
        return BestModel.from_dict(saved, patience=patience)
    return BestModel(metric, greater_is_better, patience)
