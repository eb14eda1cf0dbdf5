"""Settings of the problem type: what the labels are (one class, a set of classes, or a number per row), the
multi-label separator and threshold, and class weights. Shared by `trainer train`, `evaluate` and `predict`.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

ProblemType = Literal["single_label_classification", "multi_label_classification", "regression"]
"""Hugging Face's `config.problem_type` names."""
ClassWeight = Literal["balanced"]

SINGLE_LABEL: ProblemType = "single_label_classification"
MULTI_LABEL: ProblemType = "multi_label_classification"
REGRESSION: ProblemType = "regression"

EVAL_METRICS: dict[ProblemType, tuple[str, ...]] = {
    SINGLE_LABEL: ("loss", "accuracy", "f1_macro", "macro_f1"),
    MULTI_LABEL: ("loss", "f1_micro", "f1_macro", "precision_micro", "recall_micro", "subset_accuracy"),
    REGRESSION: ("loss", "mse", "rmse", "mae", "pearson", "spearman"),
}
"""The scalar metrics each problem type's evaluation reports (metrics.json `eval`), by name."""


def threshold_field() -> Any:
    return Field(
        default=0.5,
        gt=0.0,
        lt=1.0,
        description="Multi-label: a label is predicted when its sigmoid probability reaches this; precision, "
        "recall and F1 are measured at it.",
    )


def label_separator_field() -> Any:
    return Field(
        default=None,
        min_length=1,
        description="Multi-label: the label column holds several labels in one string split at this separator "
        "(e.g. '|' for 'sports|weather'); an empty value is a row without labels. JSON Lines and Parquet "
        "columns of lists need no separator.",
    )


class ProblemArguments(BaseModel):
    """What the labels are: one class per row, a set of classes per row, or a number."""

    problem_type: ProblemType | None = Field(
        default=None,
        description="single_label_classification, multi_label_classification (sigmoid outputs, binary "
        "cross-entropy) or regression (one output, mean squared error). Default: from the label column: lists "
        "or --label-separator make it multi-label, non-integer numbers regression, anything else single-label.",
    )
    label_separator: str | None = label_separator_field()
    threshold: float = threshold_field()
    class_weight: ClassWeight | None = Field(
        default=None,
        description="balanced: weight each single-label class's loss by rows / (classes x its rows) in the "
        "training data, so rare classes count as much as common ones (scikit-learn's 'balanced').",
    )

    @model_validator(mode="after")
    def _problem_options_agree(self) -> "ProblemArguments":
        kind = self.problem_type
        if self.label_separator is not None and kind not in (None, MULTI_LABEL):
            raise ValueError(
                f"--label-separator splits multi-label labels, but --problem-type is {kind}: drop one of them"
            )
        if self.class_weight is not None and (kind not in (None, SINGLE_LABEL) or self.label_separator):
            other = "--label-separator" if self.label_separator else f"--problem-type {kind}"
            raise ValueError(
                f"--class-weight balanced weighs the classes of single-label classification, not {other}: "
                "drop one of them"
            )
        return self
