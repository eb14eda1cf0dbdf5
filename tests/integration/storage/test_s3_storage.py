"""Storage against a real S3 HTTP server (moto in server mode) on loopback: no patched boto3."""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from support.s3servers import S3Endpoint, closed_port_url
from trainer.errors import AccessDeniedError, DataError, NotFoundError, RetryableError, UsageError
from trainer.storage import Location, Storage, make_client
from trainer.storage.client import MULTIPART_CHUNK_BYTES, MULTIPART_THRESHOLD_BYTES

MIB = 1024 * 1024


def put(endpoint: S3Endpoint, bucket: str, objects: dict[str, bytes]) -> None:
    client = endpoint.client()
    for key, body in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)


def keys(endpoint: S3Endpoint, bucket: str, prefix: str = "") -> list[str]:
    pages = endpoint.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for relative, body in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


SHARDS = {
    "data/train.csv": b"text,label\nhello,a\n",
    "data/shards/part-00000.jsonl": b'{"text": "x", "label": "a"}\n',
    "data/shards/part-00001.jsonl": b'{"text": "y", "label": "b"}\n',
    "data/shards/nested/part-00002.jsonl": b'{"text": "z", "label": "c"}\n',
    "data/shards/empty-dir/": b"",
    "data-other/x.csv": b"not under data/",
    "datax.csv": b"not under data/ either",
}


def test_list_single_object(storage: Storage, moto_s3: S3Endpoint, bucket: str) -> None:
    put(moto_s3, bucket, SHARDS)
    [info] = storage.list(Location.parse(f"s3://{bucket}/data/train.csv"))
    assert info.relative == "train.csv"
    assert info.size == len(SHARDS["data/train.csv"])
    assert info.etag == hashlib.md5(SHARDS["data/train.csv"]).hexdigest()
    assert str(info.location) == f"s3://{bucket}/data/train.csv"


def test_list_prefix_is_sorted_and_skips_directory_markers_and_siblings(
    storage: Storage, moto_s3: S3Endpoint, bucket: str
) -> None:
    put(moto_s3, bucket, SHARDS)
    infos = storage.list(Location.parse(f"s3://{bucket}/data/shards/"))
    assert [i.relative for i in infos] == ["nested/part-00002.jsonl", "part-00000.jsonl", "part-00001.jsonl"]
    whole = storage.list(Location.parse(f"s3://{bucket}/data"))
    assert "train.csv" in [i.relative for i in whole]
    assert all(str(i.location).startswith(f"s3://{bucket}/data/") for i in whole)
    root = storage.list(Location.parse(f"s3://{bucket}"))
    assert {i.relative for i in root} == {k for k in SHARDS if not k.endswith("/")}


def test_list_nothing_is_not_found_naming_uri_and_endpoint(
    storage: Storage, moto_s3: S3Endpoint, bucket: str
) -> None:
    put(moto_s3, bucket, SHARDS)
    with pytest.raises(NotFoundError) as caught:
        storage.list(Location.parse(f"s3://{bucket}/dat"))
    assert str(caught.value).startswith(f"no object or prefix s3://{bucket}/dat at endpoint {moto_s3.url}:")


@pytest.mark.parametrize("uri", ["s3://no-such-bucket-here/data", "s3://no-such-bucket-here"])
def test_missing_bucket_is_not_found(storage: Storage, moto_s3: S3Endpoint, uri: str) -> None:
    with pytest.raises(NotFoundError, match="bucket 'no-such-bucket-here' does not exist at endpoint"):
        storage.list(Location.parse(uri))
    with pytest.raises(NotFoundError, match="bucket 'no-such-bucket-here' does not exist"):
        storage.download(Location.parse(uri), Path("/nonexistent-never-created"))


def test_download_prefix_preserves_layout(
    storage: Storage, moto_s3: S3Endpoint, bucket: str, tmp_path: Path
) -> None:
    put(moto_s3, bucket, SHARDS)
    pairs = storage.download(Location.parse(f"s3://{bucket}/data/shards"), tmp_path / "dest")
    expected = {k.removeprefix("data/shards/"): v for k, v in SHARDS.items() if k.startswith("data/shards/")}
    expected.pop("empty-dir/")
    assert files_under(tmp_path / "dest") == expected  # also: no temporary files left behind
    assert [(info.relative, path) for info, path in pairs] == [
        (relative, tmp_path / "dest" / relative) for relative in sorted(expected)
    ]


