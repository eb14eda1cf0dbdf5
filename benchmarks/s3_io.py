"""Measure `Storage` transfers against plain boto3 on a loopback S3 server (not part of the test suite).

    .venv/bin/python benchmarks/s3_io.py [--server moto|seaweed] [--large-mb 200] [--small-count 1000]

Baselines are what a first version would write: `client.upload_file`/`download_file` with boto3's defaults,
one call per object in a loop. For many small objects a third column times the design `Storage` no longer has: one
`put_object`/`get_object` per object on a pool of as many threads, no TransferManager (whether a second transfer
path would pay). Loopback numbers show request overhead and concurrency, not network bandwidth.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.s3servers import S3Endpoint, moto_server, seaweed_server  # noqa: E402
from trainer.storage import Location, Storage, make_client  # noqa: E402
from trainer.storage.client import TRANSFER_CONCURRENCY  # noqa: E402

MB = 1_000_000
SMALL_OBJECT_BYTES = 4096


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


Row = tuple[str, int, float, float, float | None]
"""case, bytes moved, boto3 seconds, Storage seconds, single-request pool seconds (small objects)"""


def single_requests(jobs: list[Callable[[], Any]]) -> None:
    """One request per object on a thread pool as wide as Storage's (the second path Storage does not have)."""
    with ThreadPoolExecutor(max_workers=TRANSFER_CONCURRENCY) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def run(endpoint: S3Endpoint, large_mb: int, small_count: int, work: Path) -> list[Row]:
    plain = endpoint.client()
    session = boto3.session.Session(
        aws_access_key_id=endpoint.access_key,
        aws_secret_access_key=endpoint.secret_key,
        region_name=endpoint.region,
    )
    storage = Storage(make_client(endpoint.url, session=session))
    bucket = "bench"
    plain.create_bucket(Bucket=bucket)
    rows = []

    large = work / "large.bin"
    with large.open("wb") as out:
        for _ in range(large_mb):
            out.write(os.urandom(MB))
    size = large.stat().st_size
    base_up = timed(lambda: plain.upload_file(str(large), bucket, "plain/large.bin"))
    ours_up = timed(lambda: storage.upload_file(large, Location.parse(f"s3://{bucket}/ours/large.bin")))
    rows.append((f"1 x {large_mb} MB upload", size, base_up, ours_up, None))
    base_down = timed(lambda: plain.download_file(bucket, "plain/large.bin", str(work / "plain-large.bin")))
    ours_large = Location.parse(f"s3://{bucket}/ours/large.bin")
    ours_down = timed(lambda: storage.download(ours_large, work / "ours-dl"))
    rows.append((f"1 x {large_mb} MB download", size, base_down, ours_down, None))
    large.unlink()

    small = work / "small"
    for i in range(small_count):
        path = small / f"shard-{i // 100:03d}" / f"obj-{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(SMALL_OBJECT_BYTES))
    files = sorted(p for p in small.rglob("*") if p.is_file())
    total = small_count * SMALL_OBJECT_BYTES

    def plain_upload() -> None:
        for path in files:
            plain.upload_file(str(path), bucket, f"plain/small/{path.relative_to(small).as_posix()}")

    def plain_download() -> None:
        pages = plain.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="plain/small/")
        for page in pages:
            for obj in page.get("Contents", []):
                dest = work / "plain-dl" / obj["Key"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                plain.download_file(bucket, obj["Key"], str(dest))

    client = storage.client
    relative = [path.relative_to(small).as_posix() for path in files]
    put = [
        lambda p=p, r=r: client.put_object(Bucket=bucket, Key=f"pool/small/{r}", Body=p.read_bytes())
        for p, r in zip(files, relative, strict=True)
    ]

    def get_one(key: str) -> None:
        dest = work / "pool-dl" / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(client.get_object(Bucket=bucket, Key=f"pool/small/{key}")["Body"].read())

    get = [lambda r=r: get_one(r) for r in relative]

    label = f"{small_count} x {SMALL_OBJECT_BYTES // 1024} KiB"
    base_up = timed(plain_upload)
    ours_up = timed(lambda: storage.upload_tree(small, Location.parse(f"s3://{bucket}/ours/small")))
    rows.append((f"{label} upload", total, base_up, ours_up, timed(lambda: single_requests(put))))
    base_down = timed(plain_download)
    ours_small = Location.parse(f"s3://{bucket}/ours/small")
    ours_down = timed(lambda: storage.download(ours_small, work / "ours-small"))
    rows.append((f"{label} download", total, base_down, ours_down, timed(lambda: single_requests(get))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("moto", "seaweed"), default="moto")
    parser.add_argument("--large-mb", type=int, default=200)
    parser.add_argument("--small-count", type=int, default=1000)
    args = parser.parse_args()
    server = moto_server if args.server == "moto" else seaweed_server
    with server() as endpoint, tempfile.TemporaryDirectory(prefix="s3-bench-") as work:
        rows = run(endpoint, args.large_mb, args.small_count, Path(work))
    print(f"server: {args.server} on loopback, {os.cpu_count()} CPUs")
    header = (
        f"{'case':<28} {'boto3 s':>8} {'boto3 MB/s':>11} "
        f"{'Storage s':>10} {'Storage MB/s':>13} {'speedup':>8} {'1-request pool s':>17}"
    )
    print(header)
    print("-" * len(header))
    for case, size, base, ours, pool in rows:
        print(
            f"{case:<28} {base:>8.2f} {size / MB / base:>11.1f} {ours:>10.2f} {size / MB / ours:>13.1f} "
            f"{base / ours:>7.2f}x {'' if pool is None else f'{pool:.2f}':>17}"
        )


if __name__ == "__main__":
    main()
