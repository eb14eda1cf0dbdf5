"""The command line both baseline recipes share, so `bench_train.py` runs them the same way."""

import argparse
from pathlib import Path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--text-column", action="append", required=True, help="one, or two for pairs")
    parser.add_argument("--label-column", required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    if len(args.text_column) > 2:
        parser.error("--text-column: one or two columns")
    return args
