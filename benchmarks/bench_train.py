"""`make bench`: the trainer against two baseline recipes on the same model, data and settings.

Runs, in one process tree, three contenders per seed, the order rotating from seed to seed:
`benchmarks/reference_seed.py` (reference: the seed-style Keras recipe), `benchmarks/reference_hf_example.py`
(hf-example: transformers' own TensorFlow text-classification example) and `trainer train` (trainer), on a sample
of a GLUE task (SST-2 single sentences, MRPC pairs) with the offline all-MiniLM-L6-v2. Prints a table with a row
per contender: training-phase examples/s, end-to-end examples/s (process start to published artifacts), dev
accuracy, peak memory and startup seconds (process start to the first training step), as the median over seeds
with the spread (min..max); then the trainer's ratios to each baseline and its mean accuracy gap to each. Writes
the same as JSON. The data stays where it is (`--data ../shared/data/sst2`); only a sample of it is written to a
temp dir. `--contenders` picks a subset.

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
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Run:
    """What one contender's run needs: the shared settings, the sampled data, the seed, its own output path."""

    args: argparse.Namespace
    task: dict[str, Any]
    train: Path
    dev: Path
    seed: int
    output: Path


@dataclass(frozen=True)
class Contender:
    """A command line for a run, and a reader of what it wrote: train rows, train ex/s, dev accuracy, startup."""

    command: Callable[[Run], list[str]]
    read: Callable[[Path], dict[str, Any]]


def text_columns(run: Run) -> list[str]:
    return [flag for column in run.task["text_columns"] for flag in ("--text-column", column)]


def reference_command(script: str) -> Callable[[Run], list[str]]:
    """The baselines share one CLI (reference_seed.py's)."""

    def command(run: Run) -> list[str]:
        return [
            sys.executable,
            str(REPO / "benchmarks" / script),
            *("--train", str(run.train), "--dev", str(run.dev), "--model", str(run.args.model)),
            *text_columns(run),
            *("--label-column", run.task["label_column"]),
            *("--epochs", str(run.args.epochs), "--batch-size", str(run.args.batch_size)),
            *("--learning-rate", str(run.args.learning_rate), "--seed", str(run.seed)),
            *("--report", str(run.output)),
        ]

    return command


def read_reference(report: Path) -> dict[str, Any]:
    result = json.loads(report.read_text())
    return {
        "rows": result["train_rows"],
        "train_examples_per_second": result["train_examples_per_second"],
        "dev_accuracy": result["dev_accuracy"],
        "startup_seconds": result.get("startup_seconds"),
    }


def trainer_command(*flags: str) -> Callable[[Run], list[str]]:
    """`trainer train` with the run's settings, the trainer's defaults otherwise, plus `flags`."""

    def command(run: Run) -> list[str]:
        return [*trainer_base(run), *flags]

    return command


def trainer_base(run: Run) -> list[str]:
    args = run.args
    return [
        *(sys.executable, "-m", "trainer", "train"),
        *("--model", str(args.model), "--train-data", str(run.train), "--eval-data", str(run.dev)),
        *text_columns(run),
        *("--label-column", run.task["label_column"], "--output", str(run.output)),
        *("--epochs", str(args.epochs), "--per-replica-batch-size", str(args.batch_size)),
        *("--learning-rate", str(args.learning_rate), "--seed", str(run.seed)),
        # The seed-style reference's hyper-parameters (Adam at a constant rate), not the trainer's BERT schedule
        # (warmup, linear decay, weight decay): same model, data and hyper-parameters.
        *("--lr-scheduler-type", "constant", "--warmup-ratio", "0", "--weight-decay", "0"),
        *("--progress", "lines"),
        *("--work-dir", str(run.output.parent / "scratch")),
        *args.trainer_arg,
    ]


def read_trainer(output: Path) -> dict[str, Any]:
    metrics = json.loads((output / "metrics.json").read_text())
    return {
        "rows": metrics["rows"]["train"],
        "train_examples_per_second": metrics["throughput"]["train_examples_per_second"],
        "dev_accuracy": metrics["eval"]["accuracy"],
        "startup_seconds": metrics["throughput"].get("startup_seconds"),
        "timeline": metrics.get("timeline_seconds"),
    }


CONTENDERS = {
    "reference": Contender(reference_command("reference_seed.py"), read_reference),
    "hf-example": Contender(reference_command("reference_hf_example.py"), read_reference),
    # One evaluation after training, as the baselines do (the trainer's default also evaluates every epoch).
    "trainer": Contender(trainer_command("--eval-strategy", "no"), read_trainer),
    "trainer-bf16": Contender(trainer_command("--eval-strategy", "no", "--bf16"), read_trainer),
}
BASELINES = ("reference", "hf-example")


def run_contender(name: str, run: Run, env: dict[str, str]) -> dict[str, Any]:
    wall, rss, code = timed(CONTENDERS[name].command(run), env)
    if code != 0:
        raise SystemExit(f"{name} failed with exit code {code}")
    result = CONTENDERS[name].read(run.output)
    return {
        "train_examples_per_second": result["train_examples_per_second"],
        "end_to_end_examples_per_second": result["rows"] * run.args.epochs / wall,
        "wall_seconds": wall,
        "dev_accuracy": result["dev_accuracy"],
        "peak_rss_mib": rss,
        "startup_seconds": result["startup_seconds"],
        **({"timeline": result["timeline"]} if result.get("timeline") else {}),
    }


