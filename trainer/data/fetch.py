"""Fetch what a run reads: the pretrained model (Hub id, local folder or s3:// prefix) and the data shards, which
are tokenized into token files as they arrive (`read_data`)."""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from trainer.data import hub
from trainer.data.encode import LabelEncoder, encode_files
from trainer.data.tokens import Encoded, Tokenizer
from trainer.errors import DataError, NotFoundError, UsageError
from trainer.storage import Location, Storage

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
"""Every save_pretrained folder has it; its absence means the URI does not point at a model."""


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~", "file://")) or Path(model).exists()


def resolve_model(model: str, storage: Storage, dest: Path) -> tuple[Path | str, dict[str, Any]]:
    """A local folder transformers can load from, or the Hub id itself; plus a record for run.json.

    Air-gapped clusters keep base models in a bucket: an s3:// prefix is downloaded once into `dest`.
    """
    if model.startswith("s3://"):
        loc = Location.parse(model)
        objects = storage.download(loc, dest)
        if not (dest / CONFIG_FILE).is_file():
            raise NotFoundError(
                f"{model} holds no {CONFIG_FILE}: --model must name a save_pretrained folder (the prefix that "
                "contains config.json, the weights and the tokenizer files)"
            )
        log.info("model: downloaded %d files from %s", len(objects), model)
        return dest, {
            "uri": model,
            "files": [{"name": o.relative, "size": o.size, "etag": o.etag} for o, _ in objects],
        }
    if _looks_like_path(model):
        path = Location.parse(model).path
        if not path.exists():
            raise NotFoundError(f"model folder {path} does not exist: fix --model")
        if not path.is_dir() or not (path / CONFIG_FILE).is_file():
            raise UsageError(f"{path} is not a save_pretrained folder (no {CONFIG_FILE}): fix --model")
        return path, {"path": str(path)}
    return hub.locate(model), {"hub_id": model}


def load_tokenizer(model: Path | str) -> PreTrainedTokenizerBase:
    try:
        return AutoTokenizer.from_pretrained(str(model))
    except (OSError, ValueError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise NotFoundError(
            f"cannot load a tokenizer for model '{model}': {first_line} (a Hub id needs network access to "
            "huggingface.co; offline clusters stage the model in a bucket and pass its s3:// prefix)"
        ) from e


def is_data_file(relative: str) -> bool:
    """Skip markers and hidden files that sit beside shards (`_SUCCESS`, `.crc`, `_metadata`)."""
    return not any(part.startswith(("_", ".")) for part in Path(relative).parts)


def fetch_data(
    loc: Location, storage: Storage, dest: Path, flag: str
) -> tuple[list[tuple[str, Path]], list[dict[str, Any]]]:
    """Download one object or every shard under a prefix: `(uri, local path)` pairs in name order (local data is
    read in place), and a record of what was read for run.json."""
    downloaded = [(info, path) for info, path in storage.download(loc, dest) if is_data_file(info.relative)]
    if not downloaded:
        raise DataError(f"{loc} holds no data files (only markers or hidden files): fix {flag}")
    return [(str(info.location), path) for info, path in downloaded], [
        {"uri": str(info.location), "size": info.size, "etag": info.etag} for info, _ in downloaded
    ]


class TableColumns(Protocol):
    """The data options train and evaluate share."""

    text_column: list[str]
    label_column: str
    data_format: str


@dataclass(frozen=True)
class DataRead:
    encoded: Encoded
    files: int
    record: list[dict[str, Any]]
    """uri, size and etag of every shard, for run.json / metrics.json."""


def read_data(
    loc: Location,
    storage: Storage,
    work: Path,
    flag: str,
    columns: TableColumns,
    *,
    tokenizer: Tokenizer,
    max_length: int,
    encode_labels: LabelEncoder,
    source: str,
    limit: int | None = None,
) -> DataRead:
    """Fetch the shards at `loc` into `work`/data and tokenize them into token files under `work`/tokens
    (`encode_files`); downloaded shards are deleted as they are tokenized."""
    files, record = fetch_data(loc, storage, work / "data", flag)
    encoded = encode_files(
        files,
        text_columns=columns.text_column,
        label_column=columns.label_column,
        data_format=columns.data_format,
        tokenizer=tokenizer,
        max_length=max_length,
        encode_labels=encode_labels,
        store=work / "tokens",
        source=source,
        delete_read=loc.is_s3,
        limit=limit,
    )
    return DataRead(encoded, len(files), record)
