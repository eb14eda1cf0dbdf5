"""What gradient accumulation costs: `trainer train` with N micro-batches of B per optimizer step against N plain
steps of B (the same micro-batch: the budget is at most 5% slower), and, for information, against plain steps of
N x B (the same effective batch).

Each configuration trains one epoch on the same sample of SST-2 with all-MiniLM-L6-v2, without evaluation during
training or checkpoints; the runs rotate order per repeat and the training phase's examples/s (metrics.json) is
compared as the median over repeats. Prints a table and writes JSON.

    python benchmarks/bench_accumulation.py --data /work/shared/data/sst2 --model .cache/models/all-MiniLM-L6-v2
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_train import sample

BUDGET = 1.05
"""Accumulating N micro-batches of B may take at most 5% longer than N plain steps of B."""


def configurations(batch: int, steps: int) -> dict[str, list[str]]:
    return {
        f"plain B={batch}": ["--per-replica-batch-size", str(batch)],
        f"accumulate {steps}x{batch}": [
            *("--per-replica-batch-size", str(batch), "--gradient-accumulation-steps", str(steps))
        ],
        f"plain B={batch * steps}": ["--per-replica-batch-size", str(batch * steps)],
    }


def train(args: argparse.Namespace, flags: list[str], train: Path, dev: Path, output: Path) -> float:
    """Training-phase examples/s of one run."""
    command = [
        *(sys.executable, "-m", "trainer", "train", "--model", str(args.model)),
        *("--train-data", str(train), "--eval-data", str(dev), "--text-column", "sentence"),
        *("--label-column", "label", "--output", str(output), "--work-dir", str(output.parent / "scratch")),
        *("--epochs", "1", "--eval-strategy", "no", "--save-strategy", "no", "--progress", "lines"),
        *("--lr-scheduler-type", "constant", "--warmup-ratio", "0", "--seed", "42"),
        *flags,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads((output / "metrics.json").read_text())["throughput"]["train_examples_per_second"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with SST-2's train.tsv and dev.tsv")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=16, help="the micro-batch B")
    parser.add_argument("--accumulation-steps", type=int, default=4, help="N")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--report", type=Path, default=Path("bench_accumulation.json"))
    args = parser.parse_args()
    configs = configurations(args.batch_size, args.accumulation_steps)
    rates: dict[str, list[float]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as tmp:
        train_file, dev_file = Path(tmp) / "train.tsv", Path(tmp) / "dev.tsv"
        sample(args.data / "train.tsv", train_file, args.rows, seed=0)
        sample(args.data / "dev.tsv", dev_file, 256, seed=0)
        names = list(configs)
        for repeat in range(args.repeats):
            for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
                output = Path(tmp) / f"run-{repeat}-{len(rates[name])}-{name.replace(' ', '_')}"
                rates[name].append(train(args, configs[name], train_file, dev_file, output))
                print(f"repeat {repeat + 1} {name}: {rates[name][-1]:.1f} examples/s", flush=True)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    plain, accumulated, large = (medians[name] for name in names)
    slowdown = plain / accumulated
    print(f"\n{'configuration':<22} {'train ex/s (median)':>20}  runs")
    for name in names:
        print(f"{name:<22} {medians[name]:>20.1f}  {', '.join(f'{v:.1f}' for v in rates[name])}")
    print(f"\naccumulation time / plain steps of the same micro-batch: {slowdown:.3f} (budget {BUDGET})")
    print(
        f"accumulation time / plain steps of the same effective batch: {large / accumulated:.3f} (information)"
    )
    args.report.write_text(
        json.dumps({"runs": rates, "median": medians, "slowdown": slowdown, "budget": BUDGET}, indent=2)
    )
    return 0 if slowdown <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
