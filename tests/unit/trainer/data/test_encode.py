"""Labelled rows from table files to token files: chunked, labelled, limited, and the errors a user can cause."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from trainer.data.encode import LabelEncoder, Tokenizing, encode_source
from trainer.data.labels import LabelCollector, LabelMap
from trainer.data.rows import RowSource
from trainer.data.sources import TableFiles
from trainer.data.tokens import Encoded
from trainer.errors import DataError
from trainer.storage import Location, ObjectInfo, Storage


def files_source(paths: list[Path], work: Path) -> RowSource:
    """The table files `paths` (one folder), as --train-data names them."""
    infos = [ObjectInfo(Location.local(p), p.stat().st_size, None, p.name) for p in paths]
    files = TableFiles.of(Location.local(paths[0].parent), infos, Storage(), work, "--train-data", "auto")
    return files.source(None, "--train-split")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def encode(
    paths: list[Path],
    tokenizer,
    store: Path,
    encode_labels: LabelEncoder | None = None,
    *,
    text_columns: tuple[str, ...] = ("text",),
    label_separator: str | None = None,
    **kwargs,
) -> Encoded:
    columns = SimpleNamespace(
        text_column=list(text_columns),
        label_column="label",
        label_separator=label_separator,
        data_format="auto",
    )
    how = Tokenizing(
        columns,
        tokenizer,
        16,
        encode_labels if encode_labels is not None else LabelCollector(),
        "training data",
    )
    return encode_source(files_source(paths, store.parent / "work"), how, store, **kwargs)


def test_shards_are_tokenized_in_order_into_memory_mapped_token_files(tokenizer, tmp_path: Path) -> None:
    a = write(tmp_path / "part-0.csv", "text,label\nthe rain,2\npasta,10\n")
    b = write(tmp_path / "part-1.csv", "text,label\nthe snow today,1\n")
    collector = LabelCollector()
    encoded = encode([a, b], tokenizer, tmp_path / "tokens", collector, chunk_rows=1)
    assert isinstance(encoded.input_ids, np.memmap) and (tmp_path / "tokens" / "input_ids.bin").is_file()
    assert encoded.lengths.tolist() == [4, 3, 5]  # [CLS] words [SEP], one row per chunk
    assert encoded.offsets.tolist() == [0, 4, 7]
    assert encoded.token_type_ids is None  # all zeros for single sentences: the model's default, not stored
    assert encoded.input_ids.dtype == np.uint16  # the vocabulary fits
    expected = tokenizer(["the rain", "pasta", "the snow today"])["input_ids"]
    assert [
        encoded.input_ids[o : o + n].tolist() for o, n in zip(encoded.offsets, encoded.lengths, strict=True)
    ] == expected
    labels = collector.label_map()
    assert labels.names == ("1", "2", "10")  # integers sort numerically
    assert [labels.names[i] for i in collector.relabel(encoded, labels).labels] == ["2", "10", "1"]


def test_limit_reads_only_the_first_rows(tokenizer, tmp_path: Path) -> None:
    a = write(tmp_path / "part-0.csv", "text,label\nthe rain,a\npasta,b\n")
    b = write(tmp_path / "part-1.csv", "text,label\nthe snow today,a\ngoal,b\nbroken,\n")  # row 3: no label
    encoded = encode([a, b], tokenizer, tmp_path / "tokens", chunk_rows=1, limit=3)
    assert encoded.lengths.tolist() == [4, 3, 5]  # never reached the row without a label


def test_take_selects_rows_without_copying_tokens(tokenizer, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "text,label\nthe rain,a\npasta,b\nthe snow today,a\n")
    encoded = encode([path], tokenizer, tmp_path / "tokens", LabelMap(("a", "b")).encoder())
    picked = encoded.take([2, 0])
    assert picked.input_ids is encoded.input_ids
    assert picked.lengths.tolist() == [5, 4] and picked.labels.tolist() == [0, 0]
    assert picked.offsets.tolist() == [7, 0]


def test_pairs_keep_token_types(tokenizer, tmp_path: Path) -> None:
    path = write(tmp_path / "a.tsv", "a\tb\tlabel\nthe rain\tthe snow today\tx\npasta\tgoal\ty\n")
    encoded = encode([path], tokenizer, tmp_path / "tokens", text_columns=("a", "b"))
    assert encoded.lengths.tolist() == [2 + 3 + 3, 1 + 1 + 3]  # [CLS] a [SEP] b [SEP]
    assert encoded.token_type_ids is not None
    assert encoded.token_type_ids[: encoded.lengths[0]].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_empty_data_is_a_data_error(tokenizer, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="has no data rows"):
        encode([write(tmp_path / "a.csv", "text,label\n")], tokenizer, tmp_path / "tokens")


def test_missing_label_is_reported_with_its_row(tokenizer, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "text,label\na,1\nb,\nc,2\nd,\n")
    with pytest.raises(
        DataError, match=r"data row 2 has no value in label column 'label' \(and 1 more by row 4\)"
    ):
        encode([path], tokenizer, tmp_path / "tokens")
    with pytest.raises(DataError, match=r"data row 4 has no value"):  # counted across chunks
        encode(
            [write(tmp_path / "b.csv", "text,label\na,1\nb,2\nc,2\nd,\n")],
            tokenizer,
            tmp_path / "t",
            chunk_rows=2,
        )


def test_unknown_labels_are_named_with_the_fix(tokenizer, tmp_path: Path) -> None:
    labels = LabelMap(("neg", "pos"))
    assert labels.encode(["pos", "neg"], source="x").tolist() == [1, 0]
    path = write(tmp_path / "a.csv", "text,label\na,pos\nb,meh\n")
    with pytest.raises(
        DataError, match=r"evaluation data has 1 label\(s\) not in the training labels .*'meh'.*--labels"
    ):
        encode(
            [path],
            tokenizer,
            tmp_path / "tokens",
            lambda names, source: labels.encode(names, source="evaluation data"),
        )


def test_float_labels_train_a_regression_on_their_scores(tokenizer, tmp_path: Path) -> None:
    path = write(tmp_path / "sts.csv", "text,label\nthe rain,3.8\npasta,0.25\nthe snow today,5.0\n")
    collector = LabelCollector()
    encoded = encode([path], tokenizer, tmp_path / "tokens", collector, chunk_rows=2)
    labels = collector.label_map()
    assert labels.problem_type == "regression"
    assert collector.relabel(encoded, labels).labels.tolist() == pytest.approx([3.8, 0.25, 5.0])


def test_label_lists_in_json_lines_and_parquet_are_multi_label(tokenizer, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = ['{"text": "the rain", "label": ["weather"]}', '{"text": "pasta", "label": ["food", "weather"]}']
    jsonl = write(tmp_path / "a.jsonl", "\n".join(lines) + "\n")
    parquet = tmp_path / "b.parquet"
    pq.write_table(pa.table({"text": ["goal"], "label": [[]]}, schema=_list_schema()), parquet)
    collector = LabelCollector()
    rows = encode([jsonl], tokenizer, tmp_path / "t1", collector).labels
    rows = np.concatenate([rows, encode([parquet], tokenizer, tmp_path / "t2", collector).labels])
    labels = collector.label_map()
    assert labels.names == ("food", "weather") and labels.problem_type == "multi_label_classification"
    relabelled = collector.relabel(Encoded(np.zeros(0), None, np.ones(3, np.int64), rows), labels)
    assert relabelled.labels.tolist() == [[0, 1], [1, 1], [0, 0]]


def test_a_label_separator_splits_delimited_labels(tokenizer, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "text,label\nthe rain,weather| food\npasta,\ngoal,sports\n")
    labels = LabelMap(("food", "sports", "weather"), "multi_label_classification")
    encoded = encode([path], tokenizer, tmp_path / "tokens", labels.encoder(), label_separator="|")
    assert encoded.labels.tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]  # an empty value: no labels


def _list_schema():
    import pyarrow as pa

    return pa.schema({"text": pa.string(), "label": pa.list_(pa.string())})
