"""`Storage`: list, download, upload and publish objects in S3-compatible storage or on the local disk.

This is the trainer's only edge to object storage. Callers pass `Location`s and get `ObjectInfo`s and local
paths back; every failure leaves as a `TrainerError` (see `failures.translate`). The boto3 client is injected
(tests, custom sessions) or built lazily from the standard AWS chain, so importing this module does no I/O.
"""

from __future__ import annotations

import builtins
import fnmatch
import shutil
import stat
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from s3transfer.exceptions import RetriesExceededError
from s3transfer.subscribers import BaseSubscriber

from trainer.errors import DataError, NotFoundError, TrainerError, UsageError
from trainer.storage.client import TRANSFER_CONCURRENCY, default_transfer_config, make_client
from trainer.storage.failures import translate
from trainer.storage.localfs import COPY_BUFFER_BYTES, delete_local, walk_files, write_atomic, write_chunks
from trainer.storage.renewal import retry_once_renewed
from trainer.storage.uri import S3_SCHEME, Location

if TYPE_CHECKING:
    from s3transfer.futures import TransferFuture
    from s3transfer.manager import TransferManager

DELETE_BATCH_MAX_KEYS = 1000
"""DeleteObjects accepts at most 1,000 keys per request (AWS S3 API reference)."""

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


@dataclass(frozen=True)
class ObjectInfo:
    """One object (or local file) found by `Storage.list`."""

    location: Location
    size: int
    etag: str | None
    relative: str
    """Path relative to the listed prefix, '/'-separated; the basename when a single object was listed."""


class _KnownSize(BaseSubscriber):
    """Tells s3transfer the size from the listing, saving one HEAD request per downloaded object."""

    def __init__(self, size: int) -> None:
        self._size = size

    def on_queued(self, future: TransferFuture, **kwargs: Any) -> None:
        future.meta.provide_transfer_size(self._size)


