"""A run plan for tests of what consumes one (metrics documents, checkpoint fingerprints)."""

from trainer.distribute.plan import RunPlan


def run_plan(**overrides: object) -> RunPlan:
    """Two replicas of 16 rows, 10 steps per epoch, max length 128, on CPUs; `overrides` change any field."""
    values: dict = {
        "replicas": 2,
        "per_replica_batch_size": 16,
        "global_batch": 32,
        "pad_to_multiple_of": 1,
        "in_memory": True,
        "max_length": 128,
        "pad_token_id": 0,
        "steps_per_epoch": 10,
    }
    return RunPlan(**(values | overrides))
