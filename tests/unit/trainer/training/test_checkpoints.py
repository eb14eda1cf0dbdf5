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