def test_download_single_object_lands_under_its_basename(
    storage: Storage, moto_s3: S3Endpoint, bucket: str, tmp_path: Path
) -> None:
    put(moto_s3, bucket, SHARDS)
    [(info, path)] = storage.download(Location.parse(f"s3://{bucket}/data/train.csv"), tmp_path)
    assert path == tmp_path / "train.csv"
    assert path.read_bytes() == SHARDS["data/train.csv"]
    assert info.size == path.stat().st_size


def test_large_object_round_trip_uses_multipart(
    storage: Storage, moto_s3: S3Endpoint, bucket: str, tmp_path: Path
) -> None:
    size = 20 * MIB
    assert size > MULTIPART_THRESHOLD_BYTES
    source = tmp_path / "model.safetensors"
    source.write_bytes(os.urandom(size))
    target = Location.parse(f"s3://{bucket}/models/model.safetensors")
    storage.upload_file(source, target)
    etag = moto_s3.client().head_object(Bucket=bucket, Key=target.key)["ETag"].strip('"')
    parts = -(-size // MULTIPART_CHUNK_BYTES)
    assert re.fullmatch(rf"[0-9a-f]{{32}}-{parts}", etag), etag
    [(info, path)] = storage.download(target, tmp_path / "back")
    assert info.etag == etag
    assert path.read_bytes() == source.read_bytes()


def test_thousand_small_objects_upload_and_download_fast(
    storage: Storage, moto_s3: S3Endpoint, bucket: str, tmp_path: Path
) -> None:
    files = {f"shard-{i // 100:02d}/row-{i:04d}.json": f'{{"i": {i}}}'.encode() for i in range(1000)}
    write_tree(tmp_path / "src", files)
    start = time.monotonic()
    uploaded = storage.upload_tree(tmp_path / "src", Location.parse(f"s3://{bucket}/many"))
    pairs = storage.download(Location.parse(f"s3://{bucket}/many"), tmp_path / "dest")
    elapsed = time.monotonic() - start
    assert len(uploaded) == len(pairs) == 1000
    assert keys(moto_s3, bucket, "many/") == [f"many/{k}" for k in sorted(files)]
    assert files_under(tmp_path / "dest") == files
    assert elapsed < 20, f"1,000 small objects took {elapsed:.1f} s"


def test_small_objects_read_write_exists_delete(storage: Storage, moto_s3: S3Endpoint, bucket: str) -> None:
    run = Location.parse(f"s3://{bucket}/runs/r1")
    storage.write_bytes(run.join("run.json"), b'{"ok": true}')
    storage.write_bytes(run.join("ckpt/a.bin"), b"a")
    storage.write_bytes(Location.parse(f"s3://{bucket}/runs/r10/keep.txt"), b"sibling with a shared prefix")
    assert storage.read_bytes(run.join("run.json")) == b'{"ok": true}'
    assert storage.exists(run.join("run.json"))
    assert not storage.exists(run.join("missing.json"))
    assert not storage.exists(Location.parse("s3://no-such-bucket-here/x"))
    assert storage.exists(Location.parse(f"s3://{bucket}"))
    with pytest.raises(NotFoundError, match=rf"no object s3://{bucket}/runs/r1/missing.json at endpoint"):
        storage.read_bytes(run.join("missing.json"))
    assert storage.delete_prefix(run) == 2
    assert keys(moto_s3, bucket) == ["runs/r10/keep.txt"]
    with pytest.raises(UsageError, match="refusing to delete the whole bucket"):
        storage.delete_prefix(Location.parse(f"s3://{bucket}"))


def test_publish_writes_marker_last_with_body(
    storage: Storage, moto_s3: S3Endpoint, bucket: str, tmp_path: Path
) -> None:
    write_tree(
        tmp_path / "out", {"model/weights.h5": b"w", "metrics.json": b"{}", "_SUCCESS": b"stale local"}
    )
    out = Location.parse(f"s3://{bucket}/runs/r1")
    published = storage.publish(tmp_path / "out", out, marker_body=b'{"run": "r1"}')
    assert [str(loc) for loc in published][-1] == f"s3://{bucket}/runs/r1/_SUCCESS"
    assert keys(moto_s3, bucket) == ["runs/r1/_SUCCESS", "runs/r1/metrics.json", "runs/r1/model/weights.h5"]
    assert storage.read_bytes(out.join("_SUCCESS")) == b'{"run": "r1"}'


def test_publish_failing_midway_leaves_no_marker(
    moto_s3_auth: S3Endpoint, make_storage: Any, denied_segment: str, tmp_path: Path
) -> None:
    """The server refuses one upload while others succeed: the old marker is gone, no new one appears."""
    storage = make_storage(moto_s3_auth)
    bucket = "publish-midway"
    moto_s3_auth.client().create_bucket(Bucket=bucket)
    out = Location.parse(f"s3://{bucket}/runs/r1")
    storage.write_bytes(out.join("_SUCCESS"), b"from an earlier run")
    files = {f"part-{i:02d}.bin": b"x" * 100 for i in range(20)}
    files[f"{denied_segment}/blocked.bin"] = b"refused"
    write_tree(tmp_path / "out", files)
    with pytest.raises(
        AccessDeniedError, match=rf"access denied to s3://{bucket}/runs/r1/{denied_segment}/blocked"
    ):
        storage.publish(tmp_path / "out", out)
    present = keys(moto_s3_auth, bucket)
    assert "runs/r1/_SUCCESS" not in present
    assert "runs/r1/part-19.bin" in present  # the failure really came midway, after other uploads


def test_wrong_credentials_are_access_denied_without_leaking_the_secret(
    moto_s3_auth: S3Endpoint, make_storage: Any
) -> None:
    moto_s3_auth.client().create_bucket(Bucket="creds-check")
    good = make_storage(moto_s3_auth)
    assert good.exists(Location.parse("s3://creds-check"))
    secret = "wrong-secret-value-1234"
    bad = make_storage(moto_s3_auth.with_credentials("AKIAWRONGKEY00000000", secret))
    with pytest.raises(AccessDeniedError) as caught:
        bad.list(Location.parse("s3://creds-check/data"))
    message = str(caught.value)
    assert "access denied to s3://creds-check/data" in message
    assert "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" in message
    assert secret not in message


def test_unreachable_endpoint_is_retryable_and_fails_fast() -> None:
    url = closed_port_url()
    session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    storage = Storage(make_client(url, session=session))
    start = time.monotonic()
    with pytest.raises(RetryableError) as caught:
        storage.list(Location.parse("s3://bucket/data"))
    assert time.monotonic() - start < 10
    assert str(caught.value) == (
        f"cannot reach object storage endpoint {url} for s3://bucket/data: "
        "check AWS_ENDPOINT_URL_S3 and the network (retryable)"
    )


def clean_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_default_client_comes_from_the_environment(
    moto_s3: S3Endpoint, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_aws_env(monkeypatch, tmp_path)
    env = moto_s3.env()
    env.pop("AWS_DEFAULT_REGION")  # AWS_REGION alone must be enough
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    put(moto_s3, bucket, {"k/a.txt": b"a"})
    storage = Storage()
    assert [i.relative for i in storage.list(Location.parse(f"s3://{bucket}/k"))] == ["a.txt"]
    config = storage.client.meta.config
    assert storage.endpoint == moto_s3.url
    assert config.s3["addressing_style"] == "path"
    assert storage.client.meta.region_name == "eu-central-1"
    assert config.retries["mode"] == "standard"


def test_missing_credentials_name_the_variables_to_set(
    moto_s3: S3Endpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_aws_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.url)
    with pytest.raises(AccessDeniedError, match="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        Storage().list(Location.parse("s3://bucket/data"))


def test_keys_that_would_escape_the_download_directory_are_refused(
    storage: Storage, moto_s3: S3Endpoint, bucket: str, tmp_path: Path
) -> None:
    put(moto_s3, bucket, {"evil/ok.txt": b"fine", "evil/../../escape.txt": b"outside"})
    assert "evil/../../escape.txt" in keys(moto_s3, bucket)
    with pytest.raises(DataError, match=r"cannot be a local path \('\.\./\.\./escape\.txt'\)"):
        storage.download(Location.parse(f"s3://{bucket}/evil"), tmp_path / "a" / "b")
    assert not list(tmp_path.rglob("*.txt"))
