import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trainer import data
from trainer.errors import DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def read(
    paths: list[Path],
    text_columns: tuple[str, ...] = ("text",),
    label: str | None = "label",
    fmt: str = "auto",
) -> data.Examples:
    return data.read_examples(
        [(str(p), p) for p in paths], text_columns=text_columns, label_column=label, data_format=fmt
    )


def test_reads_csv_tsv_jsonl_parquet_and_gzip_alike(tmp_path: Path) -> None:
    rows = [("good film", "pos"), ('bad, "awful" film', "neg")]
    csv = write(tmp_path / "a.csv", 'text,label\ngood film,pos\n"bad, ""awful"" film",neg\n')
    tsv = write(tmp_path / "a.tsv", 'text\tlabel\ngood film\tpos\nbad, "awful" film\tneg\n')
    jsonl = write(
        tmp_path / "a.jsonl", "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows)
    )
    parquet = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": [t for t, _ in rows], "label": [label for _, label in rows]}), parquet)
    gz = tmp_path / "a.csv.gz"
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    for path in (csv, tsv, jsonl, parquet, gz):
        examples = read([path])
        assert examples.texts == ([t for t, _ in rows],), path.name
        assert examples.labels == ["pos", "neg"], path.name


def test_shards_are_concatenated_in_order(tmp_path: Path) -> None:
    a = write(tmp_path / "part-0.csv", "text,label\none,1\ntwo,2\n")
    b = write(tmp_path / "part-1.csv", "text,label\nthree,3\n")
    assert read([a, b]).labels == ["1", "2", "3"]


def test_missing_column_lists_the_columns_that_exist(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "review,sentiment\nok,1\n")
    with pytest.raises(
        DataError,
        match=r"no column 'text' \(--text-column\), 'label' \(--label-column\); its columns are 'review', 'sentiment'",
    ):
        read([path])
    with pytest.raises(DataError, match=r"no column 'label' \(--label-column\);"):
        read([path], text_columns=("review",))


def test_empty_data_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="has no data rows"):
        read([write(tmp_path / "a.csv", "text,label\n")])


def test_malformed_csv_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "text,label\na,b,c,d\n")
    with pytest.raises(DataError, match=r"cannot read .*bad.csv as csv: "):
        read([path])


def test_unknown_extension_asks_for_a_format(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cannot tell the format of 'a.xlsx'.*--data-format"):
        read([write(tmp_path / "a.xlsx", "x")])


def test_missing_label_is_reported_with_its_row(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "text,label\na,1\nb,\n")
    with pytest.raises(
        DataError, match=r"1 row\(s\) have no value in label column 'label' \(first at data row 2\)"
    ):
        read([path])


def test_integer_labels_sort_numerically_and_strings_alphabetically() -> None:
    assert data.infer_label_map(["10", "2", "1", "2"], None).names == ("1", "2", "10")
    assert data.infer_label_map(["neg", "pos", "neutral"], None).names == ("neg", "neutral", "pos")
    assert data.infer_label_map(["a", "b"], ["b", "a", "c"]).label2id == {"b": 0, "a": 1, "c": 2}


def test_one_label_is_too_few() -> None:
    with pytest.raises(DataError, match=r"1 distinct label\(s\) \(pos\); a classifier needs at least two"):
        data.infer_label_map(["pos", "pos"], None)


def test_unknown_eval_labels_are_named() -> None:
    labels = data.LabelMap(("neg", "pos"))
    assert labels.encode(["pos", "neg"], source="x").tolist() == [1, 0]
    with pytest.raises(
        DataError, match=r"evaluation data has 1 label\(s\) not in the training labels .*'meh'"
    ):
        labels.encode(["pos", "meh"], source="evaluation data")


def test_eval_split_is_stratified_and_deterministic() -> None:
    examples = data.Examples(texts=([f"t{i}" for i in range(100)],), labels=["a"] * 80 + ["b"] * 20)
    train, evaluation = data.split_for_eval(examples, 0.1, seed=3)
    assert len(evaluation) == 10 and evaluation.labels.count("b") == 2
    assert len(train) + len(evaluation) == 100
    assert set(train.texts[0]).isdisjoint(evaluation.texts[0])
    again = data.split_for_eval(examples, 0.1, seed=3)[1]
    assert again.texts == evaluation.texts
    assert data.split_for_eval(examples, 0.1, seed=4)[1].texts != evaluation.texts


def test_tokenize_keeps_pairs_and_lengths(tiny_bert: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    examples = data.Examples(texts=(["the rain", "pasta"], ["the snow today", "goal"]), labels=["a", "b"])
    encoded = data.tokenize(examples, np.array([0, 1]), tokenizer, max_length=16)
    assert encoded.lengths.tolist() == [2 + 3 + 3, 1 + 1 + 3]  # [CLS] a [SEP] b [SEP]
    assert encoded.token_type_ids is not None
    assert encoded.token_type_ids[: encoded.lengths[0]].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    truncated = data.tokenize(examples, np.array([0, 1]), tokenizer, max_length=6)
    assert truncated.lengths.max() == 6
