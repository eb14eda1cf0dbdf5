"""The same round trip against SeaweedFS, a second independent S3 implementation (with auth enforced)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from support.s3servers import S3Endpoint
from trainer.errors import AccessDeniedError, NotFoundError
from trainer.storage import Location

pytestmark = pytest.mark.slow

MIB = 1024 * 1024


def test_round_trip_tree_large_object_and_marker(
    seaweed_s3: S3Endpoint, make_storage: Any, make_bucket: Any, tmp_path: Path
) -> None:
    storage = make_storage(seaweed_s3)
    bucket = make_bucket(seaweed_s3)
    src = tmp_path / "src"
    files = {f"shard-{i % 3}/part-{i:03d}.jsonl": f"row {i}\n".encode() for i in range(60)}
    files["model/weights.bin"] = os.urandom(20 * MIB)
    for relative, body in files.items():
        (src / relative).parent.mkdir(parents=True, exist_ok=True)
        (src / relative).write_bytes(body)
    out = Location.parse(f"s3://{bucket}/runs/r1")
    storage.publish(src, out, marker_body=b"ok")
    etag = seaweed_s3.client().head_object(Bucket=bucket, Key="runs/r1/model/weights.bin")["ETag"]
    assert re.fullmatch(r'"?[0-9a-f]{32}-\d+"?', etag), etag
    assert storage.read_bytes(out.join("_SUCCESS")) == b"ok"
    pairs = storage.download(out, tmp_path / "dest")
    got = {info.relative: path.read_bytes() for info, path in pairs}
    assert got == {**files, "_SUCCESS": b"ok"}
    assert storage.delete_prefix(out) == len(files) + 1
    with pytest.raises(NotFoundError, match=f"no object or prefix s3://{bucket}/runs/r1"):
        storage.list(out)


def test_missing_bucket_and_wrong_credentials(
    seaweed_s3: S3Endpoint, make_storage: Any, make_bucket: Any
) -> None:
    with pytest.raises(NotFoundError, match="bucket 'no-such-bucket-here' does not exist"):
        make_storage(seaweed_s3).list(Location.parse("s3://no-such-bucket-here/x"))
    bucket = make_bucket(seaweed_s3)
    bad = make_storage(seaweed_s3.with_credentials("wrong-key", "wrong-secret"))
    with pytest.raises(AccessDeniedError, match=f"access denied to s3://{bucket}/x"):
        bad.list(Location.parse(f"s3://{bucket}/x"))
