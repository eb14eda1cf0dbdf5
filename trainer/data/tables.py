"""Read table files (CSV, TSV, JSON Lines, Parquet; text formats optionally compressed) in chunks of rows.

Files are streamed: pyarrow's streaming CSV and JSON readers and Parquet row batches parse about a megabyte at a
time, so memory holds one chunk however large the file is. Training, evaluation and prediction all read through
here, so a file that one verb reads, the others read the same way.
"""

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pa_parquet

from trainer.errors import DataError

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

BLOCK_BYTES = 1 << 20
"""pyarrow's streaming readers parse this many bytes per record batch (its default block size)."""


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


def one_format(paths: list[Path], requested: str) -> str:
    """The one format all shards of a data set share; mixed formats are a DataError."""
    formats = {detect_format(path, requested) for path in paths}
    if len(formats) > 1:
        raise DataError(f"data shards mix formats {sorted(formats)}: keep one format per data set")
    return formats.pop()


def check_columns(uri: str, columns: Mapping[str, str], present: list[str]) -> None:
    missing = [f"{column!r} ({flag})" for column, flag in columns.items() if column not in present]
    if missing:
        raise DataError(
            f"{uri} has no column {', '.join(missing)}; its columns are "
            f"{', '.join(repr(c) for c in present)}: fix the flag"
        )


def _batches(
    path: Path, fmt: str, columns: Mapping[str, str], uri: str, chunk_rows: int, text: set[str]
) -> Iterator[pa.RecordBatch]:
    if fmt == "parquet":
        parquet = pa_parquet.ParquetFile(path)
        check_columns(uri, columns, parquet.schema_arrow.names)
        yield from parquet.iter_batches(batch_size=chunk_rows, columns=list(columns))
        return
    with pa.input_stream(str(path), compression="detect") as stream:
        if fmt == "jsonl":
            # Text columns are typed as strings; others (labels: 1, 0.0, "pos") keep the type JSON gave them.
            reader: Any = pa_json.open_json(
                stream,
                read_options=pa_json.ReadOptions(block_size=BLOCK_BYTES),
                parse_options=pa_json.ParseOptions(
                    explicit_schema=pa.schema({c: pa.string() for c in columns if c in text}),
                    unexpected_field_behavior="infer",
                ),
            )
        else:
            delimiter = "\t" if fmt == "tsv" else ","
            # TSV files (GLUE's among them) do not quote fields, and text may hold stray quotes.
            parse = pa_csv.ParseOptions(delimiter=delimiter, quote_char=False if fmt == "tsv" else '"')
            with pa.input_stream(str(path), compression="detect") as head:
                check_columns(uri, columns, pa_csv.open_csv(head, parse_options=parse).schema.names)
            reader = pa_csv.open_csv(
                stream,
                read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES),
                parse_options=parse,
                convert_options=pa_csv.ConvertOptions(
                    include_columns=list(columns),
                    column_types={c: pa.string() for c in columns},  # labels as written: "1" stays "1"
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        yield from reader


def rebatch(batches: Iterable[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.Table]:
    """The rows of `batches` in tables of `chunk_rows` rows (the last one shorter), in order."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += batch.num_rows
        while size >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending, size = rest.to_batches(), rest.num_rows
    if size:
        yield pa.Table.from_batches(pending)


def _selected(
    path: Path, fmt: str, columns: Mapping[str, str], uri: str, chunk_rows: int, text: set[str]
) -> Iterator[pa.RecordBatch]:
    first = True
    for batch in _batches(path, fmt, columns, uri, chunk_rows, text):
        if fmt == "jsonl":
            if first:
                # JSON has no header: a column without a single value in the first block is taken as missing.
                present = [c for c in batch.schema.names if batch.column(c).null_count < batch.num_rows]
                check_columns(uri, columns, present)
            batch = batch.select(list(columns))  # fields beyond the columns asked for were inferred too
        first = False
        yield batch


def read_chunks(
    path: Path,
    fmt: str,
    columns: Mapping[str, str],
    uri: str,
    chunk_rows: int,
    *,
    text: set[str] | None = None,
) -> Iterator[pa.Table]:
    """The file's `columns` (name -> the flag that named it), `chunk_rows` rows at a time, in file order.

    `text` names the columns read as strings whatever they hold (default: all). Unreadable content and missing
    columns are DataErrors naming the file (and, for columns, the flag to fix and the columns that exist).
    """
    text = set(columns) if text is None else text
    try:
        yield from rebatch(_selected(path, fmt, columns, uri, chunk_rows, text), chunk_rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, KeyError) as e:
        raise DataError(f"cannot read {uri} as {fmt}: {first_line(e)}") from e


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _text(value: Any, name: str) -> str:
    """A value as a string; integral floats (1.0 from JSON or Parquet) print as 1."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool | int | float | str):
        return str(value)
    raise DataError(
        f"column '{name}' holds {type(value).__name__} values; text and label columns must hold "
        "strings or numbers (a label column also lists of them)"
    )


def as_strings(column: pa.ChunkedArray | pa.Array, name: str, *, fill: str | None) -> list[Any]:
    """Column values as strings, missing ones as `fill`. Integral floats (1.0 from JSON or Parquet) print as 1."""
    return [fill if value is None else _text(value, name) for value in column.to_pylist()]


def label_values(column: pa.ChunkedArray | pa.Array, name: str, separator: str | None) -> list[Any]:
    """A label column's values, missing ones None: strings (as `as_strings`), or lists of strings for a column of
    lists (JSON Lines, Parquet) or, with `separator`, each string split at it (an empty string: no labels)."""
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        return [
            None if row is None else [_text(value, name) for value in row if value is not None]
            for row in column.to_pylist()
        ]
    values = as_strings(column, name, fill=None)
    if separator is None:
        return values
    return [
        None if v is None else [part.strip() for part in v.split(separator) if part.strip()] for v in values
    ]
