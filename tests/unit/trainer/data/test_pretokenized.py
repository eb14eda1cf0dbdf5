"""Pre-tokenized save_to_disk folders: ids used as they are once the folder's tokenizer proves to be --model's;
padding dropped, long rows truncated (keeping [SEP]) and counted, ids outside the vocabulary refused."""

import logging
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from support.hf_datasets import NAMES, other_tokenizer, save_pretokenized
from trainer.data.encode import Tokenizing, encode_source
from trainer.data.labels import LabelMap
from trainer.data.rows import RowSource
from trainer.data.sources import DataSpec, open_collection
from trainer.data.tokens import Encoded
from trainer.errors import DataError
from trainer.storage import Location, Storage

COLUMNS = SimpleNamespace(text_column=["text"], label_column="label", label_separator=None)


def rows_of(folder: Path, work: Path, split: str = "train") -> RowSource:
    spec = DataSpec("--train-data", location=Location.local(folder))
    return open_collection(spec, Storage(), work, "auto").source(split, "")


def encode(rows: RowSource, tokenizer, store: Path, max_length: int = 64) -> Encoded:
    how = Tokenizing(COLUMNS, tokenizer, max_length, LabelMap(tuple(NAMES)).encoder(), "training data")
    return encode_source(rows, how, store)


def row_ids(encoded: Encoded) -> list[list[int]]:
    return [
        encoded.input_ids[o : o + n].tolist() for o, n in zip(encoded.offsets, encoded.lengths, strict=True)
    ]


@pytest.fixture(scope="module")
def padded(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tokenized the common way for TPUs and fixed shapes: padded to 16, with the attention mask."""
    folder = tmp_path_factory.mktemp("pt") / "reviews-tokenized"
    return save_pretokenized(
        folder, tiny_bert, {"train": 30}, padding="max_length", max_length=16, truncation=True
    )


def test_ids_are_used_as_they_are_without_the_padding(padded: Path, tokenizer, tmp_path: Path) -> None:
    from datasets import load_from_disk

    rows = rows_of(padded, tmp_path / "work")
    assert rows.pretokenized
    encoded = encode(rows, tokenizer, tmp_path / "tokens")
    data = load_from_disk(str(padded))["train"]
    expected = [tokenizer(text, truncation=True, max_length=16)["input_ids"] for text in data["text"]]
    assert row_ids(encoded) == expected  # what the tokenizer makes, pad tokens dropped
    assert encoded.labels.tolist() == data["label"]  # ClassLabel ids, the names in declared order


def test_rows_longer_than_max_length_are_cut_keeping_sep_and_counted(
    padded: Path, tokenizer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    full = encode(rows_of(padded, tmp_path / "w1"), tokenizer, tmp_path / "t1")
    with caplog.at_level(logging.INFO, logger="trainer"):
        cut = encode(rows_of(padded, tmp_path / "w2"), tokenizer, tmp_path / "t2", max_length=8)
    longer = int((full.lengths > 8).sum())
    assert 0 < longer < len(full)
    assert cut.lengths.max() == 8
    for whole, short in zip(row_ids(full), row_ids(cut), strict=True):
        assert short == (whole if len(whole) <= 8 else [*whole[:7], tokenizer.sep_token_id])
    assert (
        f"training data: {longer} of {len(full)} pre-tokenized rows were longer than --max-length 8"
        in caplog.text
    )


def test_a_folder_without_its_tokenizer_is_refused(padded: Path, tokenizer, tmp_path: Path) -> None:
    copy = shutil.copytree(padded, tmp_path / "copy")
    shutil.rmtree(copy / "tokenizer")
    names_none = r"is pre-tokenized .* names no tokenizer: .*save_pretrained\('<folder>/tokenizer'\)"
    with pytest.raises(DataError, match=names_none):
        encode(rows_of(copy, tmp_path / "work"), tokenizer, tmp_path / "tokens")


def test_another_tokenizer_is_refused_in_one_line(padded: Path, tokenizer, tmp_path: Path) -> None:
    copy = shutil.copytree(padded, tmp_path / "copy")
    shutil.rmtree(copy / "tokenizer")
    other_tokenizer(copy / "tokenizer")
    with pytest.raises(DataError) as refused:
        encode(rows_of(copy, tmp_path / "work"), tokenizer, tmp_path / "tokens")
    message = str(refused.value)
    assert "\n" not in message
    assert (
        f"another tokenizer than --model's (7 tokens against --model's {len(tokenizer)}; id 5 is 'rain'"
        in message
    )
    assert message.endswith("tokenize it again with --model's tokenizer, or train the model it was made for")


def test_ids_outside_the_vocabulary_are_refused(tiny_bert: Path, tokenizer, tmp_path: Path) -> None:
    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    features = Features({"input_ids": Sequence(Value("int32")), "label": ClassLabel(names=NAMES)})
    ids = [[2, 10, 3], [2, len(tokenizer) + 5, 3]]
    Dataset.from_dict({"input_ids": ids, "label": [0, 1]}, features=features).save_to_disk(
        str(tmp_path / "d")
    )
    shutil.copytree(tiny_bert, tmp_path / "d" / "tokenizer")
    outside = (
        rf"/d: row 2 holds token id {len(tokenizer) + 5}, outside --model's vocabulary of {len(tokenizer)}"
    )
    with pytest.raises(DataError, match=outside):
        encode(rows_of(tmp_path / "d", tmp_path / "work", split=None), tokenizer, tmp_path / "tokens")
