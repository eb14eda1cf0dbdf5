"""What `trainer predict` publishes: one JSON Lines file per input part (a shard, an Arrow
file, a stream shard), and predictions.json.

<output>/
  <part base name>.jsonl    one JSON object per input row, in input order: the kept input columns (default:
                            the text columns; one named like a prediction field, e.g. a gold "label", as
                            "input_label"), then by the model's problem type
                            single-label: "label" (predicted name), "probability" (its softmax probability)
                              and, with --all-probabilities, "probabilities" {label: p}
                            multi-label: "labels" [names whose sigmoid reaches --threshold], "scores" {label: p}
                            regression: "score" (the predicted number)
  predictions.json          model, problem type, labels, threshold, per input part: uri, output, rows; total
  _SUCCESS
"""

import json
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from trainer.data import tables
from trainer.data.labels import LabelMap
from trainer.outputs.scores import sigmoid, softmax
from trainer.outputs.timing import utc_now
from trainer.settings.problem import MULTI_LABEL, REGRESSION
from trainer.settings.verbs import PredictSettings

OUTPUT_SUFFIX = ".jsonl"
ARROW_SUFFIX = ".arrow"
"""The data files of a save_to_disk folder."""
SUMMARY_FILE = "predictions.json"
PREDICTION_FIELDS = frozenset({"label", "probability", "probabilities", "labels", "scores", "score"})
KEPT_PREFIX = "input_"


def kept_field(column: str) -> str:
    """The output field of a kept input column: its name, or `input_<name>` where a prediction field has it (a gold
    `label` column kept beside the predicted `label`)."""
    return KEPT_PREFIX + column if column in PREDICTION_FIELDS else column


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
    logits: np.ndarray,
    labels: LabelMap,
    *,
    all_probabilities: bool,
    threshold: float = 0.5,
) -> str:
    """The JSON Lines of one chunk's rows (each line ends with a newline)."""
    predicted = _predicted(logits, labels, all_probabilities=all_probabilities, threshold=threshold)
    lines = [
        json.dumps({**{kept_field(c): chunk[c][i] for c in kept}, **fields}, ensure_ascii=False)
        for i, fields in enumerate(predicted)
    ]
    return "\n".join(lines) + "\n"


def _predicted(
    logits: np.ndarray, labels: LabelMap, *, all_probabilities: bool, threshold: float
) -> list[dict[str, Any]]:
    """Each row's prediction fields, by the problem type."""
    names = labels.names
    if labels.problem_type == REGRESSION:
        return [{"score": float(score)} for score in logits[:, 0].tolist()]
    if labels.problem_type == MULTI_LABEL:
        return [
            {
                "labels": [n for n, p in zip(names, row, strict=True) if p >= threshold],
                "scores": dict(zip(names, row, strict=True)),
            }
            for row in sigmoid(logits).tolist()
        ]
    probabilities = softmax(logits)
    rows = []
    for top, row in zip(probabilities.argmax(axis=-1).tolist(), probabilities.tolist(), strict=True):
        fields: dict[str, Any] = {"label": names[top], "probability": row[top]}
        if all_probabilities:
            fields["probabilities"] = dict(zip(names, row, strict=True))
        rows.append(fields)
    return rows


def summary_document(
    settings: PredictSettings,
    *,
    model: str,
    labels: LabelMap,
    kept: Sequence[str],
    files: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    """predictions.json: the model and options, then per input shard its uri, output name and rows."""
    return {
        "model": model,
        "problem_type": labels.problem_type,
        "labels": list(labels.names),
        "threshold": settings.threshold if labels.problem_type == MULTI_LABEL else None,
        "text_columns": list(settings.text_column),
        "kept_columns": list(kept),
        "all_probabilities": settings.all_probabilities,
        "files": files,
        "rows": sum(entry["rows"] for entry in files),
        "seconds": seconds,
        "finished_at": utc_now(),
    }
