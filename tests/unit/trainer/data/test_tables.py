import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trainer.data import tables
from trainer.errors import DataError

COLUMNS = {"text": "--text-column", "label": "--label-column"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def read(
    path: Path, columns: dict[str, str] = COLUMNS, chunk_rows: int = 1000, fmt: str = "auto"
) -> list[dict]:
    found = tables.detect_format(path, fmt)
    return [
        table.to_pydict()
        for table in tables.read_chunks(path, found, columns, str(path), chunk_rows, text={"text"})
    ]


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
        (chunk,) = read(path)
        assert chunk == {"text": [t for t, _ in rows], "label": ["pos", "neg"]}, path.name


def test_files_are_read_in_chunks_of_rows_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "text,label\n" + "".join(f"row {i},{i % 2}\n" for i in range(25)))
    chunks = read(path, chunk_rows=10)
    assert [len(c["text"]) for c in chunks] == [10, 10, 5]
    assert [t for c in chunks for t in c["text"]] == [f"row {i}" for i in range(25)]


def test_json_labels_keep_their_type_and_print_as_written(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": 0}\n')
    (chunk,) = tables.read_chunks(path, "jsonl", COLUMNS, "a.jsonl", 100, text={"text"})
    assert tables.as_strings(chunk.column("label"), "label", fill=None) == ["1", "0"]
    floats = pa.chunked_array([[1.0, 2.5, None]])
    assert tables.as_strings(floats, "label", fill=None) == ["1", "2.5", None]


def test_missing_column_lists_the_columns_that_exist_and_the_flag(tmp_path: Path) -> None:
    for path in (
        write(tmp_path / "a.csv", "review,sentiment\nok,1\n"),
        write(tmp_path / "a.jsonl", '{"review": "ok", "sentiment": 1}\n'),
    ):
        with pytest.raises(
            DataError,
            match=r"no column 'text' \(--text-column\), 'label' \(--label-column\); its columns are 'review', "
            r"'sentiment'",
        ):
            read(path)


def test_malformed_csv_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "text,label\na,b,c,d\n")
    with pytest.raises(DataError, match=r"cannot read .*bad.csv as csv: "):
        read(path)


def test_unknown_extension_asks_for_a_format(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cannot tell the format of 'a.xlsx'.*--data-format"):
        tables.detect_format(tmp_path / "a.xlsx", "auto")
    assert tables.detect_format(tmp_path / "a.xlsx", "csv") == "csv"
    with pytest.raises(DataError, match=r"data shards mix formats \['csv', 'parquet'\]"):
        tables.one_format([Path("a.csv"), Path("b.parquet")], "auto")


def test_predict_keeps_numeric_json_columns_as_written(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", '{"text": "a", "id": 7}\n{"text": "b", "id": 8}\n')
    columns = {"id": "--keep-column", "text": "--text-column"}
    (table,) = tables.read_chunks(path, "jsonl", columns, "a.jsonl", 100, text={"text"})
    assert {c: tables.as_strings(table.column(c), c, fill="") for c in columns} == {
        "id": ["7", "8"],
        "text": ["a", "b"],
    }
