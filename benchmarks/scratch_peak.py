"""Measure how much scratch disk `trainer train` needs when its data is many shards in object storage.

    .venv/bin/python benchmarks/scratch_peak.py --model .cache/models/all-MiniLM-L6-v2 --shards 50

Starts moto (S3) on loopback, writes SHARDS CSV shards of ROWS rows each under one prefix, runs `trainer train` on
that prefix as a subprocess (no --eval-data: every row is read, tokenized and split; a short training follows)
and samples its --work-dir every millisecond: the bytes of raw shards (`*.csv` and the `.part` files downloads
land in), of token files (`*.bin`) and of everything. Prints the peaks as JSON. With `--trainer-path` the child
imports `trainer` from another checkout (e.g. `git archive` of an older commit, for a before/after comparison).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.s3servers import moto_server  # noqa: E402
from support.toy_data import sentences, write_csv  # noqa: E402

POLL_SECONDS = 0.001
RAW_SUFFIXES = (".csv", ".part")
"""The shards, and the temporary names downloads are written under before they are renamed."""


class ScratchSampler(threading.Thread):
    """Samples a folder tree until stopped: the peak bytes of raw shards, of token files, and of both at once."""

    def __init__(self, root: Path) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.done = threading.Event()
        self.samples = 0
        self.peak = {
            "raw_bytes": 0,
            "raw_files": 0,
            "token_bytes": 0,
            "raw_and_token_bytes": 0,
            "total_bytes": 0,
        }

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            time.sleep(POLL_SECONDS)
        self.sample()

    def sample(self) -> None:
        raw = raw_files = tokens = total = 0
        for folder, _, names in os.walk(self.root):
            for name in names:
                try:
                    size = (Path(folder) / name).stat().st_size
                except FileNotFoundError:  # deleted between the listing and the stat
                    continue
                total += size
                if name.endswith(RAW_SUFFIXES):
                    raw, raw_files = raw + size, raw_files + 1
                elif name.endswith(".bin"):
                    tokens += size
        self.samples += 1
        now = {
            "raw_bytes": raw,
            "raw_files": raw_files,
            "token_bytes": tokens,
            "raw_and_token_bytes": raw + tokens,
            "total_bytes": total,
        }
        self.peak = {key: max(value, now[key]) for key, value in self.peak.items()}


def stage(client: object, bucket: str, shards: int, rows: int, local: Path) -> list[int]:
    """Write and upload the shards; their sizes in bytes."""
    sizes = []
    for index in range(shards):
        path = write_csv(local / f"part-{index:05d}.csv", sentences(rows, seed=index))
        client.upload_file(str(path), bucket, f"shards/part-{index:05d}.csv")  # type: ignore[attr-defined]
        sizes.append(path.stat().st_size)
        path.unlink()
    return sizes


def measure(options: argparse.Namespace, work: Path) -> dict[str, object]:
    with moto_server() as endpoint:
        client = endpoint.client()
        client.create_bucket(Bucket="bench")
        sizes = stage(client, "bench", options.shards, options.rows, work)
        env = {**os.environ, **endpoint.env(), "TF_CPP_MIN_LOG_LEVEL": "2"}
        if options.trainer_path:
            env["PYTHONPATH"] = os.pathsep.join([options.trainer_path, env.get("PYTHONPATH", "")])
        scratch = work / "scratch"
        scratch.mkdir()
        args = [
            *(
                sys.executable,
                "-m",
                "trainer",
                "train",
                "--model",
                options.model,
                "--output",
                str(work / "out"),
            ),
            *("--train-data", "s3://bench/shards", "--work-dir", str(scratch), "--max-length", "64"),
            *(
                "--epochs",
                "1",
                "--max-train-samples",
                "64",
                "--max-eval-samples",
                "32",
                "--progress",
                "lines",
            ),
            *("--checkpoint-every-steps", "0", "--eval-strategy", "no"),
        ]
        sampler = ScratchSampler(scratch)
        sampler.start()
        started = time.perf_counter()
        # cwd: `python -m` puts the working directory first on sys.path, before --trainer-path
        result = subprocess.run(args, env=env, cwd=work, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
    if result.returncode != 0:
        raise RuntimeError(f"trainer train exited {result.returncode}: {result.stderr[-3000:]}")
    return {
        "shards": options.shards,
        "rows": options.shards * options.rows,
        "shard_bytes_max": max(sizes),
        "raw_bytes_total": sum(sizes),
        "peak": sampler.peak,
        "bound_raw_and_token_bytes": sampler.peak["token_bytes"] + 2 * max(sizes),
        "samples": sampler.samples,
        "seconds": round(seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", required=True, help="a pretrained model folder (the tests pass a tiny one)"
    )
    parser.add_argument("--shards", type=int, default=50)
    parser.add_argument("--rows", type=int, default=2000, help="rows per shard")
    parser.add_argument("--trainer-path", help="import `trainer` from this folder instead (PYTHONPATH)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scratch-peak-") as tmp:
        measured = measure(options, Path(tmp))
    if not options.json:
        mb = 1e6
        peak = measured["peak"]
        assert isinstance(peak, dict)
        print(
            f"{measured['shards']} shards, {measured['raw_bytes_total'] / mb:.1f} MB raw "  # type: ignore[operator]
            f"(largest {measured['shard_bytes_max'] / mb:.2f} MB): peak raw shards on scratch "  # type: ignore[operator]
            f"{peak['raw_bytes'] / mb:.2f} MB in {peak['raw_files']} file(s), token files "
            f"{peak['token_bytes'] / mb:.2f} MB, raw + tokens {peak['raw_and_token_bytes'] / mb:.2f} MB, "
            f"whole scratch {peak['total_bytes'] / mb:.2f} MB ({measured['samples']} samples, "
            f"{measured['seconds']} s)"
        )
    print(json.dumps(measured))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
