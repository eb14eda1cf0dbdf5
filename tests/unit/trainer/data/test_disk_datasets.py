"""save_to_disk folders read with the trainer's own storage code: the rows `load_from_disk` gives, in its order,
ClassLabel names declared, Arrow files streamed from a bucket, and the mistakes a user can make."""

import uuid
from pathlib import Path

import pytest

from support.hf_datasets import NAMES, save_dataset_dict
from support.s3servers import S3Endpoint
from trainer.data.rows import RowSource
from trainer.data.sources import DataSpec, choose_split, open_collection
from trainer.errors import DataError, NotFoundError, UsageError
from trainer.storage import Location, Storage

SPLITS = {"train": 40, "validation": 12, "test": 8}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_dataset_dict(tmp_path_factory.mktemp("dd") / "reviews", SPLITS, shards=3)


def open_folder(uri: str, work: Path, storage: Storage | None = None):
    return open_collection(
        DataSpec("--train-data", location=Location.parse(uri)), storage or Storage(), work, "auto"
    )


def read_rows(rows: RowSource, columns: tuple[str, ...] = ("text", "label")) -> dict[str, list]:
    out: dict[str, list] = {c: [] for c in columns}
    for part in rows.parts():
        for table in part.read(dict.fromkeys(columns, "--text-column"), 7, set()):
            for c in columns:
                out[c] += table.column(c).to_pylist()
    return out


def test_a_dataset_dict_reads_as_load_from_disk_does(folder: Path, tmp_path: Path) -> None:
    from datasets import load_from_disk

    collection = open_folder(str(folder), tmp_path)
    assert collection.splits == ("train", "validation", "test")
    rows = collection.source("validation", "pick a labelled split with --eval-split")
    assert rows.class_labels == {"label": tuple(NAMES)} and rows.columns == ("text", "label")
    assert rows.names == tuple(f"validation/data-{i:05d}-of-00003.arrow" for i in range(3))
    assert rows.describe() == f"split 'validation' of {Location.local(folder)} (3 Arrow file(s))"
    assert [entry["split"] for entry in rows.record] == ["validation"] * 3
    assert read_rows(rows) == load_from_disk(str(folder))["validation"][:]


def test_a_single_dataset_has_no_splits(folder: Path, tmp_path: Path) -> None:
    collection = open_folder(str(folder / "train"), tmp_path)
    assert collection.splits == ()
    assert choose_split(collection, None, ("train",), "--train-split") is None
    assert len(read_rows(collection.source(None, ""))["text"]) == SPLITS["train"]
    with pytest.raises(
        UsageError, match=r"--train-split picks a split of a DatasetDict folder .*: drop --train-split"
    ):
        choose_split(collection, "train", ("train",), "--train-split")


def test_split_choice_names_the_splits_there_are(folder: Path, tmp_path: Path) -> None:
    collection = open_folder(str(folder), tmp_path)
    assert choose_split(collection, None, ("validation", "test"), "--eval-split") == "validation"
    assert choose_split(collection, "test", ("validation", "test"), "--eval-split") == "test"
    with pytest.raises(NotFoundError) as missing:
        choose_split(collection, "dev", ("validation",), "--eval-split")
    assert str(missing.value) == (
        f"{Location.local(folder)} has no split 'dev'; its splits are train, validation, test: fix --eval-split"
    )
    assert choose_split(collection, None, ("dev",), "--eval-split", required=False, lone=False) is None


def test_a_folder_in_a_bucket_streams_its_arrow_files(
    moto_s3: S3Endpoint, folder: Path, tmp_path: Path
) -> None:
    bucket = f"dd-{uuid.uuid4().hex[:8]}"
    client = moto_s3.client()
    client.create_bucket(Bucket=bucket)
    for path in folder.rglob("*"):
        if path.is_file():
            client.upload_file(str(path), bucket, f"reviews/{path.relative_to(folder).as_posix()}")
    collection = open_folder(f"s3://{bucket}/reviews", tmp_path / "work", Storage(moto_s3.client()))
    rows = collection.source("train", "")
    assert read_rows(rows) == read_rows(open_folder(str(folder), tmp_path / "local").source("train", ""))
    assert rows.record[0]["uri"] == f"s3://{bucket}/reviews/train/data-00000-of-00003.arrow"
    assert rows.record[0]["etag"]
    assert not [p for p in (tmp_path / "work").rglob("*.arrow")]  # each deleted once read


def test_an_incomplete_folder_is_a_data_error(folder: Path, tmp_path: Path) -> None:
    import shutil

    copy = shutil.copytree(folder, tmp_path / "copy")
    (copy / "test" / "data-00001-of-00003.arrow").unlink()
    collection = open_folder(str(copy), tmp_path / "work")
    with pytest.raises(DataError, match=r"incomplete save_to_disk folder: test/state.json lists "):
        collection.source("test", "")


def test_a_missing_column_names_the_flag_and_the_columns_there_are(folder: Path, tmp_path: Path) -> None:
    rows = open_folder(str(folder), tmp_path).source("train", "")
    part = next(rows.parts())
    with pytest.raises(
        DataError, match=r"has no column 'review' \(--text-column\); its columns are 'text', 'label'"
    ):
        next(part.read({"review": "--text-column"}, 10, set()))
