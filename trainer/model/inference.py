"""What evaluate, predict and export share: fetch a trained artifact, read its labels, load it, run it.

A trained artifact is the `model/` folder a training run publishes (save_pretrained of model and tokenizer, with
`id2label`/`label2id` in config.json). Users may also name the run's output itself; `model/` under it is used.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainer.data.fetch import CONFIG_FILE, is_data_file
from trainer.data.labels import LabelMap
from trainer.data.tokens import Encoded
from trainer.errors import DataError, NotFoundError
from trainer.outputs import layout
from trainer.storage import Location, ObjectInfo, Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifact:
    uri: str
    """The model folder actually used (the run's `model/` when the run's output was named)."""
    path: Path
    labels: LabelMap


def _model_folder(uri: str, storage: Storage) -> Location:
    """The artifact's model folder: `uri` itself when it holds config.json, else `uri/model`."""
    loc = Location.parse(uri)
    for candidate in (loc, loc.join(layout.MODEL_DIR)):
        if storage.exists(candidate.join(CONFIG_FILE)):
            return candidate
    raise NotFoundError(
        f"{uri} is not a trained artifact: neither it nor {layout.MODEL_DIR}/ under it holds {CONFIG_FILE}; "
        "fix --model (the model/ folder of a training run's output)"
    )


def labels_from_config(model_dir: Path) -> LabelMap:
    """The label names in id order, from config.json's `id2label` (what training stored)."""
    try:
        config = json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        id2label = {int(k): str(v) for k, v in config["id2label"].items()}
    except (OSError, ValueError, KeyError, AttributeError) as e:
        raise NotFoundError(
            f"{model_dir / CONFIG_FILE} has no usable id2label ({type(e).__name__}: {e}): "
            "--model must be the model/ folder of a training run"
        ) from e
    if sorted(id2label) != list(range(len(id2label))) or len(id2label) < 2:
        raise NotFoundError(
            f"{model_dir / CONFIG_FILE}: id2label ids {sorted(id2label)} are not 0..n-1 for n >= 2: "
            "--model must be the model/ folder of a training run"
        )
    return LabelMap(tuple(id2label[i] for i in range(len(id2label))))


def fetch_artifact(uri: str, storage: Storage, dest: Path) -> Artifact:
    """Download (S3) or locate (local) the artifact's model folder and read its label map."""
    folder = _model_folder(uri, storage)
    if folder.is_s3:
        objects = storage.download(folder, dest)
        log.info("model: downloaded %d files from %s", len(objects), folder)
        path = dest
    else:
        path = folder.path
    return Artifact(uri=str(folder), path=path, labels=labels_from_config(path))


def load_classifier(path: Path) -> Any:
    """The trained TF classifier; call inside `strategy.scope()` to mirror it."""
    from transformers import TFAutoModelForSequenceClassification

    return TFAutoModelForSequenceClassification.from_pretrained(str(path))


def data_objects(loc: Location, storage: Storage, flag: str = "--data") -> list[ObjectInfo]:
    """The data shards at `loc` (one object or every shard under the prefix, name order; markers skipped)."""
    found = [info for info in storage.list(loc) if is_data_file(info.relative)]
    if not found:
        raise DataError(f"{loc} holds no data files (only markers or hidden files): fix {flag}")
    return found


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def cross_entropy(logits: np.ndarray, label_ids: np.ndarray) -> float:
    """Mean sparse categorical cross-entropy from logits (what training's loss reports)."""
    if len(label_ids) == 0:
        return 0.0
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=-1))
    picked = shifted[np.arange(len(label_ids)), label_ids]
    return float(np.mean(log_norm - picked))


def predict_logits(
    model: Any,
    encoded: Encoded,
    *,
    global_batch_size: int,
    pad_token_id: int,
    pad_to_multiple_of: int | None = None,
    buckets: list[int] | None = None,
    in_memory: bool = True,
) -> np.ndarray:
    """Float32 logits for every row, in row order, through the same tf.data pipeline (and strategy) as training.

    The rows run shortest first, so each batch pads to about its own length; the logits are put back in order.
    `pad_to_multiple_of` None is training's default for the devices present (`pipeline.pad_multiple`);
    `in_memory` False reads each batch's rows from the memory-mapped token files (`pipeline.build_dataset`).
    """
    from trainer import pipeline
    from trainer.distribute.strategy import has_gpus, input_shard_policy

    if len(encoded) == 0:
        return np.zeros((0, int(model.config.num_labels)), dtype=np.float32)
    order = pipeline.length_sorted(encoded.lengths)
    ds = pipeline.build_dataset(
        encoded,
        global_batch_size=global_batch_size,
        order=order,
        pad_token_id=pad_token_id,
        pad_to_multiple_of=pipeline.pad_multiple(pad_to_multiple_of, gpus=has_gpus()),
        buckets=buckets,
        shard_policy=input_shard_policy(model.distribute_strategy),
        in_memory=in_memory,
    )
    predictions = model.predict(ds, verbose=0)
    if isinstance(predictions, dict):
        predictions = predictions["logits"]
    sorted_logits = np.asarray(getattr(predictions, "logits", predictions), dtype=np.float32)
    logits = np.empty_like(sorted_logits)
    logits[order] = sorted_logits
    return logits
