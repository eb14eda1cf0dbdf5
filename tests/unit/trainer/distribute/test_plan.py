"""The run's plan: the numbers resolved once from the settings and the facts, purely (no TensorFlow)."""

from types import SimpleNamespace

import pytest

from trainer.distribute.plan import (
    Facts,
    effective_max_length,
    global_batch_size,
    keep_in_memory,
    pad_multiple,
    plan_inference,
    plan_training,
    steps_per_epoch,
)
from trainer.errors import DataError
from trainer.settings.train import TrainSettings


def settings(**options: object) -> TrainSettings:
    return TrainSettings(model="m", train_data="s3://b/train.csv", output="s3://b/out", **options)


def facts(**overrides: object) -> Facts:
    values: dict = {"replicas": 2, "gpus": False, "max_length": 128, "pad_token_id": None, "rows": 100}
    return Facts(**(values | overrides))


def test_global_batch_is_per_replica_batch_times_replicas() -> None:
    assert global_batch_size(16, 4) == 64
    assert global_batch_size(16, 1) == 16


def test_steps_per_epoch() -> None:
    assert steps_per_epoch(10, 4, drop_remainder=True) == 2
    assert steps_per_epoch(10, 4, drop_remainder=False) == 3
    assert steps_per_epoch(3, 4, drop_remainder=True) == 0


def test_pad_multiple_defaults_to_8_on_gpus_and_1_on_cpus() -> None:
    assert pad_multiple(None, gpus=True) == 8
    assert pad_multiple(None, gpus=False) == 1
    assert pad_multiple(16, gpus=False) == 16


def test_a_training_plan_resolves_every_number_and_leaves_the_settings_as_given() -> None:
    given = settings(per_replica_batch_size=16)
    plan = plan_training(given, facts(token_bytes=1000, memory_limit=10**9))
    assert (plan.replicas, plan.global_batch, plan.steps_per_epoch) == (2, 32, 3)
    assert (plan.pad_to_multiple_of, plan.buckets, plan.in_memory) == (1, None, True)
    assert (plan.max_length, plan.pad_token_id) == (128, 0)
    assert plan.describe() == {
        "per_replica_batch_size": 16,
        "global_batch_size": 32,
        "gradient_accumulation_steps": 1,
        "effective_batch_size": 32,
        "total_steps": 9,
        "steps_per_epoch": 3,
        "pad_to_multiple_of": 1,
        "token_ids_in_memory": True,
    }
    assert list(plan.describe()) == [  # run.json's key order
        "per_replica_batch_size",
        "global_batch_size",
        "gradient_accumulation_steps",
        "effective_batch_size",
        "total_steps",
        "steps_per_epoch",
        "pad_to_multiple_of",
        "token_ids_in_memory",
    ]
    assert given.pad_to_multiple_of is None and given.keep_in_memory is None


def test_gpus_pad_to_8_and_xla_pads_to_buckets_up_to_the_requested_max_length() -> None:
    plan = plan_training(settings(jit_compile=True, max_length=100), facts(gpus=True, max_length=64))
    assert plan.pad_to_multiple_of == 8
    assert plan.buckets == (16, 32, 64, 104)
    assert plan.max_length == 64  # the effective length (the tokenizer's cap): the fingerprint's value
    assert plan_training(settings(pad_to_multiple_of=4), facts(gpus=True)).pad_to_multiple_of == 4


def test_token_ids_stay_in_memory_when_they_take_a_quarter_of_the_limit_at_most() -> None:
    assert plan_training(settings(), facts(token_bytes=250, memory_limit=1000)).in_memory
    assert not plan_training(settings(), facts(token_bytes=251, memory_limit=1000)).in_memory
    assert plan_training(settings(keep_in_memory=True), facts(token_bytes=10**6, memory_limit=1000)).in_memory
    assert not plan_training(settings(keep_in_memory=False), facts(token_bytes=1)).in_memory
    assert keep_in_memory(None, 10**12, None)  # the limit is unknown


def test_fewer_rows_than_one_global_batch_is_a_data_error_naming_the_fix() -> None:
    with pytest.raises(DataError) as raised:
        plan_training(settings(per_replica_batch_size=32), facts(rows=40))
    assert str(raised.value) == (
        "40 training rows are fewer than one global batch of 64 (32 per replica x 2 replicas): "
        "lower --per-replica-batch-size or add data"
    )


def test_gradient_accumulation_counts_optimizer_steps_of_the_effective_batch() -> None:
    plan = plan_training(
        settings(per_replica_batch_size=8, gradient_accumulation_steps=3, epochs=2), facts(rows=100)
    )
    assert (plan.global_batch, plan.step_batch, plan.accumulation_steps) == (16, 48, 3)
    assert (plan.steps_per_epoch, plan.total_steps, plan.epochs) == (2, 4, 2)
    assert plan.describe()["effective_batch_size"] == 48
    with pytest.raises(DataError) as raised:
        plan_training(settings(per_replica_batch_size=16, gradient_accumulation_steps=4), facts(rows=100))
    assert str(raised.value) == (
        "100 training rows are fewer than one optimizer step's batch of 128 (16 per replica x 2 replicas x 4 "
        "accumulation steps): lower --per-replica-batch-size or --gradient-accumulation-steps, or add data"
    )


def test_max_steps_overrides_epochs_and_may_end_inside_an_epoch() -> None:
    plan = plan_training(settings(per_replica_batch_size=10, epochs=1, max_steps=12), facts(rows=100))
    assert (plan.steps_per_epoch, plan.total_steps, plan.epochs) == (5, 12, 3)
    assert plan_training(settings(max_steps=2, per_replica_batch_size=10), facts(rows=100)).epochs == 1


def test_evaluate_and_predict_plan_with_trainings_batch_and_padding_rules() -> None:
    evaluate = plan_inference(8, facts(replicas=3, pad_token_id=7, token_bytes=300, memory_limit=1000))
    assert (evaluate.global_batch, evaluate.pad_to_multiple_of, evaluate.pad_token_id) == (24, 1, 7)
    assert (evaluate.steps_per_epoch, evaluate.buckets, evaluate.in_memory) == (0, None, False)
    predict = plan_inference(8, facts(gpus=True))  # rows stream through in chunks: always in memory
    assert (predict.pad_to_multiple_of, predict.in_memory) == (8, True)


def test_the_tokenizer_caps_the_max_length() -> None:
    assert effective_max_length(128, SimpleNamespace(model_max_length=64)) == 64
    assert effective_max_length(128, SimpleNamespace(model_max_length=10**30)) == 128
    assert effective_max_length(128, object()) == 128
