import tensorflow as tf

from trainer.distribute.strategy import describe, global_batch_size, make_strategy


def test_global_batch_is_per_replica_batch_times_replicas() -> None:
    assert global_batch_size(16, 4) == 64
    assert global_batch_size(16, 1) == 16


def test_two_logical_cpus_give_a_two_replica_mirrored_strategy() -> None:
    strategy = make_strategy()
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    facts = describe(strategy)
    assert facts["strategy"] == "MirroredStrategy"
    assert facts["replicas"] == 2
    assert len(facts["devices"]) == 2
