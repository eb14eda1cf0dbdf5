"""Read labelled text tables (CSV, TSV, JSON Lines, Parquet), build the label map, split and tokenize.

Everything here works on local files (storage downloads them first) and plain Python/NumPy values, so it is
tested without TensorFlow or a network. Tokenization happens once, up front, with the fast tokenizer in batches;
the tf.data pipeline then only pads and batches token ids.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pa_parquet

from trainer.errors import DataError

log = logging.getLogger(__name__)

FORMAT_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zst", ".lz4")
"""Compressed text shards (train.csv.gz) are read through pyarrow's decompressing streams."""


@dataclass(frozen=True)
class Examples:
    """Rows of one split: the text columns (one, or two for pairs) and the raw labels as strings."""

    texts: tuple[list[str], ...]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices: Sequence[int] | np.ndarray) -> "Examples":
        return Examples(
            texts=tuple([column[i] for i in indices] for column in self.texts),
            labels=[self.labels[i] for i in indices],
        )


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


def detect_format(path: Path, requested: str) -> str:
    """The file format from --data-format or the file name (`train.csv`, `part-0.parquet`, `x.jsonl.gz`)."""
    if requested != "auto":
        return requested
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes = suffixes[:-1]
    fmt = FORMAT_BY_SUFFIX.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise DataError(
            f"cannot tell the format of '{path.name}': name files .csv, .tsv, .jsonl or .parquet "
            "or pass --data-format"
        )
    return fmt


def read_table(path: Path, fmt: str, *, source: str) -> pa.Table:
    """One file as an Arrow table; unreadable content is a DataError naming the file."""
    try:
        if fmt == "parquet":
            return pa_parquet.read_table(path)
        with pa.input_stream(str(path), compression="detect") as stream:
            if fmt == "jsonl":
                return pa_json.read_json(stream)
            delimiter = "\t" if fmt == "tsv" else ","
            # TSV files (GLUE's among them) do not quote fields, and text may hold stray quotes.
            parse = pa_csv.ParseOptions(delimiter=delimiter, quote_char=False if fmt == "tsv" else '"')
            convert = pa_csv.ConvertOptions(strings_can_be_null=False, quoted_strings_can_be_null=False)
            return pa_csv.read_csv(stream, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"cannot read {source} as {fmt}: {first_line}") from e


def read_examples(
    files: Sequence[tuple[str, Path]],
    *,
    text_columns: Sequence[str],
    label_column: str | None,
    data_format: str,
) -> Examples:
    """Read and concatenate shards (`(uri, local path)` pairs, in order) into Examples.

    Missing text becomes "", a missing label is a DataError; column errors list the columns that exist.
    """
    if not files:
        raise DataError("no data files found")
    formats = {detect_format(path, data_format) for _, path in files}
    if len(formats) > 1:
        raise DataError(f"data shards mix formats {sorted(formats)}: keep one format per data set")
    fmt = formats.pop()
    texts: tuple[list[str], ...] = tuple([] for _ in text_columns)
    labels: list[str] = []
    for uri, path in files:
        table = read_table(path, fmt, source=uri)
        wanted = [(c, "--text-column") for c in text_columns]
        if label_column:
            wanted.append((label_column, "--label-column"))
        missing = [f"{column!r} ({flag})" for column, flag in wanted if column not in table.column_names]
        if missing:
            raise DataError(
                f"{uri} has no column {', '.join(missing)}; its columns are "
                f"{', '.join(repr(c) for c in table.column_names)}: fix the flag"
            )
        for column, out in zip(text_columns, texts, strict=True):
            out.extend(_as_strings(table.column(column), column, fill=""))
        if label_column:
            column_labels = _as_strings(table.column(label_column), label_column, fill=None)
            missing_rows = [i for i, label in enumerate(column_labels) if label is None or label == ""]
            if missing_rows:
                raise DataError(
                    f"{uri}: {len(missing_rows)} row(s) have no value in label column '{label_column}' "
                    f"(first at data row {missing_rows[0] + 1}); fill or drop them"
                )
            labels.extend(column_labels)  # type: ignore[arg-type]
        else:
            labels.extend([""] * table.num_rows)
    if not labels:
        raise DataError(f"{files[0][0]}{' and other shards' if len(files) > 1 else ''} has no data rows")
    return Examples(texts=texts, labels=labels)


