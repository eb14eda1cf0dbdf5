"""Token ids of tokenized rows in a flat, ragged layout: in memory, or memory-mapped from files on scratch disk.

Every row's ids sit one after another in one flat array; `offsets` and `lengths` say where each row is. Rows are
selected (eval split, sample limits) by taking those per-row arrays only, so a selection never copies tokens.
`TokenWriter` appends chunk after chunk to files, which is how data larger than memory is tokenized: memory holds
one chunk's tokens plus 20 bytes per row (offset, length, label), and the pipeline later reads each batch's rows
from the mapped files.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

TOKENIZE_CHUNK = 10_000
"""Rows per tokenizer call: large enough for the Rust tokenizer's parallelism, small enough to bound memory."""

IDS_FILE = "input_ids.bin"
TYPES_FILE = "token_type_ids.bin"


class Tokenizer(Protocol):
    def __call__(self, text: list[str], text_pair: list[str] | None = ..., **kwargs: Any) -> Any: ...


def row_offsets(lengths: np.ndarray) -> np.ndarray:
    """Where each row starts in the flat arrays."""
    offsets = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return offsets


@dataclass(frozen=True)
class Encoded:
    """Tokenized rows: flat `input_ids` (and `token_type_ids` for models that take them), per-row lengths, labels
    and offsets (computed from the lengths when not given)."""

    input_ids: np.ndarray
    token_type_ids: np.ndarray | None
    lengths: np.ndarray
    labels: np.ndarray
    offsets: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.offsets is None:
            object.__setattr__(self, "offsets", row_offsets(np.asarray(self.lengths, dtype=np.int64)))

    def __len__(self) -> int:
        return len(self.lengths)

    def take(self, rows: Sequence[int] | np.ndarray) -> "Encoded":
        """These rows, in this order; the token arrays are shared, not copied."""
        rows = np.asarray(rows, dtype=np.int64)
        return Encoded(
            input_ids=self.input_ids,
            token_type_ids=self.token_type_ids,
            lengths=self.lengths[rows],
            labels=self.labels[rows],
            offsets=self.offsets[rows],
        )

    @property
    def token_bytes(self) -> int:
        """Bytes of the flat token arrays (all rows of the file set, also when this is a selection)."""
        types = self.token_type_ids.nbytes if self.token_type_ids is not None else 0
        return int(self.input_ids.nbytes + types)


def ids_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits (BERT's 30,522, MiniLM's), which halves disk, page cache and memory; else int32."""
    return np.dtype(np.uint16) if vocab_size <= np.iinfo(np.uint16).max + 1 else np.dtype(np.int32)


def tokenize(
    texts: Sequence[list[str]],
    label_ids: np.ndarray,
    tokenizer: Tokenizer,
    max_length: int,
    *,
    dtype: np.dtype | None = None,
) -> Encoded:
    """Tokenize rows once (truncated, not padded: padding happens per batch in the pipeline), in memory.

    `texts` holds one column, or two for sentence pairs. Ids are int32 unless `dtype` says otherwise; the labels
    keep theirs (class ids, or a regression's float32 scores).
    """
    dtype = np.dtype(np.int32) if dtype is None else dtype
    ids: list[np.ndarray] = []
    types: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    pair = len(texts) == 2
    for start in range(0, len(label_ids), TOKENIZE_CHUNK):
        stop = start + TOKENIZE_CHUNK
        batch = tokenizer(
            texts[0][start:stop],
            texts[1][start:stop] if pair else None,
            truncation="longest_first" if pair else True,
            max_length=max_length,
            padding=False,
            return_attention_mask=False,
        )
        rows = batch["input_ids"]
        lengths.append(np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows)))
        ids.append(np.fromiter((i for row in rows for i in row), dtype=dtype))
        if "token_type_ids" in batch:
            types.append(np.fromiter((t for row in batch["token_type_ids"] for t in row), dtype=np.uint8))
    return Encoded(
        input_ids=np.concatenate(ids) if ids else np.zeros(0, dtype),
        token_type_ids=np.concatenate(types) if types else None,
        lengths=np.concatenate(lengths) if lengths else np.zeros(0, np.int64),
        labels=np.asarray(label_ids),
    )


class TokenWriter:
    """Appends tokenized chunks to flat files in `folder`; `finish` maps them back read-only as one Encoded."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._ids = (folder / IDS_FILE).open("wb")
        self._types: Any = None
        self._any_type = False
        self._ids_dtype: np.dtype | None = None
        self._lengths: list[np.ndarray] = []
        self._labels: list[np.ndarray] = []
        self.rows = 0

    def append(self, chunk: Encoded) -> None:
        if self._ids_dtype is None:
            self._ids_dtype = chunk.input_ids.dtype
            if chunk.token_type_ids is not None:
                self._types = (self.folder / TYPES_FILE).open("wb")
        chunk.input_ids.astype(self._ids_dtype, copy=False).tofile(self._ids)
        if self._types is not None and chunk.token_type_ids is not None:
            chunk.token_type_ids.astype(np.uint8, copy=False).tofile(self._types)
            self._any_type = self._any_type or bool(chunk.token_type_ids.any())
        self._lengths.append(np.asarray(chunk.lengths, dtype=np.int64))
        self._labels.append(np.asarray(chunk.labels))
        self.rows += len(chunk)

    def finish(self) -> Encoded:
        """Close the files and map them read-only. Token types that are all 0 (single sentences) are dropped:
        the model's default is the same zeros, and memory and disk are spared a byte per token."""
        self._ids.close()
        if self._types is not None:
            self._types.close()
            if not self._any_type:
                (self.folder / TYPES_FILE).unlink()
                self._types = None
        dtype = self._ids_dtype or np.dtype(np.int32)
        return Encoded(
            input_ids=_map(self.folder / IDS_FILE, dtype),
            token_type_ids=_map(self.folder / TYPES_FILE, np.dtype(np.uint8))
            if self._types is not None
            else None,
            lengths=np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64),
            labels=np.concatenate(self._labels) if self._labels else np.zeros(0, np.int32),
        )


def _map(path: Path, dtype: np.dtype) -> np.ndarray:
    if path.stat().st_size == 0:  # numpy cannot map an empty file
        return np.zeros(0, dtype)
    return np.memmap(path, dtype=dtype, mode="r")
