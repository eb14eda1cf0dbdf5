"""Typed settings of where a verb's rows come from: table files, a 🤗 Datasets `save_to_disk` folder, or a Hub
dataset read through `datasets.load_dataset`, and the columns and splits to take from them.

The Hub options carry Hugging Face's names (`--dataset-name`, `--dataset-config-name`, `--dataset-revision`, as in
transformers' example scripts). TF-free and datasets-free: the launcher checks these settings before it submits.
"""

from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from trainer.settings.grammar import StrList

DataFormat = Literal["auto", "csv", "tsv", "jsonl", "parquet"]


class HubDatasetArguments(BaseModel):
    dataset_name: str | None = Field(
        default=None,
        description="A dataset read through datasets.load_dataset and streamed into the token files: a Hugging "
        "Face Hub id (imdb, glue, user/name; needs network access to huggingface.co) or a local dataset "
        "folder. Instead of a data location.",
    )
    dataset_config_name: str | None = Field(
        default=None, description="The configuration of --dataset-name (glue: sst2)."
    )
    dataset_revision: str | None = Field(
        default=None,
        description="Branch, tag or commit of the --dataset-name Hub dataset; resolved to a commit that every "
        "split is read at and run.json records. Default: the main branch.",
    )

    def check_hub_options(self) -> None:
        """The Hub options need --dataset-name."""
        given = [
            flag
            for flag, value in (
                ("--dataset-config-name", self.dataset_config_name),
                ("--dataset-revision", self.dataset_revision),
            )
            if value is not None
        ]
        if self.dataset_name is None and given:
            verb, it = ("applies", "it") if len(given) == 1 else ("apply", "them")
            raise ValueError(
                f"{' and '.join(given)} {verb} only with --dataset-name: name the dataset, or drop {it}"
            )


def required_unless_dataset(location: str | None, info: ValidationInfo) -> str | None:
    """The location flag is required unless --dataset-name names the rows (validated before it)."""
    if location is None and info.data.get("dataset_name") is None:
        raise PydanticCustomError("missing", "Field required")  # reported like any missing flag
    return location


def not_both(location: str | None, flag: str, dataset_name: str | None) -> None:
    """Rows come from the location flag or --dataset-name, not both."""
    if location is not None and dataset_name is not None:
        raise ValueError(
            f"{flag} and --dataset-name exclude each other: name files or a save_to_disk folder with {flag}, "
            "or a dataset for datasets.load_dataset with --dataset-name"
        )


def distinct_columns(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("the two --text-column values must differ")
    if any(not column for column in value):
        raise ValueError("--text-column must not be empty")
    return value


class DataArguments(HubDatasetArguments):
    train_data: str | None = Field(
        default=None,
        validate_default=True,
        description="Training data: s3://bucket/key, an s3:// prefix of shards, or a local file or folder, in "
        "CSV, TSV, JSON Lines or Parquet; or a datasets save_to_disk folder (a Dataset or a DatasetDict), "
        "local or under an s3:// prefix. Or --dataset-name.",
    )
    train_split: str | None = Field(
        default=None,
        description="The split to train on, of a DatasetDict folder or a --dataset-name dataset. Default: train.",
    )
    eval_data: str | None = Field(
        default=None,
        description="Evaluation data, same forms as --train-data. Default: the evaluation split of the training "
        "data, else split off the training rows.",
    )
    eval_split: str | None = Field(
        default=None,
        description="The split to evaluate on (of --eval-data if given, else of the training data). Default: "
        "validation, else test; with neither, --eval-fraction of the training rows.",
    )
    eval_fraction: float = Field(
        default=0.1,
        gt=0.0,
        lt=1.0,
        description="Fraction of the training rows held out for evaluation when there is no --eval-data and "
        "no evaluation split (fixed --seed, stratified by label).",
    )
    text_column: StrList = Field(
        default=["text"],
        min_length=1,
        max_length=2,
        description="Text column; repeat it for sentence pairs (e.g. --text-column '#1 String' --text-column "
        "'#2 String'). Not read from pre-tokenized data (rows with input_ids).",
    )
    label_column: str = Field(
        default="label",
        min_length=1,
        description="Label column (integers, strings, or a datasets ClassLabel, whose names give the labels).",
    )
    data_format: DataFormat = Field(
        default="auto", description="File format; auto picks it from the file extension."
    )
    max_train_samples: int | None = Field(
        default=None,
        gt=0,
        description="Use only the first N training rows (after the eval split), for quick runs. When the "
        "evaluation rows come from elsewhere only those rows are read.",
    )
    max_eval_samples: int | None = Field(
        default=None, gt=0, description="Use only the first N evaluation rows, for quick runs."
    )
    keep_in_memory: bool | None = Field(
        default=None,
        description="The data is tokenized chunk by chunk into token files on scratch disk. --keep-in-memory "
        "copies the token ids into memory for training; --no-keep-in-memory reads each batch's rows from the "
        "memory-mapped files (data larger than memory). Default: in memory when they take at most a quarter of "
        "the container's memory limit.",
    )

    @field_validator("text_column")
    @classmethod
    def _distinct_columns(cls, value: list[str]) -> list[str]:
        return distinct_columns(value)

    @field_validator("train_data")
    @classmethod
    def _train_data_or_dataset(cls, value: str | None, info: ValidationInfo) -> str | None:
        return required_unless_dataset(value, info)

    @model_validator(mode="after")
    def _one_training_source(self) -> "DataArguments":
        not_both(self.train_data, "--train-data", self.dataset_name)
        self.check_hub_options()
        return self
