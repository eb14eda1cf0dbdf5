"""Labelled rows from table files to token ids: the label map, the evaluation split and tokenization, streamed.

`encode_files` reads the shards chunk by chunk (`tables`), maps labels to ids, tokenizes each chunk once with the
fast tokenizer and appends its ids to files on scratch disk (`tokens.TokenWriter`): memory holds one chunk at a
time however large the data set is. Label inference and the stratified split then work on the per-row label ids
alone. Everything here takes local files and plain values, so it is tested without TensorFlow or a network.
"""

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer import tables
from trainer.errors import DataError
from trainer.tokens import TOKENIZE_CHUNK, Encoded, Tokenizer, TokenWriter, ids_dtype, tokenize

log = logging.getLogger(__name__)


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

    def encode(self, labels: Sequence[str], *, source: str) -> np.ndarray:
        """Label names to ids; a label outside the map is a DataError naming a few of the strangers."""
        mapping = self.label2id
        unknown = sorted({label for label in labels if label not in mapping})
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise DataError(
                f"{source} has {len(unknown)} label(s) not in the training labels {list(self.names)}: {shown}; "
                "fix the data or pass the full set with --labels"
            )
        return np.fromiter((mapping[label] for label in labels), dtype=np.int32, count=len(labels))


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


LabelEncoder = Callable[[Sequence[str], str], np.ndarray]
"""Label names of one chunk (and where they come from, for messages) to label ids; raises DataError on strangers."""


def encode_files(
    files: Sequence[tuple[str, Path]],
    *,
    text_columns: Sequence[str],
    label_column: str | None,
    data_format: str,
    tokenizer: Tokenizer,
    max_length: int,
    encode_labels: LabelEncoder | None,
    store: Path,
    source: str,
    chunk_rows: int = TOKENIZE_CHUNK,
    delete_read: bool = False,
    limit: int | None = None,
) -> Encoded:
    """Read, label and tokenize shards (`(uri, local path)` pairs, in order) into token files under `store`.

    Missing text becomes ""; a missing label is a DataError naming the file and row. Without a label column
    (`encode_labels` None) every label id is 0. With `delete_read` (downloaded copies) each shard is deleted
    once tokenized, so scratch disk does not hold the raw data and its tokens in full at once. `limit` stops
    after that many rows (quick runs on large data read only what they use).
    """
    if not files:
        raise DataError("no data files found")
    fmt = tables.one_format([path for _, path in files], data_format)
    columns = {c: "--text-column" for c in text_columns}
    if label_column:
        columns[label_column] = "--label-column"
    writer = TokenWriter(store)
    dtype = ids_dtype(len(tokenizer))  # type: ignore[arg-type]
    for uri, path in files:
        if limit is not None and writer.rows >= limit:
            break
        row = 0
        for table in tables.read_chunks(path, fmt, columns, uri, chunk_rows, text=set(text_columns)):
            if limit is not None:
                if writer.rows >= limit:
                    break
                table = table.slice(0, limit - writer.rows)
            texts = [tables.as_strings(table.column(c), c, fill="") for c in text_columns]
            if label_column and encode_labels is not None:
                names = tables.as_strings(table.column(label_column), label_column, fill=None)
                missing = [i for i, name in enumerate(names) if name is None or name == ""]
                if missing:
                    more = (
                        f" (and {len(missing) - 1} more by row {row + len(names)})"
                        if len(missing) > 1
                        else ""
                    )
                    raise DataError(
                        f"{uri}: data row {row + missing[0] + 1} has no value in label column '{label_column}'"
                        f"{more}; fill or drop such rows"
                    )
                label_ids = encode_labels(names, source)
            else:
                label_ids = np.zeros(table.num_rows, np.int32)
            writer.append(tokenize(texts, label_ids, tokenizer, max_length, dtype=dtype))
            row += table.num_rows
        if delete_read:
            path.unlink(missing_ok=True)
    if not writer.rows:
        raise DataError(f"{files[0][0]}{' and other shards' if len(files) > 1 else ''} has no data rows")
    return writer.finish()
