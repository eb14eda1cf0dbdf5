"""Fetch what a verb reads: the pretrained model (Hub id, local folder or s3:// prefix), a trained artifact (its
model folder, label map and tokenizer) and the data shards, which are tokenized into token files as they arrive
(`read_data`).

A trained artifact is the `model/` folder a training run publishes (save_pretrained of model and tokenizer, with
`id2label`/`label2id` in config.json). Users may also name the run's output itself; `model/` under it is used.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from trainer.data import hub
from trainer.data.encode import Tokenizing, encode_files
from trainer.data.labels import LabelMap
from trainer.data.tokens import Encoded
from trainer.errors import DataError, NotFoundError, UsageError
from trainer.outputs.layout import MODEL_DIR
from trainer.settings.problem import MULTI_LABEL, REGRESSION, SINGLE_LABEL
from trainer.storage import Location, ObjectInfo, Storage

T = TypeVar("T")

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


def data_objects(loc: Location, storage: Storage, flag: str = "--data") -> list[ObjectInfo]:
    """The data shards at `loc` (one object or every shard under the prefix, name order; markers skipped)."""
    return _only_data([info for info in storage.list(loc) if is_data_file(info.relative)], loc, flag)


def fetch_data(
    loc: Location, storage: Storage, dest: Path, flag: str
) -> tuple[list[tuple[str, Path]], list[dict[str, Any]]]:
    """Download one object or every shard under a prefix: `(uri, local path)` pairs in name order (local data is
    read in place), and a record of what was read for run.json."""
    downloaded = [(info, path) for info, path in storage.download(loc, dest) if is_data_file(info.relative)]
    _only_data(downloaded, loc, flag)
    return [(str(info.location), path) for info, path in downloaded], [
        {"uri": str(info.location), "size": info.size, "etag": info.etag} for info, _ in downloaded
    ]


def _only_data(found: list[T], loc: Location, flag: str) -> list[T]:
    if not found:
        raise DataError(f"{loc} holds no data files (only markers or hidden files): fix {flag}")
    return found


@dataclass(frozen=True)
class DataRead:
    encoded: Encoded
    files: int
    record: list[dict[str, Any]]
    """uri, size and etag of every shard, for run.json / metrics.json."""


def read_data(
    loc: Location, storage: Storage, work: Path, flag: str, how: Tokenizing, limit: int | None = None
) -> DataRead:
    """Fetch the shards at `loc` into `work`/data and tokenize them into token files under `work`/tokens
    (`encode_files`); downloaded shards are deleted as they are tokenized."""
    files, record = fetch_data(loc, storage, work / "data", flag)
    encoded = encode_files(files, how, work / "tokens", delete_read=loc.is_s3, limit=limit)
    return DataRead(encoded, len(files), record)


@dataclass(frozen=True)
class Artifact:
    uri: str
    """The model folder actually used (the run's `model/` when the run's output was named)."""
    path: Path
    labels: LabelMap
    tokenizer: PreTrainedTokenizerBase


def _model_folder(uri: str, storage: Storage) -> Location:
    """The artifact's model folder: `uri` itself when it holds config.json, else `uri/model`."""
    loc = Location.parse(uri)
    for candidate in (loc, loc.join(MODEL_DIR)):
        if storage.exists(candidate.join(CONFIG_FILE)):
            return candidate
    raise NotFoundError(
        f"{uri} is not a trained artifact: neither it nor {MODEL_DIR}/ under it holds {CONFIG_FILE}; "
        "fix --model (the model/ folder of a training run's output)"
    )


def labels_from_config(model_dir: Path) -> LabelMap:
    """The label names in id order and the problem type, from config.json's `id2label` and `problem_type` (what
    training stored; models trained before problem types were single-label classifiers)."""
    try:
        config = json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        id2label = {int(k): str(v) for k, v in config["id2label"].items()}
        problem_type = config.get("problem_type") or SINGLE_LABEL
    except (OSError, ValueError, KeyError, AttributeError) as e:
        raise NotFoundError(
            f"{model_dir / CONFIG_FILE} has no usable id2label ({type(e).__name__}: {e}): "
            "--model must be the model/ folder of a training run"
        ) from e
    fewest = {REGRESSION: 1, MULTI_LABEL: 1}.get(problem_type, 2)
    if sorted(id2label) != list(range(len(id2label))) or len(id2label) < fewest:
        raise NotFoundError(
            f"{model_dir / CONFIG_FILE}: id2label ids {sorted(id2label)} are not 0..n-1 for n >= {fewest}: "
            "--model must be the model/ folder of a training run"
        )
    return LabelMap(tuple(id2label[i] for i in range(len(id2label))), problem_type)


def fetch_artifact(uri: str, storage: Storage, dest: Path) -> Artifact:
    """Download (S3) or locate (local) the artifact's model folder; read its label map, load its tokenizer."""
    folder = _model_folder(uri, storage)
    if folder.is_s3:
        objects = storage.download(folder, dest)
        log.info("model: downloaded %d files from %s", len(objects), folder)
        path = dest
    else:
        path = folder.path
    labels = labels_from_config(path)
    return Artifact(uri=str(folder), path=path, labels=labels, tokenizer=load_tokenizer(path))
