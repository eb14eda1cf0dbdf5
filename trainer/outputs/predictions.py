"""What `trainer predict` publishes: one JSON Lines file per input part (a shard, an Arrow
file, a stream shard), and predictions.json.

<output>/
  <part base name>.jsonl   one JSON object per input row, in input order: the kept input columns (default:
                            the text columns), "label" (predicted name), "probability" (its softmax
                            probability) and, with --all-probabilities, "probabilities" {label: p}
  predictions.json          model, labels, per input shard: uri, output, rows; total rows
  _SUCCESS
"""

import json
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from trainer.data import tables
from trainer.outputs.timing import utc_now
from trainer.settings.verbs import PredictSettings

OUTPUT_SUFFIX = ".jsonl"
ARROW_SUFFIX = ".arrow"
"""The data files of a save_to_disk folder."""
SUMMARY_FILE = "predictions.json"


def output_name(relative: str) -> str:
    """`part-00000.csv.gz` -> `part-00000.jsonl`, `test/data-00000-of-00002.arrow` -> `test/data-00000-of-00002.jsonl`
    (keeping sub-folders of a prefix)."""
    path = PurePosixPath(relative)
    name = path.name
    lowered = name.lower()
    for suffix in tables.COMPRESSION_SUFFIXES:
        if lowered.endswith(suffix):
            name, lowered = name[: -len(suffix)], lowered[: -len(suffix)]
            break
    for suffix in (*tables.FORMAT_BY_SUFFIX, ARROW_SUFFIX):
        if lowered.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return str(path.with_name(name + OUTPUT_SUFFIX))


def prediction_lines(
    chunk: Mapping[str, list[str]],
    kept: Sequence[str],
    probabilities: np.ndarray,
    names: Sequence[str],
    *,
    all_probabilities: bool,
) -> str:
    """The JSON Lines of one chunk's rows (each line ends with a newline)."""
    best = probabilities.argmax(axis=-1)
    lines = []
    for i, top in enumerate(best.tolist()):
        row: dict[str, Any] = {c: chunk[c][i] for c in kept}
        row["label"] = names[top]
        row["probability"] = float(probabilities[i, top])
        if all_probabilities:
            row["probabilities"] = {
                n: float(p) for n, p in zip(names, probabilities[i].tolist(), strict=True)
            }
        lines.append(json.dumps(row, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def summary_document(
    settings: PredictSettings,
    *,
    model: str,
    labels: Sequence[str],
    kept: Sequence[str],
    files: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    """predictions.json: the model and options, then per input shard its uri, output name and rows."""
    return {
        "model": model,
        "labels": list(labels),
        "text_columns": list(settings.text_column),
        "kept_columns": list(kept),
        "all_probabilities": settings.all_probabilities,
        "files": files,
        "rows": sum(entry["rows"] for entry in files),
        "seconds": seconds,
        "finished_at": utc_now(),
    }
