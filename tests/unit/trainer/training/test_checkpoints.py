"""Checkpoints refuse a resume whose settings changed; the fingerprint's keys are what earlier runs stored."""

from support.plans import run_plan
from trainer.data.labels import LabelMap
from trainer.settings.train import TrainSettings
from trainer.training.checkpoints import checkpoint_name, fingerprint_for


def test_the_fingerprint_keys_stay_those_earlier_checkpoints_were_written_with() -> None:
    settings = TrainSettings(model="s3://b/base", train_data="s3://b/t.csv", output="s3://b/o", epochs=2)
    plan = run_plan(max_length=64, steps_per_epoch=15)
    fingerprint = fingerprint_for(settings, plan, LabelMap(("food", "sports")))
    assert fingerprint == {
        "model": "s3://b/base",
        "labels": ["food", "sports"],
        "global_batch_size": 32,
        "max_length": 64,
        "steps_per_epoch": 15,
        "epochs": 2,
        "group_by_length": True,
    }
    assert list(fingerprint) == [
        "model",
        "labels",
        "global_batch_size",
        "max_length",
        "steps_per_epoch",
        "epochs",
        "group_by_length",
    ]
    assert checkpoint_name(30) == "ckpt-0000000030"


def test_problem_types_and_class_weights_add_fingerprint_keys_only_away_from_their_defaults() -> None:
    settings = TrainSettings(model="m", train_data="t.csv", output="o", epochs=2, class_weight="balanced")
    plan = run_plan(max_length=64, steps_per_epoch=15)
    weighted = fingerprint_for(settings, plan, LabelMap(("food", "sports")))
    assert weighted["class_weight"] == "balanced" and "problem_type" not in weighted
    plain = TrainSettings(model="m", train_data="t.csv", output="o", epochs=2)
    regression = fingerprint_for(plain, plan, LabelMap.regression())
    assert regression["problem_type"] == "regression" and regression["labels"] == ["score"]
    assert "class_weight" not in regression
    multi = fingerprint_for(plain, plan, LabelMap(("a", "b"), "multi_label_classification"))
    assert multi["problem_type"] == "multi_label_classification"


def test_new_options_add_fingerprint_keys_only_away_from_their_defaults() -> None:
    def keys(**options: object) -> dict:
        settings = TrainSettings(model="m", train_data="s3://b/t.csv", output="s3://b/o", **options)
        accumulation = int(options.get("gradient_accumulation_steps", 1))  # type: ignore[call-overload]
        return fingerprint_for(settings, run_plan(accumulation_steps=accumulation), LabelMap(("a", "b")))

    base = keys()
    assert "gradient_accumulation_steps" not in base and "max_steps" not in base
    # Settings that do not change what a step trains on, or where steps fall, never enter it.
    assert keys(max_grad_norm=1.0, eval_strategy="steps", eval_steps=5, save_strategy="epoch") == base
    assert keys(gradient_accumulation_steps=4) == base | {"gradient_accumulation_steps": 4}
    assert keys(max_steps=100) == base | {"max_steps": 100}
