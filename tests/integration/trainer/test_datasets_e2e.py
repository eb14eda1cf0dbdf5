"""`trainer train`, `evaluate` and `predict` on data kept the 🤗 Datasets way, as subprocesses against loopback S3:
a DatasetDict folder in a bucket, a pre-tokenized folder, a local dataset read through `datasets.load_dataset` (the
code path of a Hub id). Each training run publishes a complete run."""

import csv
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from trainer_e2e_helpers import (
    LEARNS,
    WELL_ABOVE_CHANCE,
    Staged,
    assert_complete,
    listing,
    read_json,
    run_trainer,
)

from support.hf_datasets import NAMES, local_dataset_repo, save_dataset_dict, save_pretokenized

pytestmark = pytest.mark.slow

SPLITS = {"train": 480, "validation": 90, "test": 60}
DECLARED = ["weather", "food", "sports"]
"""The folder's ClassLabel declares its names in this (unsorted) order; the run keeps it."""


def upload(s3: Staged, folder: Path, prefix: str) -> str:
    client = s3.endpoint.client()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), s3.bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return f"s3://{s3.bucket}/{prefix}"


def run_verb(verb: str, args: list[str], s3: Staged, work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trainer", verb, *args, "--work-dir", str(work)],
        env={**os.environ, **s3.endpoint.env()},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train, validation and an unlabelled (-1) test split, each in two Arrow files."""
    return save_dataset_dict(tmp_path_factory.mktemp("dd") / "reviews", SPLITS, shards=2, names=DECLARED)


@pytest.fixture(scope="module")
def trained(staged_moto: Staged, folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(the folder's s3:// prefix, the run's output): trained once from the DatasetDict in the bucket."""
    s3 = staged_moto
    data = upload(s3, folder, f"reviews-{uuid.uuid4().hex[:6]}")
    output = s3.output("dataset-dict")
    args = ["--model", s3.model, "--train-data", data, "--output", output, *LEARNS]
    result = run_trainer(args, s3.endpoint, tmp_path_factory.mktemp("work"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        f"train data: split 'train' of {data} (by default train; --train-split picks another; splits: train, "
        "validation, test)" in result.stderr
    )
    assert f"evaluation data: split 'validation' of {data} (by default validation, else test" in result.stderr
    assert f"train data: 480 rows from split 'train' of {data} (2 Arrow file(s))" in result.stderr
    return data, output


def test_trains_from_a_dataset_dict_folder_in_a_bucket(staged_moto: Staged, trained: tuple[str, str]) -> None:
    s3, (data, output) = staged_moto, trained
    assert_complete(listing(s3.endpoint, output))
    metrics = read_json(s3.endpoint, output, "metrics.json")
    assert metrics["rows"] == {"train": 480, "eval": 90}
    assert metrics["eval"]["accuracy"] > WELL_ABOVE_CHANCE
    assert read_json(s3.endpoint, output, "labels.json") == DECLARED
    id2label = read_json(s3.endpoint, output, "model/config.json")["id2label"]
    assert id2label == {str(i): name for i, name in enumerate(DECLARED)}
    run = read_json(s3.endpoint, output, "run.json")
    assert [(e["uri"], e["split"]) for e in run["data"]["eval"]] == [
        (f"{data}/validation/data-0000{i}-of-00002.arrow", "validation") for i in range(2)
    ]
    assert all(e["etag"] for e in run["data"]["train"])


def test_evaluate_and_predict_take_the_same_folder(
    staged_moto: Staged, folder: Path, trained: tuple[str, str], tmp_path: Path
) -> None:
    from datasets import load_from_disk

    s3, (data, output) = staged_moto, trained
    evaluated = run_verb(
        "evaluate", ["--model", output, "--data", data, "--output", f"{output}/eval"], s3, tmp_path
    )
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert "data: split 'validation' of" in evaluated.stderr
    metrics = read_json(s3.endpoint, f"{output}/eval", "metrics.json")
    assert metrics["accuracy"] == pytest.approx(
        read_json(s3.endpoint, output, "metrics.json")["eval"]["accuracy"]
    )

    predicted = run_verb(
        "predict", ["--model", output, "--data", data, "--output", f"{output}/pred"], s3, tmp_path
    )
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert "data: split 'test' of" in predicted.stderr  # predict takes the (unlabelled) test split by default
    objects = listing(s3.endpoint, f"{output}/pred")
    parts = [f"test/data-0000{i}-of-00002.jsonl" for i in range(2)]
    assert set(objects) == {*parts, "predictions.json", "_SUCCESS"}
    client = s3.endpoint.client()
    bucket, prefix = f"{output}/pred".removeprefix("s3://").split("/", 1)
    rows = [
        json.loads(line)
        for part in parts
        for line in client.get_object(Bucket=bucket, Key=f"{prefix}/{part}")["Body"]
        .read()
        .decode()
        .splitlines()
    ]
    assert [row["text"] for row in rows] == load_from_disk(str(folder))["test"]["text"]  # input order
    assert {row["label"] for row in rows} <= set(DECLARED)


def test_trains_from_a_pretokenized_folder(staged_moto: Staged, tiny_bert: Path, tmp_path: Path) -> None:
    s3 = staged_moto
    folder = save_pretokenized(tmp_path / "reviews-tokenized", tiny_bert, {"train": 480, "validation": 90})
    output = s3.output("pretokenized")
    args = [
        "--model",
        s3.model,
        "--train-data",
        str(folder),
        "--output",
        output,
        "--max-length",
        "12",
        *LEARNS,
    ]
    result = run_trainer(args, s3.endpoint, tmp_path / "work")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pre-tokenized rows were longer than --max-length 12 and were truncated" in result.stderr
    assert_complete(listing(s3.endpoint, output))
    metrics = read_json(s3.endpoint, output, "metrics.json")
    assert metrics["rows"] == {"train": 480, "eval": 90}
    assert metrics["eval"]["accuracy"] > WELL_ABOVE_CHANCE


def test_trains_from_a_dataset_through_load_dataset(staged_moto: Staged, tmp_path: Path) -> None:
    """A local dataset repository goes through exactly the call a Hub id does (`datasets.load_dataset`)."""
    s3 = staged_moto
    repo = local_dataset_repo(tmp_path / "topics", {"train": 480, "validation": 90, "test": 60})
    output = s3.output("load-dataset")
    args = ["--model", s3.model, "--dataset-name", str(repo), "--output", output, *LEARNS]
    result = run_trainer(args, s3.endpoint, tmp_path / "work")
    assert result.returncode == 0, result.stderr[-3000:]
    assert_complete(listing(s3.endpoint, output))
    assert read_json(s3.endpoint, output, "labels.json") == NAMES  # the dataset card's ClassLabel
    run = read_json(s3.endpoint, output, "run.json")
    assert run["data"]["train"] == [
        {
            "dataset": str(repo),
            "config": None,
            "split": "train",
            "revision": None,
            "commit": None,
            "path": str(repo),
        }
    ]
    assert run["settings"]["dataset_name"] == str(repo)
    assert read_json(s3.endpoint, output, "metrics.json")["eval"]["accuracy"] > WELL_ABOVE_CHANCE

    predicted = run_verb(
        "predict",
        [
            "--model",
            output,
            "--dataset-name",
            str(repo),
            "--split",
            "validation",
            "--output",
            f"{output}/pred",
        ],
        s3,
        tmp_path / "predict",
    )
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    bucket, prefix = output.removeprefix("s3://").split("/", 1)
    body = s3.endpoint.client().get_object(
        Bucket=bucket, Key=f"{prefix}/pred/validation-00000-of-00001.jsonl"
    )
    rows = [json.loads(line) for line in body["Body"].read().decode().splitlines()]
    with (repo / "data" / "validation.csv").open(newline="", encoding="utf-8") as f:
        truth = [(row["text"], NAMES[int(row["label"])]) for row in csv.DictReader(f)]
    assert [row["text"] for row in rows] == [text for text, _ in truth]  # input order, text kept
    hits = sum(row["label"] == label for row, (_, label) in zip(rows, truth, strict=True))
    assert hits / len(truth) > WELL_ABOVE_CHANCE
