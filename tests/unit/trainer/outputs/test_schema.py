"""run.json and metrics.json against the JSON Schemas the trainer ships: the documents of every problem type
validate, and a field the schema does not describe, or of the wrong type, does not."""

import json

import numpy as np
import pytest

from support.plans import run_plan
from support.schemas import problems
from trainer.outputs.metrics import evaluation, evaluation_document, training_document
from trainer.outputs.run_record import RunRecord
from trainer.outputs.schema import SCHEMA_VERSION

LOGITS = np.array([[2.0, 0.1, -1.0], [0.2, 1.5, 0.3], [-0.5, 0.4, 0.9], [1.0, 1.0, 1.0]])
EVALUATIONS = {
    "single": evaluation(LOGITS, np.array([0, 1, 1, 2]), ("a", "b", "c")),
    "multi": evaluation(
        LOGITS,
        np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1], [0, 0, 0]]),
        ("a", "b", "c"),
        "multi_label_classification",
    ),
    "regression": evaluation(LOGITS[:, :1], np.array([1.5, 0.2, -0.3, 0.8]), ("score",), "regression"),
}
HISTORY = [
    {"epoch": 1, "loss": 0.9, "val_loss": 0.8, "train_seconds": 2.0, "train_examples_per_second": 50.0}
]


def training(result: dict) -> dict:
    document = training_document(
        HISTORY,
        result,
        run_plan(),
        optimizer_steps=10,
        timeline={"first_step": 3.0},
        rows={"train": 8, "eval": 4},
    )
    return json.loads(json.dumps(document))  # as the file holds it


@pytest.mark.parametrize("kind", list(EVALUATIONS))
def test_the_metrics_of_every_problem_type_match_the_schema(kind: str) -> None:
    document = training(EVALUATIONS[kind])
    assert document["schema_version"] == SCHEMA_VERSION
    assert problems("metrics.json", document) == []
    evaluated = evaluation_document(
        EVALUATIONS[kind],
        rows=4,
        model="s3://b/run/model",
        data=[{"uri": "s3://b/d.csv", "size": 9, "etag": "x"}],
        seconds=1.5,
        replicas=2,
    )
    assert problems("metrics.json", json.loads(json.dumps(evaluated))) == []


def test_an_undescribed_or_mistyped_field_breaks_the_schema() -> None:
    document = training(EVALUATIONS["regression"])
    document["eval"]["r2"] = 0.5
    document["throughput"]["replicas"] = "two"
    found = problems("metrics.json", document)
    assert found and any("replicas" in problem or "r2" in problem for problem in found)
    assert problems("metrics.json", {**training(EVALUATIONS["single"]), "schema_version": 2}) != []


def test_run_records_match_the_schema_in_every_state() -> None:
    record = RunRecord(settings={"model": "m", "epochs": 3})
    record.distribution = {"strategy": "MirroredStrategy", "replicas": 2, "global_batch_size": 64}
    record.data = {"train": [{"uri": "s3://b/train.csv", "size": 10, "etag": '"abc"'}]}
    record.model_source = {"hub_id": "bert-base-cased"}
    record.begin_attempt(
        [{"started_at": "2026-11-30T10:00:00Z", "host": "h", "status": "interrupted", "resumed_from": None}]
    )
    assert problems("run.json", record.as_dict()) == []
    record.note_attempt(precision={"policy": "mixed_bfloat16", "reason": "--bf16 auto: the CPU has AMX"})
    record.resumed(epoch=1, step=5, optimizer_step=25, checkpoint="s3://b/run/checkpoints/ckpt-0000000025")
    record.failed(RuntimeError("boom"))
    assert record.as_dict()["schema_version"] == SCHEMA_VERSION
    assert problems("run.json", json.loads(json.dumps(record.as_dict()))) == []
    assert problems("run.json", {**record.as_dict(), "cost": 3}) != []
