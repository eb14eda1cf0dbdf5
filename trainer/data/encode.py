"""Labelled rows from a data source to token ids in token files on scratch disk, one chunk at a time.

`encode_source` reads the source's parts chunk by chunk (table files, the Arrow files of a save_to_disk split, a
streamed dataset), maps labels to ids, tokenizes each chunk once with the fast tokenizer (or takes pre-tokenized
ids as they are, `pretokenized`) and appends its ids to files on scratch disk (`tokens.TokenWriter`): memory holds
one chunk at a time however large the data set is, and a downloaded part is deleted once read.

Labels of a `ClassLabel` column are its names; -1, the Hub's mark of a row without a label (test splits), is an
error that names the split.
"""

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from trainer.data import tables
from trainer.data.labels import Label
from trainer.data.pretokenized import IdsReader, id_columns
from trainer.data.rows import RowSource
from trainer.data.tokens import TOKENIZE_CHUNK, Encoded, Tokenizer, TokenWriter, ids_dtype, tokenize
from trainer.errors import DataError

LabelEncoder = Callable[[Sequence[Label], str], np.ndarray]
"""Labels of one chunk (and where they come from, for messages) to label ids, scores or multi-hot rows; raises
DataError on strangers."""


class TableColumns(Protocol):
    """The column options train and evaluate share."""

    text_column: list[str]
    label_column: str
    label_separator: str | None


@dataclass(frozen=True)
class Tokenizing:
    """How labelled rows become token ids: their columns, the tokenizer and the length it truncates to, and how
    label names become ids (`source` names the data in messages)."""

    columns: TableColumns
    tokenizer: Tokenizer
    max_length: int
    encode_labels: LabelEncoder
    source: str


def row_columns(rows: RowSource, text_columns: Sequence[str]) -> dict[str, str]:
    """What a chunk of `rows` is read from (name -> the flag that names it): the ids of pre-tokenized rows, else
    the text columns."""
    return id_columns(rows) if rows.pretokenized else {c: "--text-column" for c in text_columns}


class ChunkEncoder:
    """One chunk of rows to token ids: tokenized text, or pre-tokenized ids checked and truncated."""

    def __init__(self, rows: RowSource, tokenizer: Any, max_length: int, text_columns: Sequence[str]) -> None:
        self.ids = IdsReader.for_tokenizer(rows, tokenizer, max_length) if rows.pretokenized else None
        self._tokenizer = tokenizer
        self._max_length = max_length
        self._text = list(text_columns)
        self._dtype = ids_dtype(len(tokenizer))

    def __call__(self, table: pa.Table, labels: np.ndarray, before: int) -> Encoded:
        """The chunk's rows; `before`: how many rows of the source came before them (for messages)."""
        if self.ids is not None:
            return self.ids.encode(table, labels, before)
        texts = [tables.as_strings(table.column(c), c, fill="") for c in self._text]
        return tokenize(texts, labels, self._tokenizer, self._max_length, dtype=self._dtype)


def encode_source(
    rows: RowSource,
    how: Tokenizing,
    store: Path,
    *,
    chunk_rows: int = TOKENIZE_CHUNK,
    limit: int | None = None,
) -> Encoded:
    """Read, label and tokenize the source's parts, in order, into token files under `store`.

    Missing text becomes ""; a missing label is a DataError naming the file and row. `limit` stops after that many
    rows (quick runs on large data read only what they use).
    """
    text_columns = how.columns.text_column
    encoder = ChunkEncoder(rows, how.tokenizer, how.max_length, text_columns)
    columns = row_columns(rows, text_columns) | {how.columns.label_column: "--label-column"}
    writer = TokenWriter(store)
    with contextlib.closing(rows.parts()) as parts:
        for part in parts:
            if limit is not None and writer.rows >= limit:
                break
            row = 0
            for table in part.read(columns, chunk_rows, set(text_columns)):
                if limit is not None:
                    if writer.rows >= limit:
                        break
                    table = table.slice(0, limit - writer.rows)
                labels = _label_ids(table, how, rows, (part.uri, row), writer.rows)
                writer.append(encoder(table, labels, writer.rows))
                row += table.num_rows
    if encoder.ids is not None:
        encoder.ids.log_truncated(how.source)
    if not writer.rows:
        raise DataError(f"{rows.what} has no data rows")
    return writer.finish()


def _label_ids(
    table: pa.Table, how: Tokenizing, rows: RowSource, at: tuple[str, int], before: int
) -> np.ndarray:
    """The chunk's label ids; `at` is its part and how many rows of that part came before it, `before` how many
    of the source (for messages)."""
    uri, row = at
    column = how.columns.label_column
    declared = rows.class_labels.get(column)
    names = (
        _class_names(table.column(column), declared, rows, before)
        if declared is not None
        else tables.label_values(table.column(column), column, how.columns.label_separator)
    )
    missing = [i for i, name in enumerate(names) if name is None or name == ""]
    if missing:
        more = f" (and {len(missing) - 1} more by row {row + len(names)})" if len(missing) > 1 else ""
        raise DataError(
            f"{uri}: data row {row + missing[0] + 1} has no value in label column '{column}'{more}; "
            "fill or drop such rows"
        )
    return how.encode_labels(names, how.source)


def _class_names(
    values: pa.ChunkedArray, names: tuple[str, ...], rows: RowSource, before: int
) -> list[str | None]:
    """ClassLabel ids to their names; -1 (no label) and ids beyond the names are DataErrors."""
    ids = values.to_pylist()
    unlabelled = [i for i, v in enumerate(ids) if v == -1]
    if unlabelled:
        fix = rows.other_split or "drop those rows"
        raise DataError(
            f"{rows.what} has rows without a label (-1, the Hub's mark for unlabelled test splits), the first "
            f"at row {before + unlabelled[0] + 1}: {fix}"
        )
    strange = [(i, v) for i, v in enumerate(ids) if v is not None and not 0 <= v < len(names)]
    if strange:
        i, value = strange[0]
        raise DataError(
            f"{rows.what}: row {before + i + 1} has label id {value}, not one of the {len(names)} ClassLabel names "
            f"{list(names)}"
        )
    return [names[v] if v is not None else None for v in ids]
