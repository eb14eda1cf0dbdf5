"""Labelled rows from table files to token ids in token files on scratch disk, one chunk at a time.

`encode_files` reads the shards chunk by chunk (`tables`), maps labels to ids, tokenizes each chunk once with the
fast tokenizer and appends its ids to files on scratch disk (`tokens.TokenWriter`): memory holds one chunk at a
time however large the data set is.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa

from trainer.data import tables
from trainer.data.labels import Label
from trainer.data.tokens import TOKENIZE_CHUNK, Encoded, Tokenizer, TokenWriter, ids_dtype, tokenize
from trainer.errors import DataError

LabelEncoder = Callable[[Sequence[Label], str], np.ndarray]
"""Labels of one chunk (and where they come from, for messages) to label ids, scores or multi-hot rows; raises
DataError on strangers."""


class TableColumns(Protocol):
    """The data options train and evaluate share."""

    text_column: list[str]
    label_column: str
    label_separator: str | None
    data_format: str


@dataclass(frozen=True)
class Tokenizing:
    """How labelled rows become token ids: their columns, the tokenizer and the length it truncates to, and how
    label names become ids (`source` names the data in messages)."""

    columns: TableColumns
    tokenizer: Tokenizer
    max_length: int
    encode_labels: LabelEncoder
    source: str


def encode_files(
    files: Sequence[tuple[str, Path]],
    how: Tokenizing,
    store: Path,
    *,
    chunk_rows: int = TOKENIZE_CHUNK,
    delete_read: bool = False,
    limit: int | None = None,
) -> Encoded:
    """Read, label and tokenize shards (`(uri, local path)` pairs, in order) into token files under `store`.

    Missing text becomes ""; a missing label is a DataError naming the file and row. With `delete_read`
    (downloaded copies) each shard is deleted once tokenized, so scratch disk does not hold the raw data and its
    tokens in full at once. `limit` stops after that many rows (quick runs on large data read only what they use).
    """
    if not files:
        raise DataError("no data files found")
    text_columns = how.columns.text_column
    fmt = tables.one_format([path for _, path in files], how.columns.data_format)
    columns = {c: "--text-column" for c in text_columns}
    columns[how.columns.label_column] = "--label-column"
    writer = TokenWriter(store)
    dtype = ids_dtype(len(how.tokenizer))  # type: ignore[arg-type]
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
            label_ids = _label_ids(table, how, uri, row)
            writer.append(tokenize(texts, label_ids, how.tokenizer, how.max_length, dtype=dtype))
            row += table.num_rows
        if delete_read:
            path.unlink(missing_ok=True)
    if not writer.rows:
        raise DataError(f"{files[0][0]}{' and other shards' if len(files) > 1 else ''} has no data rows")
    return writer.finish()


def _label_ids(table: pa.Table, how: Tokenizing, uri: str, row: int) -> np.ndarray:
    """The chunk's label ids; `row` is how many rows of the file came before it (for the message)."""
    column = how.columns.label_column
    names = tables.label_values(table.column(column), column, how.columns.label_separator)
    missing = [i for i, name in enumerate(names) if name is None or name == ""]
    if missing:
        more = f" (and {len(missing) - 1} more by row {row + len(names)})" if len(missing) > 1 else ""
        raise DataError(
            f"{uri}: data row {row + missing[0] + 1} has no value in label column '{column}'{more}; "
            "fill or drop such rows"
        )
    return how.encode_labels(names, how.source)
