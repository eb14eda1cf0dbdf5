"""How `Storage` moves bytes: every object through s3transfer's manager, concurrently, multipart when large.

One path for every size: the manager sends one GET or PUT below the multipart threshold and parts above it, retries
a body that breaks mid-stream, and downloads under a temporary name that is renamed when complete. A separate
single-request path for small objects measured no faster (benchmarks/README.md, "Object storage"). Local copies
run on a thread pool. Every job of a batch is submitted at once and the first failure is raised, translated
(`failures.translate`), once they all finished.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from s3transfer.subscribers import BaseSubscriber

from trainer.storage.failures import translate, translated
from trainer.storage.localfs import COPY_BUFFER_BYTES, write_atomic
from trainer.storage.uri import Location

if TYPE_CHECKING:
    from s3transfer.futures import TransferFuture
    from s3transfer.manager import TransferManager


class _KnownSize(BaseSubscriber):
    """Tells s3transfer the size from the listing, saving one HEAD request per downloaded object."""

    def __init__(self, size: int) -> None:
        self._size = size

    def on_queued(self, future: TransferFuture, **kwargs: Any) -> None:
        future.meta.provide_transfer_size(self._size)


class Transfers:
    """Batches of downloads, uploads and local copies for one `Storage` (its client, settings and endpoint)."""

    def __init__(
        self,
        client: Callable[[], Any],
        config: TransferConfig,
        workers: int,
        endpoint: Callable[[], str | None],
    ) -> None:
        self._client = client
        self._config = config
        self._workers = workers
        self._endpoint = endpoint

    def download(self, objects: Sequence[tuple[Location, int, Path]]) -> None:
        """Each S3 object (location, size) into its local path."""
        self._transfer(
            [
                (
                    loc,
                    lambda m, loc=loc, size=size, dest=dest: m.download(
                        loc.bucket, loc.key, str(dest), subscribers=[_KnownSize(size)]
                    ),
                )
                for loc, size, dest in objects
            ]
        )

    def put(self, pairs: Sequence[tuple[Path, Location]]) -> None:
        """Each local file to its location (S3 object or local path)."""
        self._transfer(
            [
                (target, lambda m, path=path, target=target: m.upload(str(path), target.bucket, target.key))
                for path, target in pairs
                if target.is_s3
            ]
        )
        self.copy([(path, target.path) for path, target in pairs if not target.is_s3])

    def copy(self, pairs: Sequence[tuple[Path, Path]]) -> None:
        def copy(src: Path, dest: Path) -> None:
            with src.open("rb") as inp:
                write_atomic(dest, lambda out: shutil.copyfileobj(inp, out, COPY_BUFFER_BYTES))

        self.run_all([(Location.local(src), lambda s=src, d=dest: copy(s, d)) for src, dest in pairs])

    def run_all(self, jobs: Sequence[tuple[Location, Callable[[], None]]]) -> None:
        """Run the jobs on `workers` threads; raise the first failure once every job has finished."""
        if not jobs:
            return
        with ThreadPoolExecutor(max_workers=min(self._workers, len(jobs))) as pool:
            futures = [(loc, pool.submit(job)) for loc, job in jobs]
        self._raise_first_failure(futures)

    def _transfer(self, jobs: Sequence[tuple[Location, Callable[[TransferManager], Future[Any]]]]) -> None:
        """Submit every job (a function of the transfer manager) at once; raise the first failure, if any."""
        if not jobs:
            return
        with (
            translated(jobs[0][0], self._endpoint),
            create_transfer_manager(self._client(), self._config) as manager,
        ):
            self._raise_first_failure([(loc, submit(manager)) for loc, submit in jobs])

    def _raise_first_failure(self, futures: Sequence[tuple[Location, Future[Any]]]) -> None:
        failure: tuple[Location, BaseException] | None = None
        for loc, future in futures:
            try:
                future.result()
            except Exception as e:
                failure = failure or (loc, e)
        if failure is not None:
            loc, error = failure
            raise translate(error, loc, self._endpoint()) from error
