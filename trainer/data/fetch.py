"""Fetch the model a verb works with: the pretrained model (Hub id at a revision, local folder or s3:// prefix) or
a trained artifact (its model folder, label map and tokenizer). The data is fetched by its sources (`sources`).

A trained artifact is the `model/` folder a training run publishes (save_pretrained of model and tokenizer, with
`id2label`/`label2id` in config.json). Users may also name the run's output itself; `model/` under it is used.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# First: transformers imported through it scans its model folders once (transformers_imports).
from trainer.data.transformers_imports import IMPORTS

# isort: split
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from trainer.data import hub
from trainer.data.labels import LabelMap
from trainer.errors import NotFoundError, UsageError
from trainer.outputs.layout import MODEL_DIR
from trainer.settings.problem import MULTI_LABEL, REGRESSION, SINGLE_LABEL
from trainer.storage import Location, Storage

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
"""Every save_pretrained folder has it; its absence means the URI does not point at a model."""


def resolve_model(
    model: str, storage: Storage, dest: Path, revision: str | None = None
) -> tuple[Path | str, dict[str, Any]]:
    """A local folder transformers can load from, or the Hub id itself; plus a record for run.json.

    Air-gapped clusters keep base models in a bucket: an s3:// prefix is downloaded once into `dest`. A Hub id is
    loaded at `revision` (--model-revision), whose commit is recorded.
    """
    if revision is not None and (model.startswith("s3://") or hub.looks_like_path(model)):
        raise UsageError(
            f"--model-revision picks a revision of a Hub model, and --model {model} is a folder: drop it"
        )
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
    if hub.looks_like_path(model):
        path = Location.parse(model).path
        if not path.exists():
            raise NotFoundError(f"model folder {path} does not exist: fix --model")
        if not path.is_dir() or not (path / CONFIG_FILE).is_file():
            raise UsageError(f"{path} is not a save_pretrained folder (no {CONFIG_FILE}): fix --model")
        return path, {"path": str(path)}
    located = hub.probe(model, revision)
    return located.target, {"hub_id": model, "revision": revision, "commit": located.commit}


def load_tokenizer(model: Path | str, revision: str | None = None) -> PreTrainedTokenizerBase:
    try:
        with IMPORTS:
            return AutoTokenizer.from_pretrained(str(model), revision=revision)
    except (OSError, ValueError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise NotFoundError(
            f"cannot load a tokenizer for model '{model}': {first_line} (a Hub id needs network access to "
            "huggingface.co; offline clusters stage the model in a bucket and pass its s3:// prefix)"
        ) from e


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
