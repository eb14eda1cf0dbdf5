"""🤗 Datasets `save_to_disk` folders as data: a Dataset (`state.json`, `dataset_info.json`, `data-*.arrow`) or a
DatasetDict (`dataset_dict.json` and one such folder per split), local or under an s3:// prefix.

They are read with the project's own storage code, not through fsspec, so they need neither s3fs nor the network
(`HF_HUB_OFFLINE=1` is fine). A split's Arrow files, in the order its `state.json` lists them, are streamed like
shards (`ShardStream`: one downloaded ahead, each deleted once read) and read record batch by record batch (the
Arrow IPC stream save_to_disk writes): scratch disk holds at most two Arrow files (save_to_disk cuts them at 500 MB
by default) and memory one batch. The rows come in `load_from_disk`'s order (save_to_disk writes a shuffle or a
selection flattened). `datasets` is imported only to read the features: the names of `ClassLabel` columns.

A pre-tokenized folder (rows with `input_ids`) keeps the tokenizer that made them in `tokenizer/` beside its splits.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from trainer.data import tables
from trainer.data.pretokenized import TOKENIZER_DIR
from trainer.data.rows import Part, RowSource
from trainer.data.shards import ShardStream, object_record
from trainer.errors import DataError
from trainer.storage import Location, ObjectInfo, Storage

DICT_FILE = "dataset_dict.json"
STATE_FILE = "state.json"
INFO_FILE = "dataset_info.json"


def is_saved_dataset(infos: list[ObjectInfo]) -> bool:
    """Whether the listing is a save_to_disk folder: a DatasetDict's or a Dataset's files at its root."""
    names = {info.relative for info in infos}
    return DICT_FILE in names or {STATE_FILE, INFO_FILE} <= names


def declared(features: Any) -> tuple[tuple[str, ...] | None, dict[str, tuple[str, ...]]]:
    """Column names and the label names of `ClassLabel` columns, from datasets `Features` (None: unknown)."""
    from datasets import ClassLabel

    if features is None:
        return None, {}
    names = {c: tuple(f.names) for c, f in features.items() if isinstance(f, ClassLabel)}
    return tuple(features), names


@dataclass(frozen=True)
class DiskDatasets:
    """A save_to_disk folder: its splits (a DatasetDict) or none (a Dataset), each read as a `RowSource`."""

    location: Location
    infos: list[ObjectInfo]
    storage: Storage
    work: Path
    flag: str
    what: str
    """The location as the user wrote it."""

    @cached_property
    def splits(self) -> tuple[str, ...]:
        if not any(info.relative == DICT_FILE for info in self.infos):
            return ()
        return tuple(self._json(DICT_FILE).get("splits", []))

    def source(self, split: str | None, other_split: str) -> RowSource:
        from datasets import Features

        prefix = f"{split}/" if split else ""
        state, info = self._json(prefix + STATE_FILE), self._json(prefix + INFO_FILE)
        arrow = self._arrow_files(prefix, state)
        columns, class_labels = declared(
            Features.from_dict(info["features"]) if info.get("features") else None
        )
        what = f"split '{split}' of {self.what}" if split else self.what
        record = (
            [{**entry, "split": split} for entry in object_record(arrow)] if split else object_record(arrow)
        )
        return RowSource(
            what=what,
            parts=partial(self._parts, arrow, split or "data"),
            names=tuple(info.relative for info in arrow),
            record=record,
            columns=columns,
            class_labels=class_labels,
            other_split=other_split,
            unit="Arrow file(s)",
            tokenizer_dir=self._tokenizer,
        )

    def _arrow_files(self, prefix: str, state: Mapping[str, Any]) -> list[ObjectInfo]:
        by_name = {info.relative: info for info in self.infos}
        names = [prefix + entry["filename"] for entry in state.get("_data_files", [])]
        missing = [name for name in names if name not in by_name]
        if missing or not names:
            raise DataError(
                f"{self.what} is an incomplete save_to_disk folder: {prefix}{STATE_FILE} lists "
                f"{', '.join(missing) or 'no data files'}, which {'are' if len(missing) > 1 else 'is'} not there: "
                f"save it again or fix {self.flag}"
            )
        return [by_name[name] for name in names]

    def _json(self, relative: str) -> dict[str, Any]:
        try:
            return dict(json.loads(self.storage.read_bytes(self.location.join(relative))))
        except (ValueError, TypeError) as e:
            raise DataError(f"{self.what}: {relative} is not valid JSON ({e}): save the folder again") from e

    def _parts(self, arrow: list[ObjectInfo], split: str) -> Iterator[Part]:
        for info, path in ShardStream(self.storage, arrow, self.work / "raw" / split, self.what):
            uri = str(info.location)
            yield Part(uri, info.relative, partial(_read_arrow, path, uri))

    def _tokenizer(self) -> Path | None:
        """The `tokenizer/` folder beside the splits (downloaded from object storage), or None."""
        if not any(info.relative.startswith(f"{TOKENIZER_DIR}/") for info in self.infos):
            return None
        folder = self.location.join(TOKENIZER_DIR)
        if not folder.is_s3:
            return folder.path
        dest = self.work / TOKENIZER_DIR
        self.storage.download(folder, dest)
        return dest


def _read_arrow(
    path: Path, uri: str, columns: Mapping[str, str], chunk_rows: int, text: set[str]
) -> Iterator[pa.Table]:
    """The Arrow file's `columns`, `chunk_rows` rows at a time, one record batch in memory at a time."""
    try:
        with pa.OSFile(str(path)) as file:
            reader = pa.ipc.open_stream(file)
            tables.check_columns(uri, columns, reader.schema.names)
            yield from tables.rebatch((batch.select(list(columns)) for batch in reader), chunk_rows)
    except (pa.ArrowInvalid, OSError) as e:
        raise DataError(
            f"cannot read {uri} as an Arrow file of a save_to_disk folder: {tables.first_line(e)}"
        ) from e
