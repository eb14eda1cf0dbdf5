"""Parse and build storage locations: `s3://bucket/key`, `file:///abs/path` and plain local paths.

Pure: no network, no file system access beyond resolving a relative path against the working directory.
A malformed URI is a `UsageError` naming the problem, raised here so no I/O starts with a bad value.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import unquote

from trainer.errors import UsageError

S3_SCHEME = "s3"
FILE_SCHEME = "file"

BUCKET_NAME_MIN_LENGTH = 3
BUCKET_NAME_MAX_LENGTH = 63
"""Bucket names are 3 to 63 characters (AWS S3 general purpose bucket naming rules,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)."""

_BUCKET_NAME_RE = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")
"""Lowercase letters, digits, dots and hyphens; begins and ends with a letter or digit (same AWS rules)."""

_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", ".mrap", "--table-s3")
"""Reserved by AWS S3 (same page as above); S3-compatible stores follow the same rules."""

S3_KEY_MAX_BYTES = 1024
"""An object key is at most 1,024 bytes of UTF-8 (AWS S3 "Naming Amazon S3 objects")."""

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def _check_bucket(bucket: str, uri: str) -> None:
    problem = None
    if not BUCKET_NAME_MIN_LENGTH <= len(bucket) <= BUCKET_NAME_MAX_LENGTH:
        problem = f"must be {BUCKET_NAME_MIN_LENGTH} to {BUCKET_NAME_MAX_LENGTH} characters"
    elif not _BUCKET_NAME_RE.fullmatch(bucket):
        problem = "may contain only a-z, 0-9, '.' and '-', and must start and end with a letter or digit"
    elif ".." in bucket:
        problem = "must not contain two adjacent periods"
    elif bucket.startswith(_RESERVED_BUCKET_PREFIXES) or bucket.endswith(_RESERVED_BUCKET_SUFFIXES):
        problem = "uses a prefix or suffix reserved by S3"
    else:
        try:
            ipaddress.IPv4Address(bucket)
            problem = "must not be formatted as an IP address"
        except ValueError:
            pass
    if problem:
        raise UsageError(f"invalid bucket name {bucket!r} in {uri!r}: a bucket name {problem}")


def _check_key(key: str, uri: str) -> None:
    if not key:
        return
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise UsageError(
            f"invalid object key in {uri!r}: empty, '.' or '..' path segments are not allowed; fix the URI"
        )
    if len(key.encode()) > S3_KEY_MAX_BYTES:
        raise UsageError(f"object key in {uri[:80]!r}... is longer than {S3_KEY_MAX_BYTES} bytes: shorten it")


@dataclass(frozen=True)
class Location:
    """Where data lives: an S3 bucket and key (or prefix), or an absolute local path.

    For S3, `key` is the object key or prefix without leading or trailing slash ("" is the bucket root).
    For local locations, `key` holds the absolute POSIX path and `bucket` is "".
    """

    scheme: Literal["s3", "file"]
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str | os.PathLike[str]) -> Location:
        """Parse `s3://bucket[/key]`, `file:///abs/path` or a local path (made absolute, `~` expanded)."""
        if isinstance(uri, os.PathLike):
            uri = os.fspath(uri)
        if not isinstance(uri, str) or not uri.strip():
            raise UsageError("empty storage location: give an s3://bucket/key URI or a local path")
        uri = uri.strip()
        match = _SCHEME_RE.match(uri)
        if match is None:
            return cls.local(Path(uri))
        scheme = match.group(1).lower()
        rest = uri[match.end() :]
        if scheme == S3_SCHEME:
            bucket, _, key = rest.partition("/")
            if not bucket:
                raise UsageError(f"missing bucket name in {uri!r}: use s3://bucket/key")
            _check_bucket(bucket, uri)
            key = key.rstrip("/")
            _check_key(key, uri)
            return cls(S3_SCHEME, bucket, key)
        if scheme == FILE_SCHEME:
            host, slash, path = rest.partition("/")
            if host not in ("", "localhost"):
                raise UsageError(f"file URI {uri!r} names host {host!r}: use file:///absolute/path")
            if not slash:
                raise UsageError(f"file URI {uri!r} has no path: use file:///absolute/path")
            return cls.local(Path("/" + unquote(path)))
        raise UsageError(
            f"unsupported storage scheme {scheme!r} in {uri!r}: use s3://bucket/key or a local path"
        )

    @classmethod
    def local(cls, path: Path) -> Location:
        """A local location; a relative path is made absolute against the working directory."""
        # abspath, not resolve(): normalise '..' without following symlinks the user named on purpose.
        absolute = os.path.abspath(Path(path).expanduser())  # noqa: PTH100
        return cls(FILE_SCHEME, "", PurePosixPath(absolute).as_posix())

    @property
    def is_s3(self) -> bool:
        return self.scheme == S3_SCHEME

    @property
    def path(self) -> Path:
        """The local path; only for local locations."""
        if self.is_s3:
            raise ValueError(f"{self} is an S3 location, not a local path")
        return Path(self.key)

    @property
    def name(self) -> str:
        """The last path component (the bucket name for a bucket root)."""
        if self.is_s3:
            return self.key.rsplit("/", 1)[-1] if self.key else self.bucket
        return self.path.name

    def join(self, *parts: str) -> Location:
        """A location below this one; each part may contain '/' separators."""
        segments = [segment for part in parts for segment in part.strip("/").split("/") if segment]
        if any(segment in (".", "..") for segment in segments):
            raise UsageError(f"cannot join {parts!r} to {self}: '.' and '..' segments are not allowed")
        if not segments:
            return self
        if self.is_s3:
            key = "/".join([self.key, *segments] if self.key else segments)
            _check_key(key, f"{S3_SCHEME}://{self.bucket}/{key}")
            return Location(S3_SCHEME, self.bucket, key)
        return Location.local(self.path.joinpath(*segments))

    def __str__(self) -> str:
        if self.is_s3:
            return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"
        return self.path.as_uri()
