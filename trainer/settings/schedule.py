"""Settings of `trainer train` that decide when the optimizer steps, evaluates, checkpoints and stops, under
Hugging Face Trainer's names: gradient accumulation, step budgets, clipping, the evaluation and save strategies,
the best model and early stopping.

Every default keeps the behaviour from before these options existed, so a checkpoint written then still resumes
(`training.checkpoints.fingerprint_for` adds a key only for a value set away from its default).
"""

from typing import Literal

from pydantic import BaseModel, Field, model_validator

Strategy = Literal["epoch", "steps", "no"]

DEPRECATED_SETTINGS = {"checkpoint_every_steps": "save_steps", "keep_checkpoints": "save_total_limit"}
"""Spellings from before Hugging Face's names: flag, `TRAINER_*` variable and config key still work, with a warning."""

LOWER_IS_BETTER = ("loss", "mse", "rmse", "mae", "error")
"""A --metric-for-best-model naming one of these (or ending in _ and one) is better when lower."""


class ScheduleArguments(BaseModel):
    gradient_accumulation_steps: int = Field(
        default=1,
        ge=1,
        le=1024,
        description="Micro-batches per optimizer step: each step averages the gradients of N global batches, "
        "so the effective batch is N times the global batch (a paper's batch size on fewer GPUs). Steps, the "
        "learning-rate schedule, progress, evaluation and checkpoints count optimizer steps.",
    )
    max_steps: int | None = Field(
        default=None,
        gt=0,
        description="Train exactly this many optimizer steps (overrides --epochs; the last epoch may be partial).",
    )
    max_grad_norm: float | None = Field(
        default=None,
        gt=0.0,
        description="Clip the gradients to this global L2 norm before each optimizer step (Hugging Face's "
        "default is 1.0; ours: no clipping).",
    )
    eval_strategy: Strategy = Field(
        default="epoch",
        description="epoch: evaluate after every epoch (validation curves); steps: every --eval-steps optimizer "
        "steps; no: only once, after training. The final evaluation always runs.",
    )
    eval_steps: int | None = Field(
        default=None, gt=0, description="With --eval-strategy steps: evaluate every N optimizer steps."
    )
    save_strategy: Strategy = Field(
        default="steps",
        description="When to checkpoint: steps: every --save-steps optimizer steps and at every epoch end; "
        "epoch: at epoch ends only; no: never (but a SIGTERM still saves one, so a preempted run resumes). "
        "Checkpoints go to <output>/checkpoints/ and a rerun with the same output resumes from the newest.",
    )
    save_steps: int = Field(
        default=200,
        ge=0,
        description="With --save-strategy steps: also checkpoint every N optimizer steps within an epoch (0: only "
        "at epoch ends). Formerly --checkpoint-every-steps.",
    )
    save_total_limit: int = Field(
        default=2,
        ge=1,
        le=100,
        description="How many complete checkpoints to keep. Formerly --keep-checkpoints.",
    )

    metric_for_best_model: str | None = Field(
        default=None,
        description="The evaluation metric that picks the best model and drives early stopping: any metric the "
        "evaluation reports (accuracy, macro_f1, loss, ...; an eval_ prefix is optional). Default: loss when "
        "--load-best-model-at-end or --early-stopping-patience is given.",
    )
    greater_is_better: bool | None = Field(
        default=None,
        description="Whether a higher --metric-for-best-model is better. Default: from its name, lower for losses "
        "and errors (loss, mse, rmse, mae), higher for the rest.",
    )
    load_best_model_at_end: bool = Field(
        default=False,
        description="Publish the weights of the best evaluation (by --metric-for-best-model) as model/, not the "
        "last ones; metrics.json says which step they came from. The best weights are uploaded under "
        "<output>/checkpoints/best-<step>/ when measured, so they survive a preemption.",
    )
    early_stopping_patience: int | None = Field(
        default=None,
        ge=1,
        le=10000,
        description="Stop training when --metric-for-best-model has not improved for N evaluations in a row.",
    )

    @model_validator(mode="after")
    def _steps_need_their_strategy(self) -> "ScheduleArguments":
        if self.eval_strategy == "steps" and self.eval_steps is None:
            raise ValueError("--eval-strategy steps needs --eval-steps N")
        if self.eval_steps is not None and self.eval_strategy != "steps":
            raise ValueError("--eval-steps needs --eval-strategy steps")
        if self.eval_strategy == "no":
            for name, given in self._best_model_flags().items():
                if given:
                    raise ValueError(
                        f"{name} needs evaluations during training: --eval-strategy epoch or steps"
                    )
        return self

    def _best_model_flags(self) -> dict[str, bool]:
        return {
            "--load-best-model-at-end": self.load_best_model_at_end,
            "--early-stopping-patience": self.early_stopping_patience is not None,
            "--metric-for-best-model": self.metric_for_best_model is not None,
        }

    @property
    def tracks_best_model(self) -> bool:
        """Whether the run follows the best evaluation (for the published model, early stopping or the record)."""
        return any(self._best_model_flags().values())

    @property
    def best_metric(self) -> str:
        """--metric-for-best-model as given (default: loss)."""
        return self.metric_for_best_model or "loss"

    @property
    def best_is_greater(self) -> bool:
        """--greater-is-better, else from the metric's name."""
        if self.greater_is_better is not None:
            return self.greater_is_better
        name = self.best_metric.lower()
        return not any(name == word or name.endswith("_" + word) for word in LOWER_IS_BETTER)

    @property
    def save_every_steps(self) -> int:
        """Optimizer steps between checkpoints within an epoch; 0: none (epoch ends only, or no strategy)."""
        return self.save_steps if self.save_strategy == "steps" else 0
