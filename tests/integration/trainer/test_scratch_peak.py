"""`trainer train` on a 50-shard prefix in loopback S3 holds at most two raw shards on scratch at once: the peak is
the token files plus two shards, not the raw data set (benchmarks/scratch_peak.py samples the work dir every
millisecond). Before shards were streamed, all 50 sat on disk until tokenizing started."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "scratch_peak.py"
SHARDS = 50


def test_a_50_shard_prefix_trains_with_two_raw_shards_on_scratch_at_most(tiny_bert: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--model",
            str(tiny_bert),
            "--shards",
            str(SHARDS),
            "--rows",
            "200",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    print(json.dumps(measured, indent=2))  # the numbers, with -s
    peak, shard = measured["peak"], measured["shard_bytes_max"]
    assert measured["rows"] == SHARDS * 200 and measured["samples"] > 1000  # the sampler watched throughout
    assert 1 <= peak["raw_files"] <= 2
    assert peak["raw_bytes"] <= 2 * shard < measured["raw_bytes_total"] / 20
    assert peak["token_bytes"] > 0
    assert peak["raw_and_token_bytes"] <= measured["bound_raw_and_token_bytes"]