class Storage:
    """Object storage and local-disk operations behind one interface.

    Transfers run concurrently (`workers` requests at a time); large objects use multipart transfers;
    downloads land under a temporary name and are renamed when complete, so a half-written file never looks
    complete.
    """

    def __init__(
        self,
        client: Any | None = None,
        *,
        transfer_config: TransferConfig | None = None,
        workers: int = TRANSFER_CONCURRENCY,
    ) -> None:
        self._client = client
        self._owns_client = client is None
        self._client_lock = threading.Lock()
        self._transfer_config = transfer_config or default_transfer_config()
        self._workers = workers

    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = make_client()
            return self._client

    def renew_client(self) -> bool:
        """Forget a client built here, so the next call builds one that resolves the credentials afresh."""
        with self._client_lock:
            if not self._owns_client:
                return False
            self._client = None
            return True

    @property
    def endpoint(self) -> str | None:
        return self._client.meta.endpoint_url if self._client is not None else None

    @contextmanager
    def _translated(self, loc: Location) -> Iterator[None]:
        try:
            yield
        except TrainerError:
            raise
        except (BotoCoreError, ClientError, OSError, RetriesExceededError) as e:
            raise translate(e, loc, self.endpoint) from e

    # Listing and small objects

    @retry_once_renewed
    def list(self, loc: Location) -> list[ObjectInfo]:
        """The object (or file) at `loc`, else every object under the prefix (directory) `loc`, sorted."""
        with self._translated(loc):
            infos = self._list_s3(loc) if loc.is_s3 else self._list_local(loc)
        return sorted(infos, key=lambda info: info.relative)

    def _list_s3(self, loc: Location) -> builtins.list[ObjectInfo]:
        if loc.key:
            try:
                head = self.client.head_object(Bucket=loc.bucket, Key=loc.key)
                return [ObjectInfo(loc, int(head["ContentLength"]), _etag(head.get("ETag")), loc.name)]
            except ClientError as e:
                if not _is_not_found(e):
                    raise
        prefix = f"{loc.key}/" if loc.key else ""
        infos = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=loc.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith("/"):
                    continue
                found = Location(S3_SCHEME, loc.bucket, key)
                infos.append(ObjectInfo(found, int(obj["Size"]), _etag(obj.get("ETag")), key[len(prefix) :]))
        if not infos:
            raise NotFoundError(
                f"no object or prefix {loc} at endpoint {self.endpoint}: "
                "check the URI (keys are case-sensitive)"
            )
        return infos

    @staticmethod
    def _list_local(loc: Location) -> builtins.list[ObjectInfo]:
        path = loc.path
        if path.is_file():
            return [ObjectInfo(loc, path.stat().st_size, None, path.name)]
        if not path.is_dir():
            raise NotFoundError(f"no such file or directory {path}: check the path")
        infos = [
            ObjectInfo(Location.local(file), file.stat().st_size, None, relative)
            for file, relative in walk_files(path)
            if file.is_file()
        ]
        if not infos:
            raise NotFoundError(f"directory {path} contains no files: check the path")
        return infos

    @retry_once_renewed
    def read_bytes(self, loc: Location) -> bytes:
        """The whole content of a small object or file (markers, JSON metadata)."""
        with self._translated(loc):
            if not loc.is_s3:
                return loc.path.read_bytes()
            return self.client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()

    @retry_once_renewed
    def write_bytes(self, loc: Location, data: bytes) -> None:
        with self._translated(loc):
            if loc.is_s3:
                self.client.put_object(Bucket=loc.bucket, Key=loc.key, Body=data)
            else:
                write_atomic(loc.path, lambda out: out.write(data))

    @retry_once_renewed
    def exists(self, loc: Location) -> bool:
        """Whether the object, file, directory or (for a bucket root) bucket exists."""
        if not loc.is_s3:
            return loc.path.exists()
        with self._translated(loc):
            try:
                if loc.key:
                    self.client.head_object(Bucket=loc.bucket, Key=loc.key)
                else:
                    self.client.head_bucket(Bucket=loc.bucket)
            except ClientError as e:
                if _is_not_found(e):
                    return False
                raise
        return True

    @retry_once_renewed
    def delete_prefix(self, loc: Location) -> int:
        """Delete the object at `loc` and everything under `loc/`; returns how many objects or files went."""
        with self._translated(loc):
            if not loc.is_s3:
                return delete_local(loc.path)
            if not loc.key:
                raise UsageError(f"refusing to delete the whole bucket {loc}: name a prefix inside it")
            keys = [loc.key] if self.exists(loc) else []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=loc.bucket, Prefix=f"{loc.key}/"):
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
            for start in range(0, len(keys), DELETE_BATCH_MAX_KEYS):
                batch = keys[start : start + DELETE_BATCH_MAX_KEYS]
                response = self.client.delete_objects(
                    Bucket=loc.bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
                )
                if response.get("Errors"):
                    first = response["Errors"][0]
                    failed = Location(S3_SCHEME, loc.bucket, first.get("Key", loc.key))
                    raise translate(ClientError({"Error": first}, "DeleteObjects"), failed, self.endpoint)
            return len(keys)

    # Transfers

    @retry_once_renewed
    def download(
        self, loc: Location, dest_dir: Path, *, copy_local: bool = False
    ) -> builtins.list[tuple[ObjectInfo, Path]]:
        """Fetch the object or every object under the prefix `loc` into `dest_dir`, keeping relative paths.

        A local `loc` is not copied unless `copy_local`: its own paths are returned (read, don't modify them).
        """
        infos = self.list(loc)
        if not loc.is_s3 and not copy_local:
            return [(info, info.location.path) for info in infos]
        pairs = [(info, _inside(dest_dir, info)) for info in infos]
        for parent in {dest.parent for _, dest in pairs}:
            with self._translated(Location.local(parent)):
                parent.mkdir(parents=True, exist_ok=True)
        if loc.is_s3:
            large = [
                (info, dest) for info, dest in pairs if info.size >= self._transfer_config.multipart_threshold
            ]
            self._transfer(
                [
                    (
                        info.location,
                        lambda m, info=info, dest=dest: m.download(
                            info.location.bucket,
                            info.location.key,
                            str(dest),
                            subscribers=[_KnownSize(info.size)],
                        ),
                    )
                    for info, dest in large
                ]
            )
            self._run_all(
                [
                    (info.location, lambda info=info, dest=dest: self._get_small(info.location, dest))
                    for info, dest in pairs
                    if info.size < self._transfer_config.multipart_threshold
                ]
            )
        else:
            self._copy_all([(info.location.path, dest) for info, dest in pairs])
        return pairs

    @retry_once_renewed
    def upload_file(self, path: Path, loc: Location) -> None:
        self._put_files([(path, loc)])

    @retry_once_renewed
    def upload_tree(
        self, src_dir: Path, loc: Location, *, exclude: Collection[str] = ()
    ) -> builtins.list[Location]:
        """Upload every file under `src_dir` to `loc/<relative path>`, concurrently.

        `exclude` holds glob patterns matched against each file's relative path ('/'-separated), e.g.
        "_SUCCESS" or "checkpoints/*". Every file is checked before the first upload starts.
        """
        source = Location.local(src_dir)
        if not src_dir.is_dir():
            raise NotFoundError(f"no such directory {src_dir}: check the path")
        with self._translated(source):
            pairs = []
            for path, relative in walk_files(src_dir):
                if any(fnmatch.fnmatchcase(relative, pattern) for pattern in exclude):
                    continue
                if not stat.S_ISREG(path.stat().st_mode):
                    raise DataError(f"{path} is not a regular file: remove it before uploading {src_dir}")
                pairs.append((path, loc.join(relative)))
        self._put_files(pairs)
        return [target for _, target in pairs]

    @retry_once_renewed
    def publish(
        self, src_dir: Path, loc: Location, marker: str = "_SUCCESS", marker_body: bytes = b""
    ) -> builtins.list[Location]:
        """Upload `src_dir` to `loc`, then write `marker` last: whoever sees the marker sees a complete run.

        A marker left by an earlier run is removed first, so it cannot vouch for files being replaced.
        """
        marker_loc = loc.join(marker)
        with self._translated(marker_loc):
            if marker_loc.is_s3:
                self.client.delete_object(Bucket=marker_loc.bucket, Key=marker_loc.key)  # no error if absent
            else:
                marker_loc.path.unlink(missing_ok=True)
        uploaded = self.upload_tree(src_dir, loc, exclude=(marker,))
        self.write_bytes(marker_loc, marker_body)
        return [*uploaded, marker_loc]

    def _put_files(self, pairs: Sequence[tuple[Path, Location]]) -> None:
        threshold = self._transfer_config.multipart_threshold
        with self._translated(pairs[0][1] if pairs else Location.local(Path.cwd())):
            sizes = {path: path.stat().st_size for path, _ in pairs}
        self._transfer(
            [
                (target, lambda m, path=path, target=target: m.upload(str(path), target.bucket, target.key))
                for path, target in pairs
                if target.is_s3 and sizes[path] >= threshold
            ]
        )
        self._run_all(
            [
                (target, lambda path=path, target=target: self._put_small(path, target))
                for path, target in pairs
                if target.is_s3 and sizes[path] < threshold
            ]
        )
        self._copy_all([(path, target.path) for path, target in pairs if not target.is_s3])

    def _transfer(self, jobs: Sequence[tuple[Location, Callable[[TransferManager], Future[Any]]]]) -> None:
        """Submit every job (a function of the transfer manager) at once; raise the first failure, if any."""
        if not jobs:
            return
        with (
            self._translated(jobs[0][0]),
            create_transfer_manager(self.client, self._transfer_config) as manager,
        ):
            self._raise_first_failure([(loc, submit(manager)) for loc, submit in jobs])

    def _run_all(self, jobs: Sequence[tuple[Location, Callable[[], None]]]) -> None:
        """Run the jobs on `workers` threads; raise the first failure once every job has finished."""
        if not jobs:
            return
        with ThreadPoolExecutor(max_workers=min(self._workers, len(jobs))) as pool:
            futures = [(loc, pool.submit(job)) for loc, job in jobs]
        self._raise_first_failure(futures)

    def _raise_first_failure(self, futures: Sequence[tuple[Location, Future[Any]]]) -> None:
        failure: tuple[Location, BaseException] | None = None
        for loc, future in futures:
            try:
                future.result()
            except Exception as e:
                failure = failure or (loc, e)
        if failure is not None:
            loc, error = failure
            raise translate(error, loc, self.endpoint) from error

    def _get_small(self, loc: Location, dest: Path) -> None:
        """One GET streamed to a temporary file: for small objects, cheaper than a managed transfer."""
        for attempt in range(1, SMALL_DOWNLOAD_ATTEMPTS + 1):
            try:
                body = self.client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
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
            self.client.put_object(Bucket=loc.bucket, Key=loc.key, Body=body)

    def _copy_all(self, pairs: Sequence[tuple[Path, Path]]) -> None:
        def copy(src: Path, dest: Path) -> None:
            with src.open("rb") as inp:
                write_atomic(dest, lambda out: shutil.copyfileobj(inp, out, COPY_BUFFER_BYTES))

        self._run_all([(Location.local(src), lambda s=src, d=dest: copy(s, d)) for src, dest in pairs])


def _etag(value: str | None) -> str | None:
    return value.strip('"') if value else None


def _is_not_found(error: ClientError) -> bool:
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket") or status == 404


def _inside(dest_dir: Path, info: ObjectInfo) -> Path:
    """Where `info` lands under `dest_dir`; a key with '..' or empty segments must not escape it."""
    parts = PurePosixPath(info.relative).parts
    if not parts or any(part in ("", ".", "..") for part in parts) or info.relative.startswith("/"):
        raise DataError(
            f"object {info.location} has a key that cannot be a local path ({info.relative!r}): "
            "rename the object"
        )
    return dest_dir.joinpath(*parts)
