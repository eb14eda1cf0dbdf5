"""Show that `trainer predict` and `trainer train` stream: peak memory stays flat as the input grows.

Runs the verb (a subprocess each) on a local CSV of N rows and on one of FACTOR x N rows, and reports each process's
peak resident set size (ru_maxrss from wait4, i.e. that child alone). A verb that loaded the whole file, or kept
all tokens or logits in memory, would grow with the input; a streaming one does not.

    python benchmarks/memory_growth.py --verb predict --model run-42/model --rows 50000 --factor 4
    python benchmarks/memory_growth.py --verb train --model <pretrained folder> --rows 100000 --factor 4

`train` reads and tokenizes every row into token files, then trains one epoch on --train-samples of them with
--no-keep-in-memory (batches read from the memory-mapped files), and once more on the large input with
--keep-in-memory for contrast (unless --no-contrast). `--model` is a trained artifact for predict and a
pretrained one for train; the test suite passes a tiny one.
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
LABELS = ("food", "sports", "weather")


def write_rows(path: Path, rows: int, *, words_per_row: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "label"])
        for i in range(rows):
            writer.writerow(
                [i, " ".join(rng.choice(WORDS) for _ in range(words_per_row)), rng.choice(LABELS)]
            )
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
        raise RuntimeError(f"{args[3]} failed with exit code {process.returncode}: {tail}")
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024
    return usage.ru_maxrss / scale, time.perf_counter() - started, tail


def verb_args(
    verb: str, model: str, data: Path, output: Path, work: Path, options: argparse.Namespace
) -> list[str]:
    common = ["--model", model, "--output", str(output), "--max-length", str(options.max_length)]
    common += ["--work-dir", str(work / "w")]
    if verb == "predict":
        return [
            "predict",
            *common,
            "--data",
            str(data),
            "--keep-column",
            "id",
            "--chunk-rows",
            str(options.chunk_rows),
        ]
    samples = str(options.train_samples)
    return [
        "train",
        *common,
        *("--train-data", str(data), "--epochs", "1", "--eval-strategy", "no", "--progress", "lines"),
        *("--max-train-samples", samples, "--max-eval-samples", samples, "--checkpoint-every-steps", "0"),
    ]


def measure(verb: str, model: str, work: Path, options: argparse.Namespace) -> dict[str, object]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    results = []
    runs = [(options.rows, "--no-keep-in-memory"), (options.rows * options.factor, "--no-keep-in-memory")]
    if verb == "train" and options.contrast:
        runs.append((options.rows * options.factor, "--keep-in-memory"))
    for n, memory_flag in runs:
        data = work / f"input-{n}.csv"
        if not data.exists():
            write_rows(data, n, words_per_row=options.words_per_row)
        output = work / f"output-{n}{memory_flag}"
        args = [sys.executable, "-m", "trainer", *verb_args(verb, model, data, output, work, options)]
        if verb == "train":
            args.append(memory_flag)
        peak, seconds, _ = peak_rss_mib(args, env)
        if verb == "predict":
            lines = sum(1 for _ in (output / f"input-{n}.jsonl").open(encoding="utf-8"))
            assert lines == n, f"{lines} output rows for {n} input rows"
        else:
            assert (output / "_SUCCESS").exists(), f"no _SUCCESS under {output}"
        results.append(
            {
                "rows": n,
                "input_mib": data.stat().st_size / 2**20,
                "peak_rss_mib": peak,
                "seconds": seconds,
                **(
                    {"token_ids": "in memory" if memory_flag == "--keep-in-memory" else "memory-mapped"}
                    if verb == "train"
                    else {}
                ),
            }
        )
    return {
        "verb": verb,
        "chunk_rows": options.chunk_rows,
        "runs": results,
        "growth_mib": results[1]["peak_rss_mib"] - results[0]["peak_rss_mib"],
        "self_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verb", choices=["predict", "train"], default="predict")
    parser.add_argument(
        "--model", required=True, help="predict: a trained artifact; train: a pretrained model"
    )
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--chunk-rows", type=int, default=10_000, help="predict: rows per chunk")
    parser.add_argument(
        "--train-samples", type=int, default=512, help="train: rows trained on (of all tokenized)"
    )
    parser.add_argument("--words-per-row", type=int, default=60)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument(
        "--no-contrast", dest="contrast", action="store_false", help="train: skip the --keep-in-memory run"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="memory-growth-") as tmp:
        result = measure(options.verb, options.model, Path(tmp), options)
    if options.json:
        print(json.dumps(result))
        return 0
    for run in result["runs"]:  # type: ignore[union-attr]
        print(
            f"{options.verb} rows={run['rows']:>9} input={run['input_mib']:8.1f} MiB "
            f"peak_rss={run['peak_rss_mib']:8.1f} MiB time={run['seconds']:6.1f}s {run.get('token_ids', '')}"
        )
    print(f"growth of peak RSS at {options.factor}x the rows: {result['growth_mib']:+.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
