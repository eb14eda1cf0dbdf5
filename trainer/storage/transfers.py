"""How `Storage` moves bytes: concurrent transfers, multipart for large objects, one request for small ones.

Large objects (at or above the multipart threshold) go through s3transfer's manager; small ones take one GET or
PUT each on a thread pool, which is cheaper than a managed transfer; local copies run on the same pool. Every job
of a batch is submitted at once and the first failure is raised, translated (`failures.translate`), once they all
finished. Downloads land under a temporary name and are renamed when complete.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import (
    ConnectionClosedError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from s3transfer.subscribers import BaseSubscriber

from trainer.storage.failures import translate, translated
from trainer.storage.localfs import COPY_BUFFER_BYTES, write_atomic, write_chunks
from trainer.storage.uri import Location

if TYPE_CHECKING:
    from s3transfer.futures import TransferFuture
    from s3transfer.manager import TransferManager

SMALL_DOWNLOAD_ATTEMPTS = 3
"""Reads of a small object's body that break mid-stream are retried (botocore retries only the request);
s3transfer does the same for managed downloads."""

_STREAM_ERRORS = (
    ReadTimeoutError,
    IncompleteReadError,
    ResponseStreamingError,
    ConnectionClosedError,
    ConnectionError,
)


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
        threshold = self._config.multipart_threshold
        self._transfer(
            [
                (
                    loc,
                    lambda m, loc=loc, size=size, dest=dest: m.download(
                        loc.bucket, loc.key, str(dest), subscribers=[_KnownSize(size)]
                    ),
                )
                for loc, size, dest in objects
                if size >= threshold
            ]
        )
        self.run_all(
            [
                (loc, lambda loc=loc, dest=dest: self._get_small(loc, dest))
                for loc, size, dest in objects
                if size < threshold
            ]
        )

    def put(self, pairs: Sequence[tuple[Path, Location]]) -> None:
        """Each local file to its location (S3 object or local path); the sizes are read first."""
        threshold = self._config.multipart_threshold
        with translated(pairs[0][1] if pairs else Location.local(Path.cwd()), self._endpoint):
            sizes = {path: path.stat().st_size for path, _ in pairs}
        self._transfer(
            [
                (target, lambda m, path=path, target=target: m.upload(str(path), target.bucket, target.key))
                for path, target in pairs
                if target.is_s3 and sizes[path] >= threshold
            ]
        )
        self.run_all(
            [
                (target, lambda path=path, target=target: self._put_small(path, target))
                for path, target in pairs
                if target.is_s3 and sizes[path] < threshold
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

    def _get_small(self, loc: Location, dest: Path) -> None:
        """One GET streamed to a temporary file: for small objects, cheaper than a managed transfer."""
        for attempt in range(1, SMALL_DOWNLOAD_ATTEMPTS + 1):
            try:
                body = self._client().get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
                with body:
                    write_atomic(
                        dest, lambda out, body=body: write_chunks(out, body.iter_chunks(COPY_BUFFER_BYTES))
                    )
                return
            except _STREAM_ERRORS:
                if attempt == SMALL_DOWNLOAD_ATTEMPTS:
                    raise

    def _put_small(self, path: Path, loc: Location) -> None:
        """One PUT from the open file (botocore rewinds it on retry): cheaper than a managed transfer."""
        with path.open("rb") as body:
            self._client().put_object(Bucket=loc.bucket, Key=loc.key, Body=body)
