"""Labels: the label map (names in id order), label collection while the data streams in, and the stratified
evaluation split. Everything works on per-row label ids and plain values: no TensorFlow, no I/O.
"""

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from trainer.data.tokens import Encoded
from trainer.errors import DataError

log = logging.getLogger(__name__)

KnownAs = Literal["training", "model"]
UNKNOWN_LABELS: dict[KnownAs, str] = {
    "training": "{source} has {count} label(s) not in the training labels {names}: {shown}; fix the data or pass "
    "the full set with --labels",
    "model": "{source} has {count} label(s) the model was not trained on: {shown}; the model's labels are "
    "{names}: fix --label-column or the data",
}
"""What an unknown label is reported as: outside the labels being trained, or unknown to a trained model."""


@dataclass(frozen=True)
class LabelMap:
    """Label names in id order; `id2label`/`label2id` are what the model config stores."""

    names: tuple[str, ...]

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def __len__(self) -> int:
        return len(self.names)

    def encode(self, labels: Sequence[str], *, source: str, known_as: KnownAs = "training") -> np.ndarray:
        """Label names to ids; a label outside the map is a DataError naming the source, a few of the strangers
        and the labels there are (`known_as`: the map is the training labels, or a trained model's)."""
        mapping = self.label2id
        unknown = sorted({label for label in labels if label not in mapping})
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise DataError(
                UNKNOWN_LABELS[known_as].format(
                    source=source, count=len(unknown), shown=shown, names=list(self.names)
                )
            )
        return np.fromiter((mapping[label] for label in labels), dtype=np.int32, count=len(labels))

    def encoder(self, known_as: KnownAs = "training") -> Callable[[Sequence[str], str], np.ndarray]:
        """`encode` as the label encoder the data readers call with (names, source)."""
        return lambda labels, source: self.encode(labels, source=source, known_as=known_as)


class LabelCollector:
    """Label ids for a data set whose label set is not known yet: ids in order of first appearance, which
    `label_map` turns into the sorted label map and `relabel` into that map's ids."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def __call__(self, labels: Sequence[str], source: str) -> np.ndarray:
        ids = self._ids
        for label in labels:
            if label not in ids:
                ids[label] = len(ids)
        return np.fromiter((ids[label] for label in labels), dtype=np.int32, count=len(labels))

    def label_map(self) -> LabelMap:
        return infer_label_map(list(self._ids), None)

    def relabel(self, encoded: Encoded, label_map: LabelMap) -> Encoded:
        final = label_map.label2id
        new_ids = np.array([final[name] for name in self._ids], dtype=np.int32)
        return dataclasses.replace(encoded, labels=new_ids[encoded.labels])


def infer_label_map(labels: Sequence[str], explicit: Sequence[str] | None) -> LabelMap:
    """The label set: given by --labels, else the distinct training labels sorted (numerically if all are integers)."""
    if explicit:
        return LabelMap(tuple(explicit))
    distinct = set(labels)
    names = sorted(distinct, key=int) if all(_is_int(label) for label in distinct) else sorted(distinct)
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
    split on every run), each in row order."""
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
