"""A training run's inputs from 🤗 Datasets folders and datasets: which splits train and evaluate (and the log says
so), whose label names and order, and what run.json records. TF-free: the tiny model's tokenizer only."""

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from support.hf_datasets import NAMES, local_dataset_repo, save_dataset_dict
from trainer.data.prepare import Prepared, TrainingInputs, prepare_training_data
from trainer.errors import DataError, UsageError
from trainer.settings.parse import parse
from trainer.storage import Storage


def prepare(tiny_bert: Path, work: Path, *args: str) -> tuple[Prepared, SimpleNamespace]:
    settings = parse("train", ["--model", str(tiny_bert), "--output", str(work / "out"), *args])
    record = SimpleNamespace(model_source={}, data={})
    prepared = prepare_training_data(settings, Storage(), TrainingInputs.parse(settings), work, record)
    return prepared, record


@pytest.fixture(scope="module")
def reviews(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train, validation and an unlabelled test split; the ClassLabel declares its names out of sorted order."""
    folder = tmp_path_factory.mktemp("dd") / "reviews"
    return save_dataset_dict(
        folder, {"train": 60, "validation": 15, "test": 9}, names=["weather", "food", "sports"]
    )


def test_train_and_validation_splits_and_the_classlabel_order(
    tiny_bert: Path, reviews: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="trainer"):
        prepared, record = prepare(tiny_bert, tmp_path, "--train-data", str(reviews))
    assert prepared.labels.names == ("weather", "food", "sports")  # declared order, not sorted
    assert (len(prepared.train), len(prepared.eval)) == (60, 15)
    assert {entry["split"] for entry in record.data["train"]} == {"train"}
    assert {entry["split"] for entry in record.data["eval"]} == {"validation"}
    assert (
        f"train data: split 'train' of {reviews} (by default train; --train-split picks another; splits: train, "
        "validation, test)" in caplog.text
    )
    assert (
        "evaluation data: split 'validation' of" in caplog.text
        and "by default validation, else test" in caplog.text
    )
    assert "labels: the ClassLabel names of column 'label', in their order" in caplog.text


def test_explicit_labels_win_over_the_classlabel(tiny_bert: Path, reviews: Path, tmp_path: Path) -> None:
    prepared, _ = prepare(
        tiny_bert, tmp_path, "--train-data", str(reviews), *[f"--labels={n}" for n in NAMES]
    )
    assert prepared.labels.names == tuple(NAMES)


def test_an_explicit_eval_fraction_holds_out_training_rows(
    tiny_bert: Path, reviews: Path, tmp_path: Path
) -> None:
    prepared, record = prepare(tiny_bert, tmp_path, "--train-data", str(reviews), "--eval-fraction", "0.2")
    assert (len(prepared.train), len(prepared.eval)) == (48, 12)
    assert "eval" not in record.data


def test_an_unlabelled_default_split_says_how_to_evaluate_otherwise(tiny_bert: Path, tmp_path: Path) -> None:
    folder = save_dataset_dict(tmp_path / "dd", {"train": 30, "test": 6})
    with pytest.raises(DataError) as unlabelled:
        prepare(tiny_bert, tmp_path / "work", "--train-data", str(folder))
    assert str(unlabelled.value).endswith(
        "pick a labelled split with --eval-split, or hold out training rows with --eval-fraction"
    )
    prepared, _ = prepare(
        tiny_bert, tmp_path / "work2", "--train-data", str(folder), "--eval-fraction", "0.1"
    )
    assert len(prepared.eval) == 3


def test_integer_labels_without_a_classlabel_sort_numerically(tiny_bert: Path, tmp_path: Path) -> None:
    from datasets import Dataset

    texts = ["the rain", "pasta", "goal", "snow", "bread", "match"] * 4
    Dataset.from_dict({"text": texts, "label": [10, 2, 1] * 8}).save_to_disk(str(tmp_path / "d"))
    prepared, _ = prepare(tiny_bert, tmp_path / "work", "--train-data", str(tmp_path / "d"))
    assert prepared.labels.names == ("1", "2", "10")  # not datasets' text order ("1", "10", "2")


def test_a_split_flag_for_plain_files_is_a_usage_error(tiny_bert: Path, tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("text,label\nthe rain,a\npasta,b\n")
    with pytest.raises(UsageError, match=r"has no splits: drop --eval-split"):
        prepare(
            tiny_bert, tmp_path / "work", "--train-data", str(tmp_path / "train.csv"), "--eval-split", "test"
        )


def test_a_dataset_name_reads_through_load_dataset(tiny_bert: Path, tmp_path: Path) -> None:
    repo = local_dataset_repo(tmp_path / "repo", {"train": 30, "validation": 9})
    prepared, record = prepare(tiny_bert, tmp_path / "work", "--dataset-name", str(repo))
    assert prepared.labels.names == tuple(NAMES) and (len(prepared.train), len(prepared.eval)) == (30, 9)
    (entry,) = record.data["eval"]
    assert entry == {"dataset": str(repo), "config": None, "split": "validation", "revision": None} | {
        "commit": None,
        "path": str(repo),
    }
