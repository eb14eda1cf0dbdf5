"""Labels: the label map (names in id order, and the problem type), label collection while the data streams in,
and the evaluation split. Everything works on per-row label ids and plain values: no TensorFlow, no I/O.

Single-label rows carry a label id; a regression's rows their score (float32); multi-label rows a multi-hot row
(uint8, one column per label).
"""

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from trainer.data.tokens import Encoded
from trainer.errors import DataError
from trainer.settings.problem import MULTI_LABEL, REGRESSION, SINGLE_LABEL, ProblemType

log = logging.getLogger(__name__)

Label = str | list[str]
"""One row's label as read: a name or a number as text, or a multi-label row's list of names."""
KnownAs = Literal["training", "model"]
UNKNOWN_LABELS: dict[KnownAs, str] = {
    "training": "{source} has {count} label(s) not in the training labels {names}: {shown}; fix the data or pass "
    "the full set with --labels",
    "model": "{source} has {count} label(s) the model was not trained on: {shown}; the model's labels are "
    "{names}: fix --label-column or the data",
}
"""What an unknown label is reported as: outside the labels being trained, or unknown to a trained model."""

SCORE = "score"
"""A regression's one output, as named in the model config, labels.json and predictions."""


@dataclass(frozen=True)
class LabelMap:
    """Label names in id order and the problem type; `id2label`/`label2id`/`problem_type` are what the model
    config stores. A regression has one name, `score`."""

    names: tuple[str, ...]
    problem_type: ProblemType = SINGLE_LABEL

    @classmethod
    def regression(cls) -> "LabelMap":
        return cls((SCORE,), REGRESSION)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def __len__(self) -> int:
        return len(self.names)

    def describe(self) -> str:
        """For the log: `3 labels ['a', 'b', 'c']`, `multi-label, 3 labels [...]` or `a regression (one score)`."""
        if self.problem_type == REGRESSION:
            return "a regression (one score)"
        text = f"{len(self)} labels {list(self.names)}"
        return f"multi-label, {text}" if self.problem_type == MULTI_LABEL else text

    def encode(self, labels: Sequence[Label], *, source: str, known_as: KnownAs = "training") -> np.ndarray:
        """Label names to ids; a label outside the map is a DataError naming the source, a few of the strangers
        and the labels there are (`known_as`: the map is the training labels, or a trained model's). A
        regression's labels become their float32 scores, a multi-label row's label list its multi-hot row (uint8
        [rows, labels]; a plain string is a list of one)."""
        if self.problem_type == REGRESSION:
            return scores(labels, source)
        multi = self.problem_type == MULTI_LABEL
        rows = [label if isinstance(label, list) else [label] for label in labels] if multi else None
        if not multi and any(isinstance(label, list) for label in labels):
            raise DataError(
                f"{source} has rows with a list of labels: a row with several labels needs "
                "--problem-type multi_label_classification"
            )
        mapping = self.label2id
        every = (name for row in rows for name in row) if rows is not None else labels
        unknown = sorted({label for label in every if label not in mapping})
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise DataError(
                UNKNOWN_LABELS[known_as].format(
                    source=source, count=len(unknown), shown=shown, names=list(self.names)
                )
            )
        if rows is not None:
            hot = np.zeros((len(rows), len(self.names)), dtype=np.uint8)
            for i, row in enumerate(rows):
                hot[i, [mapping[name] for name in row]] = 1
            return hot
        return np.fromiter((mapping[label] for label in labels), dtype=np.int32, count=len(labels))

    def encoder(self, known_as: KnownAs = "training") -> Callable[[Sequence[Label], str], np.ndarray]:
        """`encode` as the label encoder the data readers call with (names, source)."""
        return lambda labels, source: self.encode(labels, source=source, known_as=known_as)


def _number(text: Label) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def scores(labels: Sequence[Label], source: str) -> np.ndarray:
    """Regression labels as float32; a label that is not a finite number is a DataError naming it."""
    values = [_number(label) for label in labels]
    bad = [label for label, value in zip(labels, values, strict=True) if value is None]
    if bad:
        raise DataError(
            f"{source} has {len(bad)} label(s) that are not numbers: {', '.join(repr(b) for b in bad[:5])}; "
            "a regression needs a numeric label column: fix the data, --label-column or --problem-type"
        )
    return np.asarray(values, dtype=np.float32)


def is_continuous(names: Sequence[str]) -> bool:
    """Whether distinct labels read as a regression's scores: all numbers, one at least not an integer (integer-
    valued floats such as 1.0 stay class labels)."""
    numbers = [value for value in map(_number, names) if value is not None]
    return bool(names) and len(numbers) == len(names) and any(not v.is_integer() for v in numbers)


