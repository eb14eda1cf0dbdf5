"""`make bench`: the trainer against the seed-style reference on the same model, data and settings.

Runs, in one process tree and alternating per seed, `trainer train` and `benchmarks/reference_seed.py` on a
sample of a GLUE task (SST-2 single sentences, MRPC pairs) with the offline all-MiniLM-L6-v2, and prints a table:
training-phase examples/s, end-to-end examples/s (process start to published artifacts), dev accuracy, peak
memory, and the ratios to the reference, as the median over seeds with the spread (min..max). Writes the same as
JSON. The data stays where it is (`--data ../shared/data/sst2`); only a sample of it is written to a temp dir.

    python benchmarks/bench_train.py --data ../shared/data/sst2 --model .cache/models/all-MiniLM-L6-v2
"""

import argparse
import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TASKS = {
    "sst2": {"text_columns": ["sentence"], "label_column": "label"},
    "mrpc": {"text_columns": ["#1 String", "#2 String"], "label_column": "Quality"},
}


def sample(source: Path, dest: Path, rows: int, seed: int) -> int:
    with source.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header, *body = list(reader)
    if rows and rows < len(body):
        body = random.Random(seed).sample(body, rows)
    with dest.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(body)
    return len(body)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB, exit code of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr_tail: list[str] = []
    assert process.stderr is not None
    for line in process.stderr:
        stderr_tail = [*stderr_tail[-30:], line]
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        sys.stderr.write("".join(stderr_tail))
    return elapsed, usage.ru_maxrss / 1024, process.returncode


def run_trainer(
    args: argparse.Namespace,
    task: dict[str, Any],
    train: Path,
    dev: Path,
    seed: int,
    work: Path,
    env: dict[str, str],
) -> dict[str, Any]:
    output = work / f"trainer-{seed}"
    command = [
        sys.executable,
        "-m",
        "trainer",
        "train",
        "--model",
        str(args.model),
        "--train-data",
        str(train),
        "--eval-data",
        str(dev),
        "--label-column",
        task["label_column"],
        "--output",
        str(output),
        "--epochs",
        str(args.epochs),
        "--per-replica-batch-size",
        str(args.batch_size),
        "--learning-rate",
        str(args.learning_rate),
        "--seed",
        str(seed),
        "--checkpoint-every-steps",
        "0",
        "--progress",
        "lines",
        "--work-dir",
        str(work / "scratch"),
        *args.trainer_arg,
    ]
    for column in task["text_columns"]:
        command += ["--text-column", column]
    wall, rss, code = timed(command, env)
    if code != 0:
        raise SystemExit(f"trainer failed with exit code {code}")
    metrics = json.loads((output / "metrics.json").read_text())
    rows = metrics["rows"]["train"]
    return {
        "train_examples_per_second": metrics["throughput"]["train_examples_per_second"],
        "end_to_end_examples_per_second": rows * args.epochs / wall,
        "wall_seconds": wall,
        "dev_accuracy": metrics["eval"]["accuracy"],
        "peak_rss_mib": rss,
    }


def run_reference(
    args: argparse.Namespace,
    task: dict[str, Any],
    train: Path,
    dev: Path,
    seed: int,
    work: Path,
    env: dict[str, str],
) -> dict[str, Any]:
    report = work / f"reference-{seed}.json"
    command = [
        sys.executable,
        str(REPO / "benchmarks" / "reference_seed.py"),
        "--train",
        str(train),
        "--dev",
        str(dev),
        "--model",
        str(args.model),
        "--label-column",
        task["label_column"],
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--learning-rate",
        str(args.learning_rate),
        "--seed",
        str(seed),
        "--report",
        str(report),
    ]
    for column in task["text_columns"]:
        command += ["--text-column", column]
    wall, rss, code = timed(command, env)
    if code != 0:
        raise SystemExit(f"reference failed with exit code {code}")
    result = json.loads(report.read_text())
    return {
        "train_examples_per_second": result["train_examples_per_second"],
        "end_to_end_examples_per_second": result["train_rows"] * args.epochs / wall,
        "wall_seconds": wall,
        "dev_accuracy": result["dev_accuracy"],
        "peak_rss_mib": rss,
    }


METRICS = ("train_examples_per_second", "end_to_end_examples_per_second", "dev_accuracy", "peak_rss_mib")


def summary(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    return {
        m: {
            "median": statistics.median(r[m] for r in runs),
            "min": min(r[m] for r in runs),
            "max": max(r[m] for r in runs),
            "mean": statistics.fmean(r[m] for r in runs),
        }
        for m in METRICS
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="a GLUE task folder: ../shared/data/sst2 or mrpc"
    )
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=2000, help="training rows sampled (0: all)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--trainer-arg", action="append", default=[], help="extra trainer flag (repeatable)")
    parser.add_argument("--json", type=Path, default=Path("bench.json"))
    args = parser.parse_args()
    task = TASKS[args.data.name]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_OFFLINE": "1"}
    results: dict[str, list[dict[str, Any]]] = {"trainer": [], "reference": []}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        train, dev = work / "train.tsv", work / "dev.tsv"
        rows = sample(args.data / "train.tsv", train, args.rows, seed=0)
        sample(args.data / "dev.tsv", dev, 0, seed=0)
        for i, seed in enumerate(args.seeds):
            order = (run_reference, run_trainer) if i % 2 == 0 else (run_trainer, run_reference)
            for runner in order:
                name = "trainer" if runner is run_trainer else "reference"
                result = runner(args, task, train, dev, seed, work, env)
                results[name].append({"seed": seed, **result})
                print(
                    f"seed {seed} {name:<9} " + " ".join(f"{k}={v:.3f}" for k, v in result.items()),
                    flush=True,
                )
    table = {name: summary(runs) for name, runs in results.items()}
    ratios = {m: table["trainer"][m]["median"] / table["reference"][m]["median"] for m in METRICS[:2]}
    accuracy_gap = table["trainer"]["dev_accuracy"]["mean"] - table["reference"]["dev_accuracy"]["mean"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(
        f"\n{args.data.name}: {rows} training rows, {args.epochs} epochs, batch {args.batch_size}, "
        f"seeds {args.seeds}; {machine}"
    )
    print(f"{'':<10}{'train ex/s':>28}{'end-to-end ex/s':>28}{'dev accuracy':>28}{'peak RSS MiB':>28}")
    for name in ("reference", "trainer"):
        cells = [
            f"{table[name][m]['median']:.2f} ({table[name][m]['min']:.2f}..{table[name][m]['max']:.2f})"
            for m in METRICS
        ]
        print(f"{name:<10}" + "".join(f"{c:>28}" for c in cells))
    print(
        f"ratio     {ratios['train_examples_per_second']:>27.2f}x{ratios['end_to_end_examples_per_second']:>27.2f}x"
        f"{accuracy_gap * 100:>+26.2f}pt (mean)"
    )
    args.json.write_text(
        json.dumps(
            {
                "machine": machine,
                "task": args.data.name,
                "rows": rows,
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "seeds": args.seeds,
                "runs": results,
                "summary": table,
                "ratios": ratios,
                "accuracy_gap_mean": accuracy_gap,
            },
            indent=2,
        )
    )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
