"""`trainer predict` streams: its peak memory does not grow with the input (benchmarks/predict_memory.py)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "predict_memory.py"
FLAT_MIB = 25.0
"""Allowed growth of peak RSS when the input grows 4x. Measured: +5 MiB at 4,000 -> 16,000 rows (chunks of 1,000);
holding the whole input instead grows it by tens of MiB at this size, hundreds at 100,000 rows."""


def test_peak_memory_stays_flat_as_the_input_grows(tiny_bert: Path, tmp_path: Path) -> None:
    artifact = shutil.copytree(tiny_bert, tmp_path / "model")
    config = json.loads((artifact / "config.json").read_text())
    names = ["food", "sports", "weather"]
    config["id2label"] = {str(i): n for i, n in enumerate(names)}
    config["label2id"] = {n: i for i, n in enumerate(names)}
    (artifact / "config.json").write_text(json.dumps(config))  # an untrained head is enough to measure memory

    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            *("--model", str(artifact), "--rows", "1500", "--factor", "4", "--chunk-rows", "300"),
            *("--max-length", "64", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    small, large = measured["runs"]
    assert large["rows"] == 4 * small["rows"]
    print(json.dumps(measured, indent=2))  # the numbers, with -s
    assert measured["growth_mib"] < FLAT_MIB, measured
