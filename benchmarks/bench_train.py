"""`make bench`: the trainer with its defaults against two baseline recipes on the same job.

Runs, in one process tree, every contender per seed, the order rotating from seed to seed:
`benchmarks/reference_seed.py` (reference: the seed-style Keras recipe), `benchmarks/reference_hf_example.py`
(hf-example: transformers' own TensorFlow text-classification example), `trainer train` with its defaults
(trainer: the headline) and with extra flags (trainer-fp32: `--no-bf16`), on a sample of a GLUE task (SST-2 single
sentences, MRPC pairs) with the offline all-MiniLM-L6-v2. The job is the same for all: the model, the data, the
epochs, batch size, learning rate and seed, and the dev set evaluated after every epoch. The trainer reads the
model and data from a SeaweedFS bucket on loopback and publishes into it, as in a cluster (`--storage local`:
local files); the baselines read local files.

Prints a table with a row per contender: training-phase examples/s, end-to-end examples/s (process start to
published artifacts), dev accuracy, peak memory and startup seconds (process start to the first training step),
as the median over seeds with the spread (min..max); then the trainer's ratios to each baseline and its mean
accuracy gap to each; then where the trainer's wall time went. Writes the same as JSON. The data stays where it
is (`--data ../shared/data/sst2`); only a sample of it is written to a temp dir. `--contenders` and `--seeds` pick
a subset, so a bench can run in parts (on a shared machine, one quiet window each); `--combine` reports the parts'
JSON files as one bench.

    python benchmarks/bench_train.py --data ../shared/data/sst2 --model .cache/models/all-MiniLM-L6-v2
    python benchmarks/bench_train.py --combine part1.json part2.json --json bench.json
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.s3servers import S3Endpoint, seaweed_server  # noqa: E402

BUCKET = "bench"
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
class Inputs:
    """Where the trainer finds the model and the sampled data (a loopback bucket, or the local files), and where
    the runs publish."""

    model: str
    train: str
    dev: str
    outputs: str
    endpoint: S3Endpoint | None = None

    def env(self) -> dict[str, str]:
        return self.endpoint.env() if self.endpoint else {}

    def read_json(self, output: str, name: str) -> Any:
        if self.endpoint is None:
            return json.loads((Path(output) / name).read_text())
        key = f"{output.removeprefix(f's3://{BUCKET}/')}/{name}"
        return json.loads(self.endpoint.client().get_object(Bucket=BUCKET, Key=key)["Body"].read())


@contextmanager
def trainer_inputs(storage: str, model: Path, train: Path, dev: Path, work: Path) -> Iterator[Inputs]:
    """The model and data staged in a SeaweedFS bucket on loopback (`s3`), or the local files (`local`)."""
    if storage == "local":
        yield Inputs(str(model), str(train), str(dev), str(work / "outputs"))
        return
    with seaweed_server() as endpoint:
        client = endpoint.client()
        client.create_bucket(Bucket=BUCKET)
        for path in sorted(model.iterdir()):
            client.upload_file(str(path), BUCKET, f"model/{path.name}")
        for path in (train, dev):
            client.upload_file(str(path), BUCKET, f"data/{path.name}")
        root = f"s3://{BUCKET}"
        yield Inputs(
            f"{root}/model", f"{root}/data/{train.name}", f"{root}/data/{dev.name}", f"{root}/runs", endpoint
        )


@dataclass(frozen=True)
class Run:
    """What one contender's run needs: the shared settings, the sampled data, the seed, its own output."""

    args: argparse.Namespace
    task: dict[str, Any]
    train: Path
    dev: Path
    seed: int
    output: str
    """The baselines' report file; the trainer's output (a prefix in the bucket, or a local folder)."""
    inputs: Inputs
    work: Path


@dataclass(frozen=True)
class Contender:
    """A command line for a run, and a reader of what it wrote: train rows, train ex/s, dev accuracy, startup."""

    command: Callable[[Run], list[str]]
    read: Callable[[Run], dict[str, Any]]


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


