"""Show that `trainer predict` streams: its peak memory stays flat as the input grows.

Runs `trainer predict` (a subprocess each) on a local CSV of N rows and on one of FACTOR x N rows, and reports
each process's peak resident set size (ru_maxrss from wait4, i.e. that child alone). A predictor that loaded the
whole file, or kept all tokens or logits, would grow with the input; a streaming one does not.

    python benchmarks/predict_memory.py --model run-42/model --rows 50000 --factor 4

`--model` is a trained artifact (a run's model/ folder); the test suite passes a tiny one.
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.toy_data import vocabulary  # noqa: E402

WORDS = vocabulary()


def write_rows(path: Path, rows: int, *, words_per_row: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text"])
        for i in range(rows):
            writer.writerow([i, " ".join(rng.choice(WORDS) for _ in range(words_per_row))])
    return path


def peak_rss_mib(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Peak RSS (MiB) and wall seconds of one child process, and its stderr tail."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace")[-2000:]
    if process.returncode != 0:
        raise RuntimeError(f"predict failed with exit code {process.returncode}: {tail}")
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024
    return usage.ru_maxrss / scale, time.perf_counter() - started, tail


def measure(
    model: str, rows: int, factor: int, work: Path, *, chunk_rows: int, words_per_row: int, max_length: int
) -> dict[str, object]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    results = []
    for n in (rows, rows * factor):
        data = write_rows(work / f"input-{n}.csv", n, words_per_row=words_per_row)
        output = work / f"output-{n}"
        args = [
            sys.executable,
            "-m",
            "trainer",
            "predict",
            *("--model", model, "--data", str(data), "--output", str(output), "--keep-column", "id"),
            *(
                "--chunk-rows",
                str(chunk_rows),
                "--max-length",
                str(max_length),
                "--work-dir",
                str(work / "w"),
            ),
        ]
        peak, seconds, _ = peak_rss_mib(args, env)
        lines = sum(1 for _ in (output / f"input-{n}.jsonl").open(encoding="utf-8"))
        assert lines == n, f"{lines} output rows for {n} input rows"
        results.append(
            {"rows": n, "input_mib": data.stat().st_size / 2**20, "peak_rss_mib": peak, "seconds": seconds}
        )
    return {
        "chunk_rows": chunk_rows,
        "runs": results,
        "growth_mib": results[1]["peak_rss_mib"] - results[0]["peak_rss_mib"],
        "self_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="trained artifact (a run's model/ folder)")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--words-per-row", type=int, default=60)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="predict-memory-") as tmp:
        result = measure(
            args.model,
            args.rows,
            args.factor,
            Path(tmp),
            chunk_rows=args.chunk_rows,
            words_per_row=args.words_per_row,
            max_length=args.max_length,
        )
    if args.json:
        print(json.dumps(result))
        return 0
    for run in result["runs"]:  # type: ignore[union-attr]
        print(
            f"rows={run['rows']:>9} input={run['input_mib']:8.1f} MiB peak_rss={run['peak_rss_mib']:8.1f} MiB "
            f"time={run['seconds']:6.1f}s"
        )
    print(f"growth of peak RSS: {result['growth_mib']:+.1f} MiB (chunk_rows={result['chunk_rows']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
