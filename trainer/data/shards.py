"""The shards of a data set, fetched one ahead of their reader and deleted behind it.

A prefix of shards in object storage is not downloaded whole before reading starts: `ShardStream` downloads the
next shard while the reader works through the current one, and deletes each once the reader moves on, so scratch
disk holds at most two raw shards (the one being read, the one arriving) however many the prefix has. Local
shards are read in place.
"""

import logging
import shutil
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from trainer.errors import DataError
from trainer.storage import Location, ObjectInfo, Storage

T = TypeVar("T")

log = logging.getLogger(__name__)

AHEAD = 1
"""Shards downloaded ahead of the one being read: with it, at most two raw shards are on scratch disk at once."""


def is_data_file(relative: str) -> bool:
    """Skip markers and hidden files that sit beside shards (`_SUCCESS`, `.crc`, `_metadata`)."""
    return not any(part.startswith(("_", ".")) for part in Path(relative).parts)


def only_data(found: list[T], loc: Location, flag: str) -> list[T]:
    if not found:
        raise DataError(f"{loc} holds no data files (only markers or hidden files): fix {flag}")
    return found


def data_objects(loc: Location, storage: Storage, flag: str = "--data") -> list[ObjectInfo]:
    """The data shards at `loc` (one object or every shard under the prefix, name order; markers skipped)."""
    return only_data([info for info in storage.list(loc) if is_data_file(info.relative)], loc, flag)


def object_record(infos: Sequence[ObjectInfo]) -> list[dict[str, object]]:
    """uri, size and etag of every object read, for run.json and metrics.json."""
    return [{"uri": str(info.location), "size": info.size, "etag": info.etag} for info in infos]


@dataclass
class ShardStream:
    """`(info, local path)` of each shard in order; a shard downloaded here is deleted once the loop moves past
    it (or ends), and the next one downloads while the current one is read. `peak_bytes` is the most raw data
    this stream had on disk at once."""

    storage: Storage
    infos: Sequence[ObjectInfo]
    dest: Path
    what: str = "data"
    """How the log names the data."""
    peak_bytes: int = field(default=0, init=False)

    def __iter__(self) -> Iterator[tuple[ObjectInfo, Path]]:
        if not any(info.location.is_s3 for info in self.infos):
            yield from ((info, info.location.path) for info in self.infos)
            return
        pending: deque[tuple[ObjectInfo, Path, Future[Path]]] = deque()
        upcoming = iter(enumerate(self.infos))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shard-download") as pool:
            try:
                for _ in range(1 + AHEAD):
                    self._submit(pool, upcoming, pending)
                while pending:
                    info, folder, future = pending[0]
                    path = future.result()
                    self.peak_bytes = max(self.peak_bytes, sum(i.size for i, _, _ in pending))
                    yield info, path
                    pending.popleft()
                    shutil.rmtree(folder, ignore_errors=True)
                    self._submit(pool, upcoming, pending)
                log.info(
                    "%s: %d part(s) downloaded one ahead and deleted once read; at most %.2f MB of them on scratch "
                    "at once",
                    self.what,
                    len(self.infos),
                    self.peak_bytes / 1e6,
                )
            finally:
                for _, folder, future in pending:
                    if not future.cancel():
                        future.exception()  # wait for a running download before removing its folder
                    shutil.rmtree(folder, ignore_errors=True)

    def _submit(
        self,
        pool: ThreadPoolExecutor,
        upcoming: Iterator[tuple[int, ObjectInfo]],
        pending: deque[tuple[ObjectInfo, Path, Future[Path]]],
    ) -> None:
        entry = next(upcoming, None)
        if entry is None:
            return
        index, info = entry
        folder = self.dest / f"{index:05d}"  # shards of different sub-folders may share a base name
        pending.append((info, folder, pool.submit(self._download, info, folder)))

    def _download(self, info: ObjectInfo, folder: Path) -> Path:
        if not info.location.is_s3:
            return info.location.path
        ((_, path),) = self.storage.download(info.location, folder)
        return path
