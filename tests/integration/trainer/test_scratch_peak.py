"""`trainer train` on a 50-shard prefix in loopback S3 holds at most two raw shards on scratch at once: the peak is
the token files plus two shards, not the raw data set (benchmarks/scratch_peak.py samples the work dir every
millisecond). Before shards were streamed, all 50 sat on disk until tokenizing started."""

from pathlib import Path

import pytest
from trainer_e2e_helpers import run_benchmark

pytestmark = pytest.mark.slow

SHARDS = 50


def test_a_50_shard_prefix_trains_with_two_raw_shards_on_scratch_at_most(tiny_bert: Path) -> None:
    measured = run_benchmark(
        "scratch_peak.py", "--model", str(tiny_bert), "--shards", str(SHARDS), "--rows", "200"
    )
    peak, shard = measured["peak"], measured["shard_bytes_max"]
    assert measured["rows"] == SHARDS * 200 and measured["samples"] > 1000  # the sampler watched throughout
    assert 1 <= peak["raw_files"] <= 2
    assert peak["raw_bytes"] <= 2 * shard < measured["raw_bytes_total"] / 20
    assert peak["token_bytes"] > 0
    assert peak["raw_and_token_bytes"] <= measured["bound_raw_and_token_bytes"]
