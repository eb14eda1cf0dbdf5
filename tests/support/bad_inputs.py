"""Run one documented bad input (a row of docs/errors.md) in-process, as a user's shell would run it.

A row holds a command such as `LAUNCHER_IMGE=i launcher render -- ARGS` (leading `NAME=value` words are
environment variables; `ARGS` stands for valid trainer arguments) and optionally what to create first, entries
joined by ` + `: a file and its one line (`team.yaml: {tolerationz: [a]}`), or a folder built as `FOLDERS` describes
it (`model/ (a tiny BERT)`). huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE once, at import, so those
two are also set on its constants for the row.
"""

import atexit
import functools
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ARGS = (
    "--model bert-base-cased --train-data s3://team-data/reviews/train.csv --output s3://team-runs/reviews-42"
)
"""What `ARGS` in a row stands for: trainer arguments that are valid."""

TERMINATION_LOG = "termination-log"


@dataclass(frozen=True)
class Row:
    number: int
    command: str
    files: str
    exit_code: int
    stderr: str


@functools.cache
def _tiny_bert() -> Path:
    from support.tiny_bert import write_tiny_bert
    from support.toy_data import vocabulary

    folder = Path(tempfile.mkdtemp(prefix="bad-inputs-bert-"))
    atexit.register(shutil.rmtree, folder, True)
    return write_tiny_bert(folder, vocabulary())


def _pretokenized(dest: Path) -> Path:
    from support.hf_datasets import save_pretokenized

    return save_pretokenized(dest, _tiny_bert(), {"train": 12})


def _without_tokenizer(dest: Path) -> Path:
    shutil.rmtree(_pretokenized(dest) / "tokenizer")
    return dest


def _other_tokenizer(dest: Path) -> Path:
    from support.hf_datasets import other_tokenizer

    _without_tokenizer(dest)
    other_tokenizer(dest / "tokenizer")
    return dest


def _missing_arrow_file(dest: Path) -> Path:
    from support.hf_datasets import save_dataset_dict

    save_dataset_dict(dest, {"train": 12}, shards=2)
    (dest / "train" / "data-00001-of-00002.arrow").unlink()
    return dest


def _ids_beyond(dest: Path) -> Path:
    from support.hf_datasets import ids_beyond

    return ids_beyond(dest, _tiny_bert(), len((_tiny_bert() / "vocab.txt").read_text().split()))


def _dataset_dict(dest: Path) -> Path:
    from support.hf_datasets import save_dataset_dict

    return save_dataset_dict(dest, {"train": 12, "test": 3})


def _configured(dest: Path) -> Path:
    from support.hf_datasets import configured_repo

    return configured_repo(dest, ("first", "second"))


FOLDERS: dict[str, Callable[[Path], object]] = {
    "a tiny BERT": lambda dest: shutil.copytree(_tiny_bert(), dest),
    "a DatasetDict: train, unlabelled test": _dataset_dict,
    "a DatasetDict missing an Arrow file": _missing_arrow_file,
    "pre-tokenized, without its tokenizer": _without_tokenizer,
    "pre-tokenized by another tokenizer": _other_tokenizer,
    "pre-tokenized, an id beyond the vocabulary": _ids_beyond,
    "a dataset with configurations first and second": _configured,
}
"""Folders a row's `with` cell may ask for, by description: `reviews/ (a DatasetDict: train, unlabelled test)`."""


def create(entries: str, cwd: Path) -> None:
    """What a row's `with` cell asks for, in `cwd`."""
    for entry in entries.split(" + "):
        folder = re.fullmatch(r"(\S+)/ \((.+)\)", entry)
        if folder:
            FOLDERS[folder[2]](cwd / folder[1])
        else:
            name, _, content = entry.partition(": ")
            (cwd / name).write_text(content + "\n")


def _cell(text: str) -> str:
    """A cell's text without its code-span backticks (double ones where the text holds a backtick)."""
    text = text.strip()
    if text.startswith("`` ") and text.endswith(" ``"):
        return text[3:-3]
    if len(text) > 1 and text.startswith("`") and text.endswith("`"):
        return text[1:-1]
    return text


def parse_rows(markdown: str) -> list[Row]:
    """The rows of the table whose header is `| # | command | with | exit | stderr |`."""
    rows, in_table = [], False
    for line in markdown.splitlines():
        if line.startswith("| # | command | with | exit | stderr |"):
            in_table = True
            continue
        if not in_table or line.startswith("|---"):
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        number, command, files, code, stderr = [_cell(c) for c in line.strip().strip("|").split(" | ")]
        rows.append(Row(int(number), command, files, int(code), stderr))
    return rows


def _hub_constants(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    from huggingface_hub import constants

    if name == "HF_ENDPOINT":
        monkeypatch.setattr(constants, "ENDPOINT", value)
    elif name == "HF_HUB_OFFLINE":
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", value.lower() in ("1", "true", "yes", "on"))


def run_row(row: Row, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of the row's command, run in `cwd`."""
    from launcher.cli import main as launcher
    from trainer.cli import main as trainer

    monkeypatch.chdir(cwd)
    if row.files:
        create(row.files, cwd)
    words = shlex.split(row.command.replace("ARGS", ARGS))
    while "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        monkeypatch.setenv(name, value)
        _hub_constants(monkeypatch, name, value)
    monkeypatch.setenv("TERMINATION_MESSAGE_PATH", str(cwd / TERMINATION_LOG))
    programs: dict[str, Callable[[list[str]], int]] = {"launcher": launcher, "trainer": trainer}
    capsys.readouterr()
    code = programs[words[0]](words[1:])
    out, err = capsys.readouterr()
    return code, out, err
