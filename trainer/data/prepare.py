"""The training run's inputs, made ready: the data located and its splits chosen, the base model fetched, its
tokenizer loaded, the training (and evaluation) rows read and tokenized once into token files, the label map
given, declared (`ClassLabel`) or inferred, the evaluation rows read or split off, the sample limits applied.
No TensorFlow.

Splits (of a DatasetDict folder or a `--dataset-name` dataset): training takes --train-split (default `train`);
evaluation takes --eval-split of --eval-data if given, else of the training data (default `validation`, then
`test`); without one, or when --eval-fraction is given, that fraction of the training rows is held out. The log
says which.
"""

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from trainer.data.encode import LabelEncoder, Tokenizing, encode_source
from trainer.data.fetch import load_tokenizer, resolve_model
from trainer.data.labels import LabelCollector, LabelMap, balanced_weights, declared_label_map, split_for_eval
from trainer.data.rows import RowSource
from trainer.data.sources import DataSpec, choose_split, open_collection
from trainer.data.tokens import Encoded
from trainer.distribute.plan import effective_max_length
from trainer.errors import UsageError
from trainer.settings.data import HubDatasetArguments
from trainer.settings.problem import MULTI_LABEL, REGRESSION, SINGLE_LABEL
from trainer.settings.train import TrainSettings
from trainer.storage import Storage

log = logging.getLogger(__name__)

SOURCES = {"train": "training data", "eval": "evaluation data"}
"""How messages name each split's data."""

TRAIN_SPLITS = ("train",)
EVAL_SPLITS = ("validation", "test")
"""The splits taken by default, in order of preference."""


@dataclass(frozen=True)
class TrainingInputs:
    train: DataSpec
    eval: DataSpec | None
    """None: the evaluation rows come from the training data (its evaluation split, or --eval-fraction)."""

    @classmethod
    def parse(cls, settings: TrainSettings) -> "TrainingInputs":
        train = DataSpec.parse(settings.train_data, "--train-data", settings)
        if settings.eval_data is None:
            return cls(train, None)
        return cls(train, DataSpec.parse(settings.eval_data, "--eval-data", HubDatasetArguments()))


@dataclass(frozen=True)
class Sources:
    train: RowSource
    eval: RowSource | None
    """None: split off the training rows (--eval-fraction)."""


def open_sources(settings: TrainSettings, storage: Storage, inputs: TrainingInputs, work: Path) -> Sources:
    """The training and evaluation rows' sources, their splits chosen first (and logged); nothing is read yet."""
    training = open_collection(inputs.train, storage, work / "train", settings.data_format)
    split = choose_split(training, settings.train_split, TRAIN_SPLITS, "--train-split")
    fix = "pick a labelled split with --eval-split"
    if inputs.eval is not None:
        evaluation = open_collection(inputs.eval, storage, work / "eval", settings.data_format)
        eval_split = choose_split(evaluation, settings.eval_split, EVAL_SPLITS, "--eval-split")
    else:
        evaluation, eval_split = training, None
        # An explicit --eval-fraction holds out training rows whatever splits there are.
        if settings.eval_split is not None or "eval_fraction" not in settings.model_fields_set:
            eval_split = choose_split(
                training, settings.eval_split, EVAL_SPLITS, "--eval-split", required=False, lone=False
            )
            fix += ", or hold out training rows with --eval-fraction"
    if split is not None:
        how = "--train-split" if settings.train_split else "by default train; --train-split picks another"
        log.info(
            "train data: split '%s' of %s (%s; splits: %s)",
            split,
            training.what,
            how,
            ", ".join(training.splits),
        )
    train = training.source(split, "pick a labelled split with --train-split")
    if inputs.eval is None and eval_split is None:
        log.info("evaluation data: --eval-fraction %g of the training rows, held out", settings.eval_fraction)
        return Sources(train, None)
    if eval_split is not None:
        how = (
            "--eval-split"
            if settings.eval_split
            else "by default validation, else test; --eval-split picks another"
        )
        log.info("evaluation data: split '%s' of %s (%s)", eval_split, evaluation.what, how)
    return Sources(train, evaluation.source(eval_split, fix))


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
    work: Path
    tokenizer: Any
    max_length: int
    record: ReadRecord

    def read(
        self, rows: RowSource, split: str, encode_labels: LabelEncoder, limit: int | None = None
    ) -> Encoded:
        how = Tokenizing(self.settings, self.tokenizer, self.max_length, encode_labels, SOURCES[split])
        encoded = encode_source(rows, how, self.work / split / "tokens", limit=limit)
        self.record.data[split] = rows.record
        log.info("%s data: %d rows from %s", split, len(encoded), rows.describe())
        return encoded


def prepare_training_data(
    settings: TrainSettings, storage: Storage, inputs: TrainingInputs, work: Path, record: ReadRecord
) -> Prepared:
    """Locate the data (a mistake there fails before the model is fetched), fetch the model; tokenize the data
    once, streamed into token files; labels, eval split, limits."""
    sources = open_sources(settings, storage, inputs, work)
    model_path, record.model_source = resolve_model(
        settings.model, storage, work / "base-model", settings.model_revision
    )
    tokenizer = load_tokenizer(model_path, settings.model_revision)
    max_length = effective_max_length(settings.max_length, tokenizer)
    started = time.perf_counter()
    reader = _SplitReader(settings, work, tokenizer, max_length, record)
    train, labels = _training_rows(settings, reader, sources)
    if sources.eval is not None:
        evaluation = reader.read(sources.eval, "eval", labels.encoder(), settings.max_eval_samples)
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
    settings: TrainSettings, reader: _SplitReader, sources: Sources
) -> tuple[Encoded, LabelMap]:
    """The training rows and the label map: --labels, else the names a ClassLabel column declares, else every
    label the training data holds, sorted (or a regression's scores)."""
    # When the evaluation rows come from elsewhere, --max-train-samples means the first N rows: no need to read the
    # rest. Without them, the stratified split needs every row first.
    limit = settings.max_train_samples if sources.eval is not None else None
    kind = settings.problem_type or (MULTI_LABEL if settings.label_separator else None)
    declared = sources.train.class_labels.get(settings.label_column)
    if kind == REGRESSION or settings.labels or declared:
        if kind == REGRESSION:
            labels = LabelMap.regression()
        elif settings.labels:
            labels = LabelMap(tuple(settings.labels), kind or SINGLE_LABEL)
        else:
            labels = declared_label_map(declared or (), sources.train.what)
            log.info("labels: the ClassLabel names of column '%s', in their order", settings.label_column)
        return reader.read(sources.train, "train", labels.encoder(), limit), labels
    collector = LabelCollector(kind)
    train = reader.read(sources.train, "train", collector, limit)
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