def read_reference(run: Run) -> dict[str, Any]:
    result = json.loads(Path(run.output).read_text())
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
    args, inputs = run.args, run.inputs
    return [
        *(sys.executable, "-m", "trainer", "train"),
        *("--model", inputs.model, "--train-data", inputs.train, "--eval-data", inputs.dev),
        *text_columns(run),
        *("--label-column", run.task["label_column"], "--output", run.output),
        *("--epochs", str(args.epochs), "--per-replica-batch-size", str(args.batch_size)),
        *("--learning-rate", str(args.learning_rate), "--seed", str(run.seed)),
        # The job's hyper-parameters, the seed-style reference's (Adam at a constant rate), not the trainer's BERT
        # schedule (warmup, linear decay, weight decay): same model, data and hyper-parameters. Every speed
        # setting stays at the trainer's default, per-epoch evaluation included.
        *("--lr-scheduler-type", "constant", "--warmup-ratio", "0", "--weight-decay", "0"),
        *("--progress", "lines"),
        *("--work-dir", str(run.work / "scratch")),
        *args.trainer_arg,
    ]


def read_trainer(run: Run) -> dict[str, Any]:
    metrics = run.inputs.read_json(run.output, "metrics.json")
    attempt = run.inputs.read_json(run.output, "run.json")["attempts"][-1]
    return {
        "rows": metrics["rows"]["train"],
        "train_examples_per_second": metrics["throughput"]["train_examples_per_second"],
        "dev_accuracy": metrics["eval"]["accuracy"],
        "startup_seconds": metrics["throughput"].get("startup_seconds"),
        "checkpoint_stall_seconds": metrics["throughput"].get("checkpoint_stall_seconds"),
        "precision": (attempt.get("precision") or {}).get("policy"),
        "timeline": metrics.get("timeline_seconds"),
    }


CONTENDERS = {
    "reference": Contender(reference_command("reference_seed.py"), read_reference),
    "hf-example": Contender(reference_command("reference_hf_example.py"), read_reference),
    "trainer": Contender(trainer_command(), read_trainer),  # the defaults: what a user gets without tuning
    "trainer-fp32": Contender(trainer_command("--no-bf16"), read_trainer),
}
BASELINES = ("reference", "hf-example")
DEFAULT_CONTENDERS = ("reference", "hf-example", "trainer", "trainer-fp32")


def run_contender(name: str, run: Run, env: dict[str, str]) -> dict[str, Any]:
    wall, rss, code = timed(CONTENDERS[name].command(run), {**env, **run.inputs.env()})
    if code != 0:
        raise SystemExit(f"{name} failed with exit code {code}")
    result = CONTENDERS[name].read(run)
    return {
        "train_examples_per_second": result["train_examples_per_second"],
        "end_to_end_examples_per_second": result["rows"] * run.args.epochs / wall,
        "wall_seconds": wall,
        "dev_accuracy": result["dev_accuracy"],
        "peak_rss_mib": rss,
        "startup_seconds": result["startup_seconds"],
        **{
            key: result[key]
            for key in ("checkpoint_stall_seconds", "precision", "timeline")
            if result.get(key)
        },
    }


METRICS = (
    "train_examples_per_second",
    "end_to_end_examples_per_second",
    "dev_accuracy",
    "peak_rss_mib",
    "startup_seconds",
    "checkpoint_stall_seconds",
)
HEADERS = ("train ex/s", "end-to-end ex/s", "dev accuracy", "peak RSS MiB", "first step s", "ckpt stall s")
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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a GLUE task folder: ../shared/data/sst2 or mrpc")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--rows", type=int, default=2000, help="training rows sampled (0: all)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument(
        "--contenders",
        nargs="+",
        choices=list(CONTENDERS),
        default=list(DEFAULT_CONTENDERS),
        help="which to run (default: %(default)s); the first seed runs them in this order, each next seed "
        "rotates it",
    )
    parser.add_argument(
        "--storage",
        choices=["s3", "local"],
        default="s3",
        help="where the trainer reads the model and data and publishes: a SeaweedFS bucket on loopback (default) "
        "or local files",
    )
    parser.add_argument("--trainer-arg", action="append", default=[], help="extra trainer flag (repeatable)")
    parser.add_argument("--json", type=Path, default=Path("bench.json"))
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        help="run nothing: report the runs in these JSON files (parts of one bench: same task, rows, epochs, "
        "batch size and storage) as one",
    )
    args = parser.parse_args()
    if not args.combine and (args.data is None or args.model is None):
        parser.error("--data and --model are required (unless --combine)")
    return args


