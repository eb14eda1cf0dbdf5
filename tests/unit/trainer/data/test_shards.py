"""Shards of a prefix arrive one ahead of their reader and leave behind it: scratch holds at most two raw shards
(the one being read, the next one), never the whole prefix. Loopback S3 (moto)."""

import uuid
from pathlib import Path

import pytest

from support.s3servers import S3Endpoint
from trainer.data.shards import ShardStream, data_objects
from trainer.errors import DataError, NotFoundError
from trainer.storage import Location, Storage

SHARDS = 6
SHARD_BYTES = 3000


@pytest.fixture(scope="module")
def prefix(moto_s3: S3Endpoint) -> Location:
    bucket = f"shards-{uuid.uuid4().hex[:8]}"
    client = moto_s3.client()
    client.create_bucket(Bucket=bucket)
    for i in range(SHARDS):
        client.put_object(Bucket=bucket, Key=f"data/part-{i:05d}.csv", Body=(b"%d" % i) * SHARD_BYTES)
    client.put_object(Bucket=bucket, Key="data/_SUCCESS", Body=b"")
    return Location.parse(f"s3://{bucket}/data")


def raw_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_shards_arrive_in_order_with_at_most_two_on_disk(
    moto_s3: S3Endpoint, prefix: Location, tmp_path: Path
) -> None:
    storage = Storage(moto_s3.client())
    infos = data_objects(prefix, storage)
    assert [i.relative for i in infos] == [f"part-{i:05d}.csv" for i in range(SHARDS)]  # marker skipped
    stream = ShardStream(storage, infos, tmp_path / "raw")
    on_disk = []
    for index, (info, path) in enumerate(stream):
        assert path.read_bytes() == (b"%d" % index) * SHARD_BYTES and info is infos[index]
        on_disk.append(len(raw_files(tmp_path / "raw")))
    assert max(on_disk) <= 2 and on_disk[0] >= 1
    assert raw_files(tmp_path / "raw") == []  # every shard deleted once read
    assert stream.peak_bytes <= 2 * SHARD_BYTES


def test_leaving_early_removes_what_was_downloaded(
    moto_s3: S3Endpoint, prefix: Location, tmp_path: Path
) -> None:
    storage = Storage(moto_s3.client())
    stream = iter(ShardStream(storage, data_objects(prefix, storage), tmp_path / "raw"))
    next(stream)
    stream.close()  # a reader that stops (a --max-train-samples limit, an error) leaves nothing behind
    assert raw_files(tmp_path / "raw") == []


def test_local_shards_are_read_in_place_and_kept(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"part-{i}.csv").write_text("text,label\n")
    storage = Storage()
    infos = data_objects(Location.local(tmp_path), storage)
    assert [path for _, path in ShardStream(storage, infos, tmp_path / "raw")] == [
        tmp_path / f"part-{i}.csv" for i in range(3)
    ]
    assert all((tmp_path / f"part-{i}.csv").exists() for i in range(3))


def test_a_prefix_of_markers_only_or_nothing_is_named(moto_s3: S3Endpoint, prefix: Location) -> None:
    storage = Storage(moto_s3.client())
    marker_only = Location.parse(f"s3://{prefix.bucket}/data/_SUCCESS")
    with pytest.raises(DataError, match=r"holds no data files \(only markers or hidden files\): fix --data"):
        data_objects(marker_only, storage)
    with pytest.raises(NotFoundError, match="no object or prefix"):
        data_objects(Location.parse(f"s3://{prefix.bucket}/nothing-here"), storage)
