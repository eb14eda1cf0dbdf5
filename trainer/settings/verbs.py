"""Typed settings of `trainer evaluate`, `trainer predict` and `trainer export`.

Same conventions as `TrainSettings`: every option is a kebab-case flag and a `TRAINER_<NAME>` variable, and the
options shared with training (text columns, data format, batch size, max length, CPU replicas, output, overwrite,
work dir) reuse its field definitions and validators so the flags mean exactly the same thing.
"""

from pathlib import Path

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings

from trainer.settings.data import (
    DataArguments,
    DataFormat,
    HubDatasetArguments,
    distinct_columns,
    not_both,
    required_unless_dataset,
)
from trainer.settings.grammar import OptionalStrList, StrList
from trainer.settings.problem import label_separator_field, threshold_field
from trainer.settings.shared import ConfigFileArguments, output_field, overwrite_field, settings_config
from trainer.settings.train import ModelArguments, OutputArguments, TrainingArguments

_DATA = DataArguments.model_fields
_MODEL = ModelArguments.model_fields
_TRAINING = TrainingArguments.model_fields
_OUTPUT = OutputArguments.model_fields

DEFAULT_CHUNK_ROWS = 10_000
"""Rows predict reads, tokenizes and runs at a time: bounds memory whatever the input size."""


class ArtifactArguments(BaseModel):
    model: str = Field(
        description="Trained artifact: the model/ folder of a training run (or the run's output, which holds "
        "model/), an s3:// prefix or a local folder."
    )
    max_length: int = _MODEL["max_length"]
    per_replica_batch_size: int = _TRAINING["per_replica_batch_size"]
    cpu_replicas: int = _TRAINING["cpu_replicas"]


class InputArguments(HubDatasetArguments):
    data: str | None = Field(
        default=None,
        validate_default=True,
        description="Input data: s3://bucket/key, an s3:// prefix of shards, or a local file or folder, in CSV, "
        "TSV, JSON Lines or Parquet (optionally .gz/.bz2/.zst); or a datasets save_to_disk folder, local or "
        "under an s3:// prefix. Or --dataset-name.",
    )
    split: str | None = Field(
        default=None,
        description="The split of a DatasetDict folder or a --dataset-name dataset. Default: evaluate takes "
        "validation, else test; predict takes test, else validation; either takes a lone split.",
    )
    text_column: StrList = _DATA["text_column"]
    data_format: DataFormat = _DATA["data_format"]

    @field_validator("text_column")
    @classmethod
    def _distinct_columns(cls, value: list[str]) -> list[str]:
        return distinct_columns(value)

    @field_validator("data")
    @classmethod
    def _data_or_dataset(cls, value: str | None, info: ValidationInfo) -> str | None:
        return required_unless_dataset(value, info)

    @model_validator(mode="after")
    def _one_input_source(self) -> "InputArguments":
        not_both(self.data, "--data", self.dataset_name)
        self.check_hub_options()
        return self


class VerbOutputArguments(ConfigFileArguments):
    output: str = output_field("results")
    overwrite: bool = overwrite_field("Run and publish again", "a completed result")
    work_dir: Path = _OUTPUT["work_dir"]


class EvaluateSettings(VerbOutputArguments, InputArguments, ArtifactArguments, BaseSettings):
    """Measure a trained artifact on labelled data: loss, accuracy, macro F1, per-class metrics, confusion matrix
    (multi-label: micro/macro F1, per-label precision/recall; regression: MSE, RMSE, Pearson, Spearman)."""

    model_config = settings_config("trainer evaluate")

    label_column: str = _DATA["label_column"]
    label_separator: str | None = label_separator_field()
    threshold: float = threshold_field()


class PredictSettings(VerbOutputArguments, InputArguments, ArtifactArguments, BaseSettings):
    """Batch inference over a file or prefix of any size, streamed; one JSON Lines output shard per input shard."""

    model_config = settings_config("trainer predict")

    all_probabilities: bool = Field(
        default=False,
        description="Single-label: also write every class's probability (`probabilities`: {label: p}).",
    )
    threshold: float = threshold_field()
    keep_column: OptionalStrList = Field(
        default=None,
        description="Input column to copy into each output row (repeat the flag; e.g. an id). "
        "Default: the text column(s).",
    )
    chunk_rows: int = Field(
        default=DEFAULT_CHUNK_ROWS,
        gt=0,
        le=1_000_000,
        description="Rows read, tokenized and predicted at a time (memory stays flat whatever the input size).",
    )

    @property
    def kept_columns(self) -> list[str]:
        return list(self.text_column if self.keep_column is None else self.keep_column)


class ExportSettings(VerbOutputArguments, BaseSettings):
    """Write a TensorFlow SavedModel with a serving signature, plus the tokenizer files and labels beside it."""

    model_config = settings_config("trainer export")

    model: str = ArtifactArguments.model_fields["model"]