def combine(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    """The runs of the parts' JSON files, as `run_rounds` returns them; `args` takes the parts' job."""
    documents = [json.loads(path.read_text()) for path in args.combine]
    first = documents[0]
    for key in ("task", "rows", "epochs", "batch_size", "storage"):
        if any(document[key] != first[key] for document in documents):
            raise SystemExit(f"--combine: the files differ in {key}; they are not parts of one bench")
    runs: dict[str, list[dict[str, Any]]] = {}
    orders: dict[int, list[str]] = {}
    for document in documents:
        for name, part in document["runs"].items():
            runs.setdefault(name, []).extend(part)
        for seed, order in document["orders"].items():
            orders.setdefault(int(seed), []).extend(order)
    args.data, args.storage = Path(first["task"]), first["storage"]
    args.epochs, args.batch_size = first["epochs"], first["batch_size"]
    args.seeds = sorted({run["seed"] for part in runs.values() for run in part})
    contenders = [name for name in CONTENDERS if name in runs]
    return contenders, {"rows": first["rows"], "orders": orders, "runs": runs}


def run_rounds(args: argparse.Namespace, contenders: list[str]) -> dict[str, Any]:
    """Every contender once per seed, the order rotating; each run's results with the load average around it."""
    task = TASKS[args.data.name]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_OFFLINE": "1"}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    orders: dict[int, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        train, dev = work / "train.tsv", work / "dev.tsv"
        rows = sample(args.data / "train.tsv", train, args.rows, seed=0)
        sample(args.data / "dev.tsv", dev, 0, seed=0)
        with trainer_inputs(args.storage, args.model, train, dev, work) as inputs:
            for i, seed in enumerate(args.seeds):
                shift = i % len(contenders)
                orders[seed] = order = contenders[shift:] + contenders[:shift]
                for name in order:
                    trainer = name.startswith("trainer")
                    output = (
                        f"{inputs.outputs}/{name}-{seed}" if trainer else str(work / f"{name}-{seed}.json")
                    )
                    load_before = os.getloadavg()[0]
                    result = run_contender(name, Run(args, task, train, dev, seed, output, inputs, work), env)
                    result["load_average_1min"] = [load_before, os.getloadavg()[0]]
                    results[name].append({"seed": seed, **result})
                    shown = {k: v for k, v in result.items() if isinstance(v, float | int)}
                    print(
                        f"seed {seed} {name:<12} " + " ".join(f"{k}={v:.3f}" for k, v in shown.items()),
                        flush=True,
                    )
    return {"rows": rows, "orders": orders, "runs": results}


def report(args: argparse.Namespace, contenders: list[str], measured: dict[str, Any]) -> dict[str, Any]:
    """The table, the ratios and the phases, printed; the same as a document for the JSON file."""
    results = measured["runs"]
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
        f"\n{args.data.name}: {measured['rows']} training rows, {args.epochs} epochs, batch {args.batch_size}, "
        f"seeds {args.seeds}, trainer storage {args.storage}; {machine}"
    )
    width = 24
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
    phases = {name: phase_seconds(results[name]) for name in contenders if name.startswith("trainer")}
    for name, seconds_of in phases.items():
        print(f"\n{name}: where the wall time goes (median seconds over seeds)")
        for phase, seconds in seconds_of.items():
            print(f"  {phase:<34}{seconds:>8.1f}")
    return {
        "machine": machine,
        "task": args.data.name,
        "rows": measured["rows"],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seeds": args.seeds,
        "storage": args.storage,
        "contenders": contenders,
        "orders": measured["orders"],
        "runs": results,
        "summary": table,
        "ratios": ratios,
        "accuracy_gap_mean": accuracy_gap,
        "phases": phases,
    }


def main() -> int:
    args = parse_args()
    if args.combine:
        contenders, measured = combine(args)
    else:
        contenders = list(dict.fromkeys(args.contenders))
        measured = run_rounds(args, contenders)
    document = report(args, contenders, measured)
    args.json.write_text(json.dumps(document, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
