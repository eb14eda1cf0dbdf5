"""What gradient accumulation costs: `trainer train` with N micro-batches of B per optimizer step against N plain
steps of B (the same micro-batch: the budget is at most 5% slower), and, for information, against plain steps of
N x B (the same effective batch).

Each configuration trains two epochs on the same sample of SST-2 with all-MiniLM-L6-v2, without evaluation during
training or checkpoints. The budget compares the second epoch's examples/s (metrics.json's history): the first
also traces the step function, a one-time cost that is larger for the accumulating step (it holds N micro-batches'
forward and backward passes) and is reported beside it. The runs rotate order per repeat; medians over repeats.
Prints a table and writes JSON.

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


def train(
    args: argparse.Namespace, flags: list[str], train: Path, dev: Path, output: Path
) -> tuple[float, float]:
    """Training examples/s of one run's first and last epoch."""
    command = [
        *(sys.executable, "-m", "trainer", "train", "--model", str(args.model)),
        *("--train-data", str(train), "--eval-data", str(dev), "--text-column", "sentence"),
        *("--label-column", "label", "--output", str(output), "--work-dir", str(output.parent / "scratch")),
        *("--epochs", "2", "--eval-strategy", "no", "--save-strategy", "no", "--progress", "lines"),
        *("--lr-scheduler-type", "constant", "--warmup-ratio", "0", "--seed", "42"),
        *flags,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    history = json.loads((output / "metrics.json").read_text())["history"]
    return history[0]["train_examples_per_second"], history[-1]["train_examples_per_second"]


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
    first: dict[str, list[float]] = {name: [] for name in configs}
    rates: dict[str, list[float]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as tmp:
        train_file, dev_file = Path(tmp) / "train.tsv", Path(tmp) / "dev.tsv"
        sample(args.data / "train.tsv", train_file, args.rows, seed=0)
        sample(args.data / "dev.tsv", dev_file, 256, seed=0)
        names = list(configs)
        for repeat in range(args.repeats):
            for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
                output = Path(tmp) / f"run-{repeat}-{len(rates[name])}-{name.replace(' ', '_')}"
                epoch_1, epoch_2 = train(args, configs[name], train_file, dev_file, output)
                first[name].append(epoch_1)
                rates[name].append(epoch_2)
                print(f"repeat {repeat + 1} {name}: {epoch_1:.1f} / {epoch_2:.1f} examples/s", flush=True)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    first_medians = {name: statistics.median(values) for name, values in first.items()}
    plain, accumulated, large = (medians[name] for name in names)
    slowdown = plain / accumulated
    print(f"\n{'configuration':<22} {'epoch 2 ex/s (median)':>22} {'epoch 1 (tracing)':>18}  epoch 2 runs")
    for name in names:
        runs = ", ".join(f"{v:.1f}" for v in rates[name])
        print(f"{name:<22} {medians[name]:>22.1f} {first_medians[name]:>18.1f}  {runs}")
    print(f"\naccumulation time / plain steps of the same micro-batch: {slowdown:.3f} (budget {BUDGET})")
    print(
        f"accumulation time / plain steps of the same effective batch: {large / accumulated:.3f} (information)"
    )
    report = {"epoch_2": rates, "epoch_1": first, "median": medians, "slowdown": slowdown, "budget": BUDGET}
    args.report.write_text(json.dumps(report, indent=2))
    return 0 if slowdown <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
