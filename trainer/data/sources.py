"""Where a verb's rows come from, behind one interface, whatever holds them:

- table files (CSV, TSV, JSON Lines, Parquet): one object or a prefix of shards, streamed (`shards`, `tables`);
- a 🤗 Datasets `save_to_disk` folder, a Dataset or a DatasetDict, local or under an s3:// prefix (`disk_datasets`);
- a dataset that `datasets.load_dataset` reads, a Hub id or a local dataset folder, streamed (`hub_datasets`).

`open_collection` looks at the location once and returns a collection: named splits (a DatasetDict, a Hub dataset)
or none (files, a single Dataset). Its `source(split)` is a `RowSource`: the parts in order (a shard, an Arrow
file, a stream shard), each read in tables of a few thousand rows, plus what the data declares (column names, the
label names of `ClassLabel` columns). Only the last two kinds import `datasets`, so files cost nothing extra.
"""

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pyarrow as pa

from trainer.data import tables
from trainer.data.disk_datasets import DiskDatasets, is_saved_dataset
from trainer.data.hub_datasets import HubDatasets
from trainer.data.rows import Collection, Part, RowSource
from trainer.data.shards import ShardStream, is_data_file, object_record, only_data
from trainer.errors import NotFoundError, UsageError
from trainer.settings.data import HubDatasetArguments
from trainer.storage import Location, ObjectInfo, Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataSpec:
    """What one set of rows is named by: a location (`--train-data`, `--eval-data`, `--data`) or a dataset for
    `datasets.load_dataset` (`--dataset-name` with its config and revision). Parsed before anything runs, so a
    malformed URI fails at once."""

    flag: str
    location: Location | None = None
    dataset: HubDatasetArguments | None = None
    given: str | None = None
    """The location as the user wrote it: messages name it so."""

    @classmethod
    def parse(cls, location: str | None, flag: str, hub: HubDatasetArguments) -> "DataSpec":
        if location is not None:
            return cls(flag, location=Location.parse(location), given=location)
        return cls("--dataset-name", dataset=hub)

    @property
    def name(self) -> str:
        return self.given or str(self.location)


def open_collection(spec: DataSpec, storage: Storage, work: Path, data_format: str) -> Collection:
    """The collection `spec` names; `work` holds what is downloaded for it (raw parts are deleted once read)."""
    if spec.dataset is not None:
        return HubDatasets.open(spec.dataset)
    assert spec.location is not None
    infos = storage.list(spec.location)
    if is_saved_dataset(infos):
        return DiskDatasets(spec.location, infos, storage, work, spec.flag, spec.name)
    return TableFiles.of(spec.location, infos, storage, work, spec.flag, data_format, name=spec.name)


def open_source(
    spec: DataSpec, storage: Storage, work: Path, data_format: str, split: str | None, defaults: Sequence[str]
) -> RowSource:
    """The rows evaluate and predict read: `spec`'s, of --split (else the first of `defaults` there, else its only
    split)."""
    collection = open_collection(spec, storage, work, data_format)
    chosen = choose_split(collection, split, defaults, "--split")
    if chosen is not None:
        how = "--split" if split else f"by default {', else '.join(defaults)}; --split picks another"
        log.info("data: split '%s' of %s (%s)", chosen, collection.what, how)
    return collection.source(chosen, "pick a labelled split with --split")


def choose_split(
    collection: Collection,
    requested: str | None,
    defaults: Sequence[str],
    flag: str,
    *,
    required: bool = True,
    lone: bool = True,
) -> str | None:
    """The split to read: `requested`, else the first of `defaults` the collection has, else (`lone`) its only
    split. None for a collection without splits, or when none fits and the split is not `required`."""
    available = collection.splits
    if not available:
        if requested is not None:
            raise UsageError(
                f"{flag} picks a split of a DatasetDict folder or a --dataset-name dataset, and "
                f"{collection.what} has no splits: drop {flag}"
            )
        return None
    names = ", ".join(available)
    if requested is not None:
        if requested not in available:
            raise NotFoundError(
                f"{collection.what} has no split '{requested}'; its splits are {names}: fix {flag}"
            )
        return requested
    found = next((name for name in defaults if name in available), None)
    if found is None and lone and len(available) == 1:
        found = available[0]
    if found is None and required:
        wanted = " or ".join(f"'{name}'" for name in defaults)
        raise NotFoundError(
            f"{collection.what} has no split {wanted}; its splits are {names}: name one with {flag}"
        )
    return found


@dataclass(frozen=True)
class TableFiles:
    """CSV, TSV, JSON Lines or Parquet: one object or the shards under a prefix (name order, markers skipped)."""

    location: Location
    infos: list[ObjectInfo]
    fmt: str
    storage: Storage
    work: Path
    what: str
    """The location as the user wrote it."""
    splits: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        loc: Location,
        infos: list[ObjectInfo],
        storage: Storage,
        work: Path,
        flag: str,
        data_format: str,
        *,
        name: str | None = None,
    ) -> "TableFiles":
        shards = only_data([info for info in infos if is_data_file(info.relative)], loc, flag)
        fmt = tables.one_format([Path(i.relative) for i in shards], data_format)
        return cls(loc, shards, fmt, storage, work, name or str(loc))

    def source(self, split: str | None, other_split: str) -> RowSource:
        return RowSource(
            what=self.what,
            parts=self._parts,
            names=tuple(info.relative for info in self.infos),
            record=object_record(self.infos),
        )

    def _parts(self) -> Iterator[Part]:
        for info, path in ShardStream(self.storage, self.infos, self.work / "raw", self.what):
            uri = str(info.location)
            yield Part(uri, info.relative, partial(_read_table_file, path, self.fmt, uri))


def _read_table_file(
    path: Path, fmt: str, uri: str, columns: Mapping[str, str], chunk_rows: int, text: set[str]
) -> Iterator[pa.Table]:
    return tables.read_chunks(path, fmt, columns, uri, chunk_rows, text=text)