def _as_strings(column: pa.ChunkedArray, name: str, *, fill: str | None) -> list[Any]:
    """Column values as strings. Integral floats (1.0 from a CSV with gaps) print as integers."""
    values = column.to_pylist()
    out: list[Any] = []
    for value in values:
        if value is None:
            out.append(fill)
        elif isinstance(value, float) and value.is_integer():
            out.append(str(int(value)))
        elif isinstance(value, bool | int | float | str):
            out.append(str(value))
        else:
            raise DataError(
                f"column '{name}' holds {type(value).__name__} values; text and label columns must hold "
                "strings or numbers"
            )
    return out


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


def split_for_eval(examples: Examples, fraction: float, seed: int) -> tuple[Examples, Examples]:
    """Hold out `fraction` of the rows, stratified by label, with a fixed seed (same split on every run)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(examples.labels)
    train_idx: list[int] = []
    eval_idx: list[int] = []
    for label in sorted(set(examples.labels)):
        idx = np.flatnonzero(labels == label)
        rng.shuffle(idx)
        # At least one row of every label in each split, when the label has two or more.
        n_eval = min(max(round(len(idx) * fraction), 1), len(idx) - 1) if len(idx) > 1 else 0
        eval_idx.extend(idx[:n_eval].tolist())
        train_idx.extend(idx[n_eval:].tolist())
    if not eval_idx:
        raise DataError(
            f"--eval-fraction {fraction} of {len(examples)} rows leaves no evaluation rows; "
            "pass --eval-data or a larger fraction"
        )
    return examples.take(sorted(train_idx)), examples.take(sorted(eval_idx))


class Tokenizer(Protocol):
    def __call__(self, text: list[str], text_pair: list[str] | None = ..., **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Encoded:
    """Tokenized rows as flat arrays plus row lengths (a ragged layout that tf.data slices without copying)."""

    input_ids: np.ndarray
    token_type_ids: np.ndarray | None
    lengths: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)


TOKENIZE_CHUNK = 10_000
"""Rows per tokenizer call: large enough for the Rust tokenizer's parallelism, small enough to bound memory."""


def tokenize(examples: Examples, label_ids: np.ndarray, tokenizer: Tokenizer, max_length: int) -> Encoded:
    """Tokenize every row once (truncated, not padded: padding happens per batch in the pipeline)."""
    ids: list[np.ndarray] = []
    types: list[np.ndarray] = []
    lengths: list[int] = []
    pair = len(examples.texts) == 2
    for start in range(0, len(examples), TOKENIZE_CHUNK):
        stop = start + TOKENIZE_CHUNK
        first = examples.texts[0][start:stop]
        second = examples.texts[1][start:stop] if pair else None
        batch = tokenizer(
            first,
            second,
            truncation="longest_first" if pair else True,
            max_length=max_length,
            padding=False,
            return_attention_mask=False,
        )
        with_types = "token_type_ids" in batch
        for i, row in enumerate(batch["input_ids"]):
            ids.append(np.asarray(row, dtype=np.int32))
            lengths.append(len(row))
            if with_types:
                types.append(np.asarray(batch["token_type_ids"][i], dtype=np.int32))
    return Encoded(
        input_ids=np.concatenate(ids) if ids else np.zeros(0, np.int32),
        token_type_ids=np.concatenate(types) if types else None,
        lengths=np.asarray(lengths, dtype=np.int64),
        labels=label_ids.astype(np.int32),
    )
