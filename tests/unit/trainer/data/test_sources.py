"""One look at a location decides how it is read; `datasets` (3 s of imports) is loaded only for the inputs that
need it, so CSV and Parquet users pay nothing for it. Checked in a fresh process."""

import json
import subprocess
import sys
from pathlib import Path

from support.hf_datasets import save_dataset_dict
from trainer.data.disk_datasets import DiskDatasets
from trainer.data.sources import DataSpec, TableFiles, open_collection
from trainer.errors import DataError
from trainer.storage import Location, Storage

READ_CSV_THEN_FOLDER = """
import json, sys
from pathlib import Path
from types import SimpleNamespace
from transformers import AutoTokenizer
import trainer.cli, trainer.verbs.train, trainer.verbs.evaluate, trainer.verbs.predict
from trainer.data.encode import Tokenizing, encode_source
from trainer.data.labels import LabelCollector
from trainer.data.sources import DataSpec, open_collection
from trainer.storage import Location, Storage

model, csv, folder, work = (Path(p) for p in sys.argv[1:5])
columns = SimpleNamespace(text_column=["text"], label_column="label", label_separator=None)
how = Tokenizing(columns, AutoTokenizer.from_pretrained(model), 16, LabelCollector(), "training data")
def read(path, split, name):
    spec = DataSpec("--train-data", location=Location.local(path))
    rows = open_collection(spec, Storage(), work / name, "auto").source(split, "")
    return len(encode_source(rows, how, work / name / "tokens"))
counts = [read(csv, None, "csv")]
after_csv = "datasets" in sys.modules
counts.append(read(folder, "train", "folder"))
print(json.dumps({"rows": counts, "after_csv": after_csv, "after_folder": "datasets" in sys.modules}))
"""


def test_datasets_is_imported_only_for_datasets_inputs(tiny_bert: Path, tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("text,label\nthe rain,a\npasta,b\ngoal,c\n")
    folder = save_dataset_dict(tmp_path / "dd", {"train": 5})
    args = [str(tiny_bert), str(tmp_path / "train.csv"), str(folder), str(tmp_path / "work")]
    result = subprocess.run(
        [sys.executable, "-c", READ_CSV_THEN_FOLDER, *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"rows": [3, 5], "after_csv": False, "after_folder": True}


def test_a_folder_is_read_as_a_saved_dataset_only_with_its_marker_files(tmp_path: Path) -> None:
    def opened(path: Path):
        return open_collection(
            DataSpec("--train-data", location=Location.local(path)), Storage(), tmp_path, "auto"
        )

    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.jsonl").write_text('{"text": "x", "label": 1}\n')
    (tmp_path / "files" / "_SUCCESS").write_text("")
    assert isinstance(opened(tmp_path / "files"), TableFiles)
    folder = save_dataset_dict(tmp_path / "dd", {"train": 3, "test": 2})
    assert isinstance(opened(folder), DiskDatasets) and isinstance(opened(folder / "test"), DiskDatasets)
    (tmp_path / "files" / "b.parquet").write_text("")
    try:
        opened(tmp_path / "files")
    except DataError as e:  # the format is settled before anything is downloaded
        assert "data shards mix formats ['jsonl', 'parquet']" in str(e)
    else:
        raise AssertionError("mixed formats were accepted")
