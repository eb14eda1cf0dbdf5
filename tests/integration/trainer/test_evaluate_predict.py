"""`trainer evaluate` and `trainer predict` as subprocesses against loopback S3, on a model trained here."""

import csv
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from trainer_e2e_helpers import LEARNS, Staged, run_trainer

from support.toy_data import TOPICS, sentences, write_csv

pytestmark = pytest.mark.slow

SHARD_ROWS = (173, 1, 90)
"""Uneven shards: a chunk boundary inside a shard, a one-row shard, partial global batches everywhere."""


def run_verb(verb: str, args: list[str], s3: Staged, work_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **s3.endpoint.env()}
    return subprocess.run(
        [sys.executable, "-m", "trainer", verb, *args, "--work-dir", str(work_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def get(s3: Staged, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return s3.endpoint.client().get_object(Bucket=bucket, Key=key)["Body"].read()


def listing(s3: Staged, uri: str) -> dict[str, dict]:
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    objects = s3.endpoint.client().list_objects_v2(Bucket=bucket, Prefix=prefix + "/").get("Contents", [])
    return {o["Key"].removeprefix(prefix + "/"): o for o in objects}


@pytest.fixture(scope="module")
def trained(staged_moto: Staged, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A run's output prefix: the tiny model trained once for this module (2 replicas)."""
    s3 = staged_moto
    output = s3.output("for-inference")
    args = [
        *("--model", s3.model, "--train-data", s3.train, "--eval-data", s3.dev),
        *("--text-column", "review", "--label-column", "topic", "--output", output, "--cpu-replicas", "2"),
        *LEARNS,
        *("--epochs", "4"),
        "--no-bf16",  # float32, as evaluate computes: the tests compare its numbers with training's
    ]
    result = run_trainer(args, s3.endpoint, tmp_path_factory.mktemp("train-work"))
    assert result.returncode == 0, result.stderr[-3000:]
    return output


@pytest.fixture(scope="module")
def shards(staged_moto: Staged, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[list[dict]]]:
    """An s3:// prefix of three CSV shards (with an id column and a `_SUCCESS` marker) and their rows."""
    s3 = staged_moto
    folder = tmp_path_factory.mktemp("unlabelled")
    prefix = f"unlabelled-{uuid.uuid4().hex[:6]}"
    client = s3.endpoint.client()
    all_rows = []
    next_id = 0
    for index, count in enumerate(SHARD_ROWS):
        rows = [
            {"id": f"r{next_id + i}", "review": text}
            for i, (text, _) in enumerate(sentences(count, seed=10 + index))
        ]
        next_id += count
        path = folder / f"part-{index:05d}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["id", "review"])
            writer.writeheader()
            writer.writerows(rows)
        client.upload_file(str(path), s3.bucket, f"{prefix}/{path.name}")
        all_rows.append(rows)
    client.put_object(Bucket=s3.bucket, Key=f"{prefix}/_SUCCESS", Body=b"")
    return f"s3://{s3.bucket}/{prefix}", all_rows


def test_evaluate_reproduces_the_training_metrics(staged_moto: Staged, trained: str, tmp_path: Path) -> None:
    s3 = staged_moto
    output = s3.output("evaluate")
    args = [
        *("--model", f"{trained}/model", "--data", s3.dev, "--text-column", "review"),
        *(
            "--label-column",
            "topic",
            "--output",
            output,
            "--cpu-replicas",
            "2",
            "--per-replica-batch-size",
            "7",
        ),
    ]
    result = run_verb("evaluate", args, s3, tmp_path / "work")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "strategy=MirroredStrategy replicas=2" in result.stderr
    objects = listing(s3, output)
    assert set(objects) == {"metrics.json", "confusion_matrix.png", "_SUCCESS"}
    assert objects["_SUCCESS"]["LastModified"] >= max(o["LastModified"] for o in objects.values())
    assert get(s3, f"{output}/confusion_matrix.png").startswith(b"\x89PNG\r\n\x1a\n")

    measured = json.loads(get(s3, f"{output}/metrics.json"))
    assert measured["rows"] == 90
    assert set(measured["per_class"]) == set(TOPICS)
    assert np.asarray(measured["confusion_matrix"]["matrix"]).sum() == 90
    # The same model on the same data: what training reported at its end.
    at_training = json.loads(get(s3, f"{trained}/metrics.json"))["eval"]
    assert measured["accuracy"] == pytest.approx(at_training["accuracy"])
    assert measured["macro_f1"] == pytest.approx(at_training["macro_f1"])
    assert measured["loss"] == pytest.approx(at_training["loss"], rel=1e-3)
    assert measured["confusion_matrix"] == at_training["confusion_matrix"]


def test_evaluate_rejects_a_label_the_model_does_not_know(
    staged_moto: Staged, trained: str, tmp_path: Path
) -> None:
    s3 = staged_moto
    rows = [*sentences(6, seed=3), ("the election news today", "politics")]
    write_csv(tmp_path / "odd.csv", rows, header=("review", "topic"))
    args = [
        *("--model", trained, "--data", str(tmp_path / "odd.csv"), "--text-column", "review"),
        *("--label-column", "topic", "--output", s3.output("odd")),
    ]
    result = run_verb("evaluate", args, s3, tmp_path / "work")
    assert result.returncode == 3, result.stderr[-2000:]
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("trainer: error:")]
    assert "'politics'" in line and "not trained on" in line


def test_evaluate_of_a_missing_artifact_is_not_found(staged_moto: Staged, tmp_path: Path) -> None:
    s3 = staged_moto
    args = ["--model", f"s3://{s3.bucket}/runs/nope/model", "--data", s3.dev, "--output", s3.output("nope")]
    result = run_verb("evaluate", args, s3, tmp_path / "work")
    assert result.returncode == 4, result.stderr[-2000:]
    assert "is not a trained artifact" in result.stderr


def test_predict_keeps_order_and_row_count_over_shards(
    staged_moto: Staged, trained: str, shards: tuple[str, list[list[dict]]], tmp_path: Path
) -> None:
    s3 = staged_moto
    data, inputs = shards
    output = s3.output("predict")
    args = [
        *("--model", f"{trained}/model", "--data", data, "--text-column", "review", "--output", output),
        *("--keep-column", "id", "--all-probabilities", "--chunk-rows", "64", "--cpu-replicas", "2"),
        *("--per-replica-batch-size", "8"),
    ]
    result = run_verb("predict", args, s3, tmp_path / "work")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas=2" in result.stderr
    objects = listing(s3, output)
    names = [f"part-{i:05d}.jsonl" for i in range(len(SHARD_ROWS))]
    assert set(objects) == {*names, "predictions.json", "_SUCCESS"}
    assert objects["_SUCCESS"]["LastModified"] >= max(o["LastModified"] for o in objects.values())

    labels = sorted(TOPICS)
    correct = total = 0
    for name, rows in zip(names, inputs, strict=True):
        predicted = [json.loads(line) for line in get(s3, f"{output}/{name}").decode().splitlines()]
        assert [p["id"] for p in predicted] == [r["id"] for r in rows]  # same rows, same order
        for p, r in zip(predicted, rows, strict=True):
            assert set(p) == {"id", "label", "probability", "probabilities"}
            assert list(p["probabilities"]) == labels
            assert sum(p["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
            assert p["probability"] == max(p["probabilities"].values())
            assert p["label"] == max(p["probabilities"], key=p["probabilities"].get)
            truth = next(
                label for label, words in TOPICS.items() if any(w in r["review"].split() for w in words)
            )
            correct += p["label"] == truth
            total += 1
    assert total == sum(SHARD_ROWS)
    assert correct / total > 0.5  # a trained model, not noise (chance is 1/3)
    summary = json.loads(get(s3, f"{output}/predictions.json"))
    assert [f["rows"] for f in summary["files"]] == list(SHARD_ROWS) and summary["rows"] == sum(SHARD_ROWS)
    assert summary["labels"] == labels

    again = run_verb("predict", args, s3, tmp_path / "work")
    assert again.returncode == 0 and "nothing to do" in again.stderr