METRICS = (
    "train_examples_per_second",
    "end_to_end_examples_per_second",
    "dev_accuracy",
    "peak_rss_mib",
    "startup_seconds",
)
HEADERS = ("train ex/s", "end-to-end ex/s", "dev accuracy", "peak RSS MiB", "startup s")
RATIOS = METRICS[:2]


def summary(runs: list[dict[str, Any]]) -> dict[str, dict[str, float] | None]:
    """Median, min, max, mean over seeds of each metric; None for one no run reported (startup, older trainers)."""
    table: dict[str, dict[str, float] | None] = {}
    for m in METRICS:
        values = [r[m] for r in runs if r.get(m) is not None]
        table[m] = (
            {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
                "mean": statistics.fmean(values),
            }
            if values
            else None
        )
    return table


def phase_seconds(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median duration of each phase of the trainer's timeline (from the previous mark), and the exit after it."""
    durations: dict[str, list[float]] = {}
    for run in runs:
        marks = run.get("timeline") or {}
        previous_name, previous = "process start", 0.0
        for name, at in sorted(marks.items(), key=lambda item: item[1]):
            durations.setdefault(f"{previous_name} -> {name}", []).append(at - previous)
            previous_name, previous = name, at
        if marks:
            durations.setdefault(f"{previous_name} -> process exit", []).append(
                run["wall_seconds"] - previous
            )
    return {phase: statistics.median(values) for phase, values in durations.items()}


def cell(stats: dict[str, float] | None, digits: int = 2) -> str:
    if not stats:
        return "n/a"
    return f"{stats['median']:.{digits}f} ({stats['min']:.{digits}f}..{stats['max']:.{digits}f})"


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
    parser.add_argument(
        "--contenders",
        nargs="+",
        choices=list(CONTENDERS),
        default=list(CONTENDERS),
        help="which to run (default: all); the first seed runs them in this order, each next seed rotates it",
    )
    parser.add_argument("--trainer-arg", action="append", default=[], help="extra trainer flag (repeatable)")
    parser.add_argument("--json", type=Path, default=Path("bench.json"))
    args = parser.parse_args()
    contenders = list(dict.fromkeys(args.contenders))
    task = TASKS[args.data.name]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_OFFLINE": "1"}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    orders: dict[int, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        train, dev = work / "train.tsv", work / "dev.tsv"
        rows = sample(args.data / "train.tsv", train, args.rows, seed=0)
        sample(args.data / "dev.tsv", dev, 0, seed=0)
        for i, seed in enumerate(args.seeds):
            shift = i % len(contenders)
            orders[seed] = order = contenders[shift:] + contenders[:shift]
            for name in order:
                output = work / (f"{name}-{seed}" if name.startswith("trainer") else f"{name}-{seed}.json")
                result = run_contender(name, Run(args, task, train, dev, seed, output), env)
                results[name].append({"seed": seed, **result})
                print(
                    f"seed {seed} {name:<12} "
                    + " ".join(
                        f"{k}={v:.3f}" if v is not None else f"{k}=n/a"
                        for k, v in result.items()
                        if k != "timeline"
                    ),
                    flush=True,
                )
    table = {name: summary(runs) for name, runs in results.items()}
    pairs = [(t, b) for t in table if t.startswith("trainer") for b in BASELINES if b in table]
    ratios = {
        f"{t} / {b}": {m: table[t][m]["median"] / table[b][m]["median"] for m in RATIOS} for t, b in pairs
    }
    accuracy_gap = {
        f"{t} / {b}": table[t]["dev_accuracy"]["mean"] - table[b]["dev_accuracy"]["mean"] for t, b in pairs
    }
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(
        f"\n{args.data.name}: {rows} training rows, {args.epochs} epochs, batch {args.batch_size}, "
        f"seeds {args.seeds}; {machine}"
    )
    width = 28
    print(f"{'':<26}" + "".join(f"{h:>{width}}" for h in HEADERS))
    for name in contenders:
        print(
            f"{name:<26}"
            + "".join(f"{cell(table[name][m], 3 if m == 'dev_accuracy' else 2):>{width}}" for m in METRICS)
        )
    for pair in ratios:
        print(
            f"{pair:<26}"
            + "".join(f"{ratios[pair][m]:>{width - 1}.2f}x" for m in RATIOS)
            + f"{accuracy_gap[pair] * 100:>+{width - 2}.2f}pt (mean)"
        )
    for name in (n for n in contenders if n.startswith("trainer")):
        print(f"\n{name}: where the wall time goes (median seconds over seeds)")
        for phase, seconds in phase_seconds(results[name]).items():
            print(f"  {phase:<34}{seconds:>8.1f}")
    args.json.write_text(
        json.dumps(
            {
                "machine": machine,
                "task": args.data.name,
                "rows": rows,
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "seeds": args.seeds,
                "contenders": contenders,
                "orders": orders,
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
