"""The training run's inputs, made ready: the base model fetched, its tokenizer loaded, the training (and evaluation)
data read and tokenized once into token files, the label map given or inferred, the evaluation rows read or split
off, the sample limits applied. No TensorFlow.
"""

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from trainer.data.encode import LabelEncoder, Tokenizing
from trainer.data.fetch import load_tokenizer, read_data, resolve_model
from trainer.data.labels import LabelCollector, LabelMap, balanced_weights, split_for_eval
from trainer.data.tokens import Encoded
from trainer.distribute.plan import effective_max_length
from trainer.errors import UsageError
from trainer.settings.problem import MULTI_LABEL, REGRESSION, SINGLE_LABEL
from trainer.settings.train import TrainSettings
from trainer.storage import Location, Storage

log = logging.getLogger(__name__)

SOURCES = {"train": "training data", "eval": "evaluation data"}
"""How messages name each split's data."""


@dataclass(frozen=True)
class TrainingInputs:
    train: Location
    eval: Location | None
    """None: the evaluation rows are split off the training data (--eval-fraction)."""

    @classmethod
    def parse(cls, settings: TrainSettings) -> "TrainingInputs":
        train = Location.parse(settings.train_data)
        return cls(train, Location.parse(settings.eval_data) if settings.eval_data else None)


class ReadRecord(Protocol):
    """Where what was read is noted for run.json (`RunRecord`), as soon as it is read: a run that fails later
    still records it."""

    model_source: dict[str, Any]
    data: dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Prepared:
    """Everything training needs from the inputs: the base model, tokenizer, label map and the token ids."""

    model_path: Path | str
    tokenizer: Any
    labels: LabelMap
    train: Encoded
    eval: Encoded
    max_length: int
    class_weights: tuple[float, ...] | None = None
    """--class-weight balanced: each class's loss weight, in label id order."""

    @property
    def token_bytes(self) -> int:
        """The token files' size (the eval rows share the training files when split off them)."""
        shared = self.eval.input_ids is self.train.input_ids
        return self.train.token_bytes + (0 if shared else self.eval.token_bytes)


@dataclass(frozen=True)
class _SplitReader:
    settings: TrainSettings
    storage: Storage
    work: Path
    tokenizer: Any
    max_length: int
    record: ReadRecord

    def read(
        self, uri: Location, split: str, encode_labels: LabelEncoder, limit: int | None = None
    ) -> Encoded:
        how = Tokenizing(self.settings, self.tokenizer, self.max_length, encode_labels, SOURCES[split])
        read = read_data(uri, self.storage, self.work / split, f"--{split}-data", how, limit)
        self.record.data[split] = read.record
        log.info("%s data: %d rows from %d file(s) under %s", split, len(read.encoded), read.files, uri)
        return read.encoded


def prepare_training_data(
    settings: TrainSettings, storage: Storage, inputs: TrainingInputs, work: Path, record: ReadRecord
) -> Prepared:
    """Fetch the model and data; tokenize the data once, streamed into token files; labels, eval split, limits."""
    model_path, record.model_source = resolve_model(settings.model, storage, work / "base-model")
    tokenizer = load_tokenizer(model_path)
    max_length = effective_max_length(settings.max_length, tokenizer)
    started = time.perf_counter()
    reader = _SplitReader(settings, storage, work, tokenizer, max_length, record)
    train, labels = _training_rows(settings, reader, inputs)
    if inputs.eval is not None:
        evaluation = reader.read(inputs.eval, "eval", labels.encoder(), settings.max_eval_samples)
    else:
        strata = train.labels if labels.problem_type == SINGLE_LABEL else np.zeros(len(train), np.int32)
        train_rows, eval_rows = split_for_eval(strata, settings.eval_fraction, settings.seed)
        train, evaluation = train.take(train_rows), train.take(eval_rows)
    train = _first(train, settings.max_train_samples)
    evaluation = _first(evaluation, settings.max_eval_samples)
    log.info(
        "data: %d training rows, %d evaluation rows, %s; read and tokenized in %.1fs (max length %d)",
        len(train),
        len(evaluation),
        labels.describe(),
        time.perf_counter() - started,
        max_length,
    )
    return Prepared(
        model_path, tokenizer, labels, train, evaluation, max_length, _class_weights(settings, train, labels)
    )


def _training_rows(
    settings: TrainSettings, reader: _SplitReader, inputs: TrainingInputs
) -> tuple[Encoded, LabelMap]:
    """The training rows and the label map: --labels, else every label the training data holds, sorted (or a
    regression's scores)."""
    # With --eval-data, --max-train-samples means the first N rows: no need to read the rest. Without it, the
    # stratified split needs every row first.
    limit = settings.max_train_samples if inputs.eval is not None else None
    kind = settings.problem_type or (MULTI_LABEL if settings.label_separator else None)
    if kind == REGRESSION or settings.labels:
        labels = (
            LabelMap.regression()
            if kind == REGRESSION
            else LabelMap(tuple(settings.labels), kind or SINGLE_LABEL)
        )
        return reader.read(inputs.train, "train", labels.encoder(), limit), labels
    collector = LabelCollector(kind)
    train = reader.read(inputs.train, "train", collector, limit)
    labels = collector.label_map()
    return collector.relabel(train, labels), labels


def _class_weights(settings: TrainSettings, train: Encoded, labels: LabelMap) -> tuple[float, ...] | None:
    """--class-weight balanced: the weights of the training rows' classes (logged); None without the flag."""
    if settings.class_weight is None:
        return None
    if labels.problem_type != SINGLE_LABEL:
        raise UsageError(
            f"--class-weight balanced weighs the classes of single-label classification, but the labels make "
            f"this {labels.describe()}: drop --class-weight or pass --problem-type single_label_classification"
        )
    weights = balanced_weights(train.labels, len(labels))
    shown = {name: round(weight, 4) for name, weight in zip(labels.names, weights, strict=True)}
    log.info("--class-weight balanced: %s", shown)
    return weights


def _first(rows: Encoded, limit: int | None) -> Encoded:
    """The first `limit` rows (all without a limit)."""
    return rows.take(range(min(limit, len(rows)))) if limit else rows
