"""Pre-tokenized rows (a datasets folder whose rows hold `input_ids`) used as they are, once proven to fit --model.

Such a folder names the tokenizer that made its ids with a `tokenizer/` folder beside its splits
(`tokenizer.save_pretrained("<folder>/tokenizer")`); a tokenizer whose vocabulary or special tokens differ from
--model's is refused, and so is an id outside --model's vocabulary. Rows padded when they were tokenized are
unpadded with their `attention_mask`; `token_type_ids` are kept (sentence pairs). Rows longer than --max-length
are cut at the end, keeping a final special token ([SEP], </s>), and counted in the log.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trainer.data.rows import IDS_COLUMN, RowSource
from trainer.data.tables import first_line
from trainer.data.tokens import Encoded, ids_dtype
from trainer.errors import DataError

log = logging.getLogger(__name__)

TYPES_COLUMN = "token_type_ids"
MASK_COLUMN = "attention_mask"
TOKENIZER_DIR = "tokenizer"
"""Where a pre-tokenized save_to_disk folder keeps the tokenizer that made its ids."""


def check_tokenizer(rows: RowSource, tokenizer: Any) -> None:
    """The folder's tokenizer must be --model's: same vocabulary, same special tokens."""
    folder = rows.tokenizer_dir() if rows.tokenizer_dir is not None else None
    if folder is None:
        raise DataError(
            f"{rows.what} is pre-tokenized (its rows hold {IDS_COLUMN}) but names no tokenizer: save the one "
            f"that made the ids beside its splits, tokenizer.save_pretrained('<folder>/{TOKENIZER_DIR}')"
        )
    theirs = _load(folder, rows.what)
    ours_vocab, their_vocab = tokenizer.get_vocab(), theirs.get_vocab()
    ours_by_id = {i: token for token, i in ours_vocab.items()}
    theirs_by_id = {i: token for token, i in their_vocab.items()}
    differs = sorted(
        i for i in ours_by_id.keys() | theirs_by_id.keys() if ours_by_id.get(i) != theirs_by_id.get(i)
    )
    specials = dict(zip(tokenizer.all_special_tokens, tokenizer.all_special_ids, strict=True))
    their_specials = dict(zip(theirs.all_special_tokens, theirs.all_special_ids, strict=True))
    if differs or specials != their_specials:
        detail = (
            f"{len(their_vocab)} tokens against --model's {len(ours_vocab)}; id {differs[0]} is "
            f"{theirs_by_id.get(differs[0])!r} there, {ours_by_id.get(differs[0])!r} in --model's"
            if differs
            else f"special tokens {their_specials} against --model's {specials}"
        )
        raise DataError(
            f"{rows.what} was tokenized with another tokenizer than --model's ({detail}): tokenize it again with "
            "--model's tokenizer, or train the model it was made for"
        )


def _load(folder: Path, what: str) -> Any:
    from trainer.data.transformers_imports import IMPORTS

    try:
        with IMPORTS:
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as e:
        raise DataError(f"cannot load the tokenizer of {what} from {TOKENIZER_DIR}/: {first_line(e)}") from e


def id_columns(rows: RowSource) -> dict[str, str]:
    """The columns pre-tokenized rows are read from (name -> what names them in messages)."""
    present = rows.columns or ()
    return {c: "pre-tokenized column" for c in (IDS_COLUMN, TYPES_COLUMN, MASK_COLUMN) if c in present}


@dataclass
class IdsReader:
    """Turns tables of pre-tokenized rows into `Encoded` chunks: checked, unpadded, truncated."""

    what: str
    vocab_size: int
    max_length: int
    special_ids: frozenset[int]
    rows: int = 0
    truncated: int = 0

    @classmethod
    def for_tokenizer(cls, rows: RowSource, tokenizer: Any, max_length: int) -> "IdsReader":
        check_tokenizer(rows, tokenizer)
        return cls(rows.what, len(tokenizer), max_length, frozenset(tokenizer.all_special_ids))

    def encode(self, table: pa.Table, labels: np.ndarray, before: int) -> Encoded:
        """The chunk's rows; `before` is how many rows of the source came before them (for messages)."""
        ids, lengths = _flat(table, IDS_COLUMN, self.what)
        keep = np.ones(len(ids), dtype=bool)
        if MASK_COLUMN in table.column_names:
            keep = _flat(table, MASK_COLUMN, self.what, like=lengths)[0] != 0
        types = (
            _flat(table, TYPES_COLUMN, self.what, like=lengths)[0]
            if TYPES_COLUMN in table.column_names
            else None
        )
        self._check_range(ids, lengths, before)
        row_of = np.repeat(np.arange(len(lengths)), lengths)
        lengths = np.bincount(row_of[keep], minlength=len(lengths)).astype(np.int64)
        ids, row_of = ids[keep], row_of[keep]
        types = types[keep] if types is not None else None
        cut = self._truncation(ids, lengths, row_of)
        self.rows += len(lengths)
        self.truncated += int((lengths > self.max_length).sum())
        return Encoded(
            input_ids=ids[cut].astype(ids_dtype(self.vocab_size)),
            token_type_ids=types[cut].astype(np.uint8) if types is not None else None,
            lengths=np.minimum(lengths, self.max_length),
            labels=np.asarray(labels, dtype=np.int32),
        )

    def _check_range(self, ids: np.ndarray, lengths: np.ndarray, before: int) -> None:
        bad = np.flatnonzero((ids < 0) | (ids >= self.vocab_size))
        if len(bad):
            row = int(np.searchsorted(np.cumsum(lengths), bad[0], side="right"))
            raise DataError(
                f"{self.what}: row {before + row + 1} holds token id {int(ids[bad[0]])}, outside --model's "
                f"vocabulary of {self.vocab_size} tokens: the ids were made for another model; tokenize the data "
                "with --model's tokenizer"
            )

    def _truncation(self, ids: np.ndarray, lengths: np.ndarray, row_of: np.ndarray) -> np.ndarray:
        """Which tokens stay: all of a row up to --max-length; of a longer row the first ones and, when it ends
        in a special token, that token last."""
        if not len(lengths) or lengths.max() <= self.max_length:
            return np.ones(len(ids), dtype=bool)
        starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        position = np.arange(len(ids)) - starts[row_of]
        row_length = lengths[row_of]
        last = ids[np.maximum(starts + lengths - 1, 0)] if len(ids) else np.zeros(len(lengths), ids.dtype)
        ends_special = (np.isin(last, list(self.special_ids)) & (lengths > 0))[row_of]
        head = self.max_length - ends_special.astype(np.int64)
        return (
            (row_length <= self.max_length)
            | (position < head)
            | (ends_special & (position == row_length - 1))
        )

    def log_truncated(self, source: str) -> None:
        if self.truncated:
            log.info(
                "%s: %d of %d pre-tokenized rows were longer than --max-length %d and were truncated",
                source,
                self.truncated,
                self.rows,
                self.max_length,
            )


def _flat(
    table: pa.Table, column: str, what: str, like: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A list column's values, flat, and each row's length; `like`: the lengths they must have (the ids')."""
    values = table.column(column).combine_chunks()
    if not pa.types.is_list(values.type) and not pa.types.is_large_list(values.type):
        raise DataError(f"{what}: column '{column}' holds {values.type}, not lists of token ids")
    if values.null_count:
        raise DataError(f"{what}: column '{column}' has {values.null_count} empty row(s): drop or fill them")
    lengths = pc.list_value_length(values).to_numpy(zero_copy_only=False).astype(np.int64)
    if like is not None and not np.array_equal(lengths, like):
        raise DataError(
            f"{what}: column '{column}' does not have as many entries as {IDS_COLUMN} in every row"
        )
    return values.flatten().to_numpy(zero_copy_only=False).astype(np.int64), lengths
