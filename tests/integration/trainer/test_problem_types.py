"""Regression and multi-label runs end to end, as a user runs them: `trainer train` infers the problem type from
the label column, then `evaluate`, `predict` and the serving folder answer by it (loopback S3, tiny model)."""

import json
from pathlib import Path

import numpy as np
import pytest
from test_evaluate_predict import get, listing, run_verb
from trainer_e2e_helpers import Staged, run_trainer

from support.problem_data import scored, tagged, write_jsonl
from support.toy_data import TOPICS, sentences, write_csv

pytestmark = pytest.mark.slow

QUICK = ["--learning-rate", "2e-3", "--per-replica-batch-size", "16", "--no-bf16", "--text-column", "review"]


def train(s3: Staged, name: str, args: list[str], work: Path) -> tuple[str, str]:
    output = s3.output(name)
    result = run_trainer(["--model", s3.model, "--output", output, *QUICK, *args], s3.endpoint, work)
    assert result.returncode == 0, result.stderr[-3000:]
    return output, result.stderr


@pytest.fixture(scope="module")
def regression(staged_moto: Staged, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """A run trained on float scores with the evaluation rows split off (--eval-fraction): output, log, data."""
    folder = tmp_path_factory.mktemp("sts")
    train_csv = write_csv(folder / "train.csv", scored(300, seed=1), header=("review", "similarity"))
    dev_csv = write_csv(folder / "dev.csv", scored(45, seed=2), header=("review", "similarity"))
    args = [*("--train-data", str(train_csv), "--label-column", "similarity", "--epochs", "10")]
    # Two replicas of 8 rows: the global batch (and so the number of steps) of one replica of 16.
    args += ["--cpu-replicas", "2", "--per-replica-batch-size", "8"]
    output, log = train(staged_moto, "sts", [*args, "--eval-fraction", "0.2"], tmp_path_factory.mktemp("w"))
    return output, log, dev_csv


def test_float_labels_train_a_regression_with_its_metrics(
    staged_moto: Staged, regression, tmp_path: Path
) -> None:
    s3, (output, log, dev) = staged_moto, regression
    assert "a regression (one score)" in log and "eval: loss=" in log and "pearson=" in log
    objects = listing(s3, output)
    assert "confusion_matrix.png" not in objects and "serving/saved_model/saved_model.pb" in objects
    assert json.loads(get(s3, f"{output}/labels.json")) == ["score"]
    assert json.loads(get(s3, f"{output}/model/config.json"))["problem_type"] == "regression"
    measured = json.loads(get(s3, f"{output}/metrics.json"))["eval"]
    assert measured["problem_type"] == "regression"
    assert measured["loss"] == measured["mse"] and measured["rmse"] == pytest.approx(np.sqrt(measured["mse"]))
    assert measured["pearson"] > 0.5 and measured["spearman"] > 0.5  # learned, not noise

    evaluated = s3.output("sts-eval")
    args = ["--model", output, "--data", str(dev), "--text-column", "review", "--label-column", "similarity"]
    result = run_verb("evaluate", [*args, "--output", evaluated], s3, tmp_path / "e")
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(listing(s3, evaluated)) == {"metrics.json", "_SUCCESS"}  # no picture for a regression
    on_dev = json.loads(get(s3, f"{evaluated}/metrics.json"))
    assert on_dev["problem_type"] == "regression" and on_dev["rows"] == 45 and on_dev["pearson"] > 0.5

    predicted = s3.output("sts-predict")
    args = ["--model", output, "--data", str(dev), "--text-column", "review", "--output", predicted]
    assert run_verb("predict", args, s3, tmp_path / "p").returncode == 0
    rows = [json.loads(line) for line in get(s3, f"{predicted}/dev.jsonl").decode().splitlines()]
    assert len(rows) == 45 and set(rows[0]) == {"review", "score"}
    truth = [float(score) for _, score in scored(45, seed=2)]
    assert np.corrcoef([r["score"] for r in rows], truth)[0, 1] > 0.5
    assert json.loads(get(s3, f"{predicted}/predictions.json"))["problem_type"] == "regression"


@pytest.fixture(scope="module")
def multi_label(staged_moto: Staged, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A run on JSON Lines label lists, evaluated on a separate file: output, and that file as CSV with '|'."""
    folder = tmp_path_factory.mktemp("tags")
    train_rows, dev_rows = tagged(360, seed=1), tagged(60, seed=2)
    args = [
        *("--train-data", str(write_jsonl(folder / "train.jsonl", train_rows))),
        *("--eval-data", str(write_jsonl(folder / "dev.jsonl", dev_rows))),
        *("--label-column", "topics", "--epochs", "8"),
    ]
    output, log = train(staged_moto, "tags", args, tmp_path_factory.mktemp("w"))
    assert "multi-label, 3 labels ['food', 'sports', 'weather']" in log
    dev_csv = write_csv(
        folder / "dev.csv",
        [(text, "|".join(labels)) for text, labels in dev_rows],
        header=("review", "topics"),
    )
    return output, dev_csv


def test_label_lists_train_a_multi_label_classifier(staged_moto: Staged, multi_label, tmp_path: Path) -> None:
    s3, (output, dev_csv) = staged_moto, multi_label
    objects = listing(s3, output)
    assert "per_label.png" in objects and "confusion_matrix.png" not in objects
    assert json.loads(get(s3, f"{output}/model/config.json"))["problem_type"] == "multi_label_classification"
    at_training = json.loads(get(s3, f"{output}/metrics.json"))["eval"]
    assert set(at_training["per_label"]) == set(TOPICS) and at_training["threshold"] == 0.5
    assert at_training["f1_micro"] > 0.6 and at_training["f1_macro"] > 0.5

    evaluated = s3.output("tags-eval")
    args = [
        *("--model", output, "--data", str(dev_csv), "--text-column", "review", "--label-column", "topics"),
        *("--label-separator", "|", "--output", evaluated),
    ]
    result = run_verb("evaluate", args, s3, tmp_path / "e")
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(listing(s3, evaluated)) == {"metrics.json", "per_label.png", "_SUCCESS"}
    measured = json.loads(get(s3, f"{evaluated}/metrics.json"))
    # The same rows, read from a delimited CSV instead of JSON lists: what training measured at its end.
    for key in ("f1_micro", "f1_macro", "subset_accuracy", "per_label"):
        assert measured[key] == at_training[key], key
    assert measured["loss"] == pytest.approx(at_training["loss"], rel=1e-4)

    predicted = s3.output("tags-predict")
    args = ["--model", output, "--data", str(dev_csv), "--text-column", "review", "--output", predicted]
    assert run_verb("predict", [*args, "--threshold", "0.3"], s3, tmp_path / "p").returncode == 0
    rows = [json.loads(line) for line in get(s3, f"{predicted}/dev.jsonl").decode().splitlines()]
    assert len(rows) == 60 and set(rows[0]) == {"review", "labels", "scores"}
    for row in rows:
        assert list(row["scores"]) == sorted(TOPICS)
        assert row["labels"] == [name for name, p in row["scores"].items() if p >= 0.3]
    summary = json.loads(get(s3, f"{predicted}/predictions.json"))
    assert summary["problem_type"] == "multi_label_classification" and summary["threshold"] == 0.3


def test_balanced_class_weights_are_logged_and_fingerprinted(staged_moto: Staged, tmp_path: Path) -> None:
    rows = sentences(90, seed=4)
    skewed = [row for row in rows if row[1] != "weather"] + [row for row in rows if row[1] == "weather"][:6]
    data = write_csv(tmp_path / "skewed.csv", skewed, header=("review", "topic"))
    args = [
        "--train-data",
        str(data),
        "--label-column",
        "topic",
        "--epochs",
        "1",
        "--class-weight",
        "balanced",
    ]
    output, log = train(staged_moto, "weighted", [*args, "--eval-fraction", "0.2"], tmp_path / "w")
    line = next(line for line in log.splitlines() if "--class-weight balanced:" in line)
    weights = json.loads(line.split("balanced: ", 1)[1].replace("'", '"'))
    assert weights["weather"] > 3 * weights["food"]  # the rare class weighs more
    assert json.loads(get(staged_moto, f"{output}/metrics.json"))["eval"]["problem_type"] == (
        "single_label_classification"
    )


def test_scores_reach_the_serving_signature(staged_moto: Staged, regression, tmp_path: Path) -> None:
    """`trainer export` of the regression artifact (its signature's outputs: tests/unit/trainer/model)."""
    s3, (output, _, _) = staged_moto, regression
    exported = s3.output("sts-export")
    assert run_verb("export", ["--model", output, "--output", exported], s3, tmp_path / "x").returncode == 0
    assert "saved_model/saved_model.pb" in listing(s3, exported)
    assert json.loads(get(s3, f"{exported}/labels.json")) == ["score"]


def test_class_weights_on_scores_are_one_clear_line(staged_moto: Staged, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "sts.csv", scored(30, seed=5), header=("review", "similarity"))
    args = ["--model", staged_moto.model, "--train-data", str(data), "--label-column", "similarity", *QUICK]
    result = run_trainer(
        [*args, "--class-weight", "balanced", "--output", staged_moto.output("cw")],
        staged_moto.endpoint,
        tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.splitlines()[-1] == (
        "trainer: error: --class-weight balanced weighs the classes of single-label classification, but the labels "
        "make this a regression (one score): drop --class-weight or pass --problem-type single_label_classification"
    )
