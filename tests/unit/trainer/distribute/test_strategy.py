"""The strategy and this process's place in it: replicas, chief-only writes, sharding, a lost peer."""

from pathlib import Path

import tensorflow as tf

from trainer.distribute.strategy import (
    LOST_PEER_ERRORS,
    chief_or_temp_dir,
    choose_sharding,
    describe,
    input_shard_policy,
    is_chief,
    make_strategy,
    num_workers,
    peer_lost,
    shard_policy,
    strategy_name,
)


def test_two_logical_cpus_give_a_two_replica_mirrored_strategy() -> None:
    strategy = make_strategy()
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    facts = describe(strategy)
    assert facts["strategy"] == "MirroredStrategy"
    assert facts["replicas"] == 2
    assert len(facts["devices"]) == 2


def test_sharding_is_by_file_only_with_a_file_source_and_a_file_per_worker() -> None:
    assert choose_sharding(8, 1)[0] == "OFF"
    assert choose_sharding(8, 4)[0] == "DATA"  # tokenized in memory: no files in the tf.data pipeline
    assert choose_sharding(8, 4, file_source=True)[0] == "FILE"
    assert choose_sharding(4, 4, file_source=True)[0] == "FILE"
    mode, reason = choose_sharding(3, 4, file_source=True)
    assert mode == "DATA" and "only 3 file(s) for 4 workers" in reason
    assert shard_policy("DATA") == tf.data.experimental.AutoShardPolicy.DATA
    assert shard_policy("FILE") == tf.data.experimental.AutoShardPolicy.FILE


def test_single_worker_strategies_are_their_own_chief() -> None:
    strategy = make_strategy()
    assert is_chief(strategy) and num_workers(strategy) == 1
    assert strategy_name(strategy) == "MirroredStrategy"
    facts = describe(strategy)
    assert facts["workers"] == 1 and facts["replicas"] == 2
    assert input_shard_policy(strategy, 5) == tf.data.experimental.AutoShardPolicy.OFF


def test_the_chief_writes_to_the_real_path(tmp_path: Path) -> None:
    with chief_or_temp_dir(tmp_path / "model", make_strategy()) as target:
        assert target == tmp_path / "model"
        target.mkdir()
    assert (tmp_path / "model").is_dir()


def test_a_lost_peer_becomes_a_retryable_error_naming_it() -> None:
    aborted = tf.errors.UnavailableError(
        None,
        None,
        "Collective ops is aborted by: Error reported from /job:worker/task:1: The following tasks are unhealthy "
        "(stopped sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have crashed.",
    )
    assert isinstance(aborted, LOST_PEER_ERRORS)
    error = peer_lost(aborted)
    assert error.exit_code == 75
    assert str(error).startswith("training stopped because /job:worker/replica:0/task:1 left the group")
    assert "resumes from the newest checkpoint" in str(peer_lost(tf.errors.AbortedError(None, None, "x")))