class LabelCollector:
    """Labels of a data set whose label set is not known yet. Each call returns the chunk's row numbers and keeps
    every row's label ids (in order of first appearance); `label_map` then decides the label map (a multi-label
    one when a row held a list or `problem_type` says so, a regression when the labels are non-integer numbers
    or `problem_type` says so, else the sorted classes) and `relabel` turns row numbers into that map's ids,
    scores or multi-hot rows."""

    def __init__(self, problem_type: ProblemType | None = None) -> None:
        self._ids: dict[str, int] = {}
        self._problem_type = problem_type
        self._lists = problem_type == MULTI_LABEL
        self._flat: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._rows = 0

    def __call__(self, labels: Sequence[Label], source: str) -> np.ndarray:
        ids, flat = self._ids, []
        counts = np.empty(len(labels), dtype=np.int32)
        for i, label in enumerate(labels):
            names = label if isinstance(label, list) else [label]
            self._lists = self._lists or isinstance(label, list)
            flat.extend(ids.setdefault(name, len(ids)) for name in names)
            counts[i] = len(names)
        self._flat.append(np.asarray(flat, dtype=np.int32))
        self._counts.append(counts)
        self._rows += len(labels)
        return np.arange(self._rows - len(labels), self._rows, dtype=np.int64)

    def label_map(self) -> LabelMap:
        names = list(self._ids)
        if self._lists:
            if self._problem_type == SINGLE_LABEL:
                raise DataError(
                    "the training data has rows with a list of labels, but --problem-type is "
                    "single_label_classification: pass --problem-type multi_label_classification"
                )
            if not names:
                raise DataError("the training data has no labels in any row: check --label-column")
            return LabelMap(tuple(_sorted(names)), MULTI_LABEL)
        if self._problem_type == REGRESSION or (self._problem_type is None and is_continuous(names)):
            return LabelMap.regression()
        return infer_label_map(names, None)

    def relabel(self, encoded: Encoded, label_map: LabelMap) -> Encoded:
        counts = np.concatenate(self._counts) if self._counts else np.zeros(0, np.int32)
        flat = np.concatenate(self._flat) if self._flat else np.zeros(0, np.int32)
        starts = np.cumsum(counts, dtype=np.int64) - counts
        rows = encoded.labels
        if label_map.problem_type == REGRESSION:
            return dataclasses.replace(
                encoded, labels=scores(list(self._ids), "the training data")[flat[starts[rows]]]
            )
        final = label_map.label2id
        new_ids = np.array([final[name] for name in self._ids], dtype=np.int32)
        if label_map.problem_type != MULTI_LABEL:
            return dataclasses.replace(encoded, labels=new_ids[flat[starts[rows]]])
        row_counts = counts[rows]
        within = np.arange(row_counts.sum()) - np.repeat(np.cumsum(row_counts) - row_counts, row_counts)
        hot = np.zeros((len(rows), len(label_map)), dtype=np.uint8)
        hot[
            np.repeat(np.arange(len(rows)), row_counts),
            new_ids[flat[np.repeat(starts[rows], row_counts) + within]],
        ] = 1
        return dataclasses.replace(encoded, labels=hot)


def _sorted(distinct: Sequence[str]) -> list[str]:
    """Label names sorted, numerically if all are integers."""
    return sorted(distinct, key=int) if all(_is_int(label) for label in distinct) else sorted(distinct)


def infer_label_map(labels: Sequence[str], explicit: Sequence[str] | None) -> LabelMap:
    """The label set: given by --labels, else the distinct training labels sorted (numerically if all are integers)."""
    if explicit:
        return LabelMap(tuple(explicit))
    names = _sorted(list(set(labels)))
    if len(names) < 2:
        raise DataError(
            f"the training data has {len(names)} distinct label(s) ({', '.join(names) or 'none'}); "
            "a classifier needs at least two: check --label-column"
        )
    return LabelMap(tuple(names))


def declared_label_map(names: Sequence[str], where: str) -> LabelMap:
    """The label set a `ClassLabel` column declares, in its declared (id) order."""
    if len(names) < 2 or len(set(names)) != len(names):
        raise DataError(
            f"the ClassLabel of {where} declares the labels {list(names)}; a classifier needs at least two "
            "distinct ones: check --label-column or pass --labels"
        )
    return LabelMap(tuple(names))


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def split_for_eval(label_ids: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (train, eval) holding out `fraction` of the rows, stratified by label, with a fixed seed (the same
    split on every run), each in row order. Scores and label sets are not strata: pass `np.zeros(rows)` for a
    plain random split."""
    rng = np.random.default_rng(seed)
    train_idx: list[np.ndarray] = []
    eval_idx: list[np.ndarray] = []
    by_label = np.argsort(label_ids, kind="stable")  # one sort, not a pass over all rows per label
    for idx in np.split(by_label, np.flatnonzero(np.diff(label_ids[by_label])) + 1):
        rng.shuffle(idx)
        # At least one row of every label in each split, when the label has two or more.
        n_eval = min(max(round(len(idx) * fraction), 1), len(idx) - 1) if len(idx) > 1 else 0
        eval_idx.append(idx[:n_eval])
        train_idx.append(idx[n_eval:])
    evaluation = np.sort(np.concatenate(eval_idx)) if eval_idx else np.zeros(0, np.int64)
    if not len(evaluation):
        raise DataError(
            f"--eval-fraction {fraction} of {len(label_ids)} rows leaves no evaluation rows; "
            "pass --eval-data or a larger fraction"
        )
    return np.sort(np.concatenate(train_idx)), evaluation


def balanced_weights(label_ids: np.ndarray, num_labels: int) -> tuple[float, ...]:
    """scikit-learn's "balanced" class weights, rows / (classes x the class's rows): every class then weighs as
    much in the loss as if the classes were equally common. A class without rows gets 1."""
    counts = np.bincount(np.asarray(label_ids, dtype=np.int64), minlength=num_labels).astype(np.float64)
    weights = np.divide(len(label_ids), num_labels * counts, out=np.ones_like(counts), where=counts > 0)
    return tuple(float(w) for w in weights)
