"""`Storage`: list, download, upload and publish objects in S3-compatible storage or on the local disk.

This is the trainer's only edge to object storage. Callers pass `Location`s and get `ObjectInfo`s and local
paths back; every failure leaves as a `TrainerError` (see `failures.translate`). The boto3 client is injected
(tests, custom sessions) or built lazily from the standard AWS chain, so importing this module does no I/O.
"""

from __future__ import annotations

import builtins
import fnmatch
import stat
import threading
from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from trainer.errors import DataError, NotFoundError, UsageError
from trainer.storage.client import TRANSFER_CONCURRENCY, default_transfer_config, make_client
from trainer.storage.failures import translate, translated
from trainer.storage.localfs import delete_local, walk_files, write_atomic
from trainer.storage.renewal import retry_once_renewed
from trainer.storage.transfers import Transfers
from trainer.storage.uri import S3_SCHEME, Location

DELETE_BATCH_MAX_KEYS = 1000
"""DeleteObjects accepts at most 1,000 keys per request (AWS S3 API reference)."""


@dataclass(frozen=True)
class ObjectInfo:
    """One object (or local file) found by `Storage.list`."""

    location: Location
    size: int
    etag: str | None
    relative: str
    """Path relative to the listed prefix, '/'-separated; the basename when a single object was listed."""


class Storage:
    """Object storage and local-disk operations behind one interface.

    Transfers run concurrently (`workers` requests at a time; see `transfers`); large objects use multipart
    transfers; downloads land under a temporary name and are renamed when complete, so a half-written file never
    looks complete.
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
        self._transfers = Transfers(
            lambda: self.client, transfer_config or default_transfer_config(), workers, lambda: self.endpoint
        )

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

    def _translated(self, loc: Location) -> AbstractContextManager[None]:
        return translated(loc, lambda: self.endpoint)

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
            self._transfers.download([(info.location, info.size, dest) for info, dest in pairs])
        else:
            self._transfers.copy([(info.location.path, dest) for info, dest in pairs])
        return pairs

    @retry_once_renewed
    def upload_file(self, path: Path, loc: Location) -> None:
        self._transfers.put([(path, loc)])

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
        self._transfers.put(pairs)
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
