"""Rows as every data source hands them over: a `RowSource` is the parts of one split (or one set of files) in
order, each read in tables of a few thousand rows, plus what the data declares (column names, the label names of
`ClassLabel` columns, the tokenizer of pre-tokenized rows). A `Collection` is what a location or a dataset name
opens to: named splits, or none. The kinds of sources are in `sources`, `disk_datasets` and `hub_datasets`.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

IDS_COLUMN = "input_ids"
"""A datasets folder whose rows hold this column is pre-tokenized: its ids are used as they are."""

ReadTables = Callable[[Mapping[str, str], int, set[str]], Iterator[pa.Table]]
"""(columns -> the flag that named them, rows per table, columns read as text) -> the part's tables in order."""


@dataclass(frozen=True)
class Part:
    """One piece of a source, read in order: a shard file, an Arrow file of a split, a shard of a stream."""

    uri: str
    """Where it comes from, for messages and records."""
    name: str
    """Its name relative to the source (predict names its output file after it)."""
    read: ReadTables


@dataclass(frozen=True)
class RowSource:
    """The rows of one split (or of a set of files): its parts, in order, and what the data declares."""

    what: str
    """How messages name it: `s3://b/train.csv`, `split 'test' of glue/sst2`."""
    parts: Callable[[], Iterator[Part]]
    names: tuple[str, ...]
    """The parts' names, in order, known before any is read."""
    record: list[dict[str, Any]]
    """What was read, for run.json and metrics.json."""
    columns: tuple[str, ...] | None = None
    """The column names, when the data declares them (datasets)."""
    class_labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Label names of the `ClassLabel` columns, in their declared (id) order."""
    other_split: str | None = None
    """How to read another split instead (messages): `pick a labelled split with --eval-split`."""
    tokenizer_dir: Callable[[], Path | None] | None = None
    """Where the tokenizer that made pre-tokenized rows is (fetched on demand)."""
    unit: str = "file(s)"
    """What a part is, for the log: file(s), Arrow file(s), stream shard(s)."""

    def describe(self) -> str:
        """`3 file(s) under s3://b/p` or `split 'train' of s3://b/sst2 (2 Arrow file(s))`, for the log."""
        if self.unit == "file(s)":
            return f"{len(self.names)} file(s) under {self.what}"
        return f"{self.what} ({len(self.names)} {self.unit})"

    @property
    def pretokenized(self) -> bool:
        return self.columns is not None and IDS_COLUMN in self.columns


class Collection(Protocol):
    what: str
    splits: tuple[str, ...]
    """Split names in their declared order; empty for files or a single Dataset."""

    def source(self, split: str | None, other_split: str) -> RowSource: ...
