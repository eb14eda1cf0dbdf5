"""`trainer predict`: batch inference over a file or prefix of any size, streamed, in input order.

settings -> list the input shards -> fetch the artifact -> strategy scope: load -> for each shard (name order):
download it, read it in chunks of --chunk-rows rows (pyarrow's streaming CSV/JSON readers, Parquet row batches),
tokenize the chunk, predict it through the same tf.data pipeline as training, append its rows to the shard's
output file, upload that file, delete the local copies -> publish predictions.json and `_SUCCESS` last.

Memory holds one chunk at a time and disk one shard, so both stay flat as the input grows.

    <output>/
      <shard base name>.jsonl   one JSON object per input row, in input order: the kept input columns (default:
                                the text columns), "label" (predicted name), "probability" (its softmax
                                probability) and, with --all-probabilities, "probabilities" {label: p}
      predictions.json          model, labels, per input shard: uri, output, rows; total rows
      _SUCCESS
"""

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from trainer.data import tables
from trainer.data.fetch import load_tokenizer
from trainer.data.tokens import tokenize
from trainer.errors import DataError
from trainer.model.inference import data_objects, fetch_artifact, load_classifier, predict_logits, softmax
from trainer.outputs import layout
from trainer.settings.verbs import PredictSettings
from trainer.storage import Location, ObjectInfo, Storage

log = logging.getLogger(__name__)

OUTPUT_SUFFIX = ".jsonl"
SUMMARY_FILE = "predictions.json"

Chunk = dict[str, list[str]]


def output_name(relative: str) -> str:
    """`part-00000.csv.gz` -> `part-00000.jsonl` (keeping sub-folders of a prefix)."""
    path = PurePosixPath(relative)
    name = path.name
    lowered = name.lower()
    for suffix in tables.COMPRESSION_SUFFIXES:
        if lowered.endswith(suffix):
            name, lowered = name[: -len(suffix)], lowered[: -len(suffix)]
            break
    for suffix in tables.FORMAT_BY_SUFFIX:
        if lowered.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return str(path.with_name(name + OUTPUT_SUFFIX))


def read_chunks(
    path: Path, fmt: str, columns: Mapping[str, str], uri: str, chunk_rows: int, text: set[str]
) -> Iterator[Chunk]:
    """The file's `columns` (name -> flag) as strings (missing values ""), `chunk_rows` rows at a time; only the
    `text` columns are parsed as strings (a kept JSON column of numbers keeps them, printed as written)."""
    for table in tables.read_chunks(path, fmt, columns, uri, chunk_rows, text=text):
        yield {c: tables.as_strings(table.column(c), c, fill="") for c in columns}


def run(settings: PredictSettings, storage: Storage | None = None) -> int:
    """Predict every row and publish; 0 also when the output already holds a completed prediction."""
    storage = storage or Storage()
    output = Location.parse(settings.output)
    data_loc = Location.parse(settings.data)
    if layout.already_published(storage, output, overwrite=settings.overwrite, what="completed predictions"):
        return 0
    shards = data_objects(data_loc, storage)
    fmt = tables.one_format([Path(info.relative) for info in shards], settings.data_format)
    names = [output_name(info.relative) for info in shards]
    if len(set(names)) != len(names):
        raise DataError(
            f"input shards under {data_loc} map to the same output name: give them distinct base names"
        )
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="predict-", dir=settings.work_dir))
    try:
        _predict_and_publish(settings, storage, output, shards, fmt, names, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _predict_and_publish(
    settings: PredictSettings,
    storage: Storage,
    output: Location,
    shards: list[ObjectInfo],
    fmt: str,
    names: list[str],
    work: Path,
) -> None:
    artifact = fetch_artifact(settings.model, storage, work / "model")
    tokenizer = load_tokenizer(artifact.path)
    max_length = min(settings.max_length, getattr(tokenizer, "model_max_length", settings.max_length))
    from trainer.distribute.strategy import (  # TensorFlow: only once the inputs proved usable, so mistakes fail fast
        configure_devices,
        global_batch_size,
        make_strategy,
    )

    configure_devices(settings.cpu_replicas)  # before TensorFlow initializes its devices
    strategy = make_strategy()
    global_batch = global_batch_size(settings.per_replica_batch_size, strategy.num_replicas_in_sync)
    log.info(
        "predict: %d input file(s), labels %s, strategy=%s replicas=%d global_batch=%d chunk_rows=%d",
        len(shards),
        list(artifact.labels.names),
        type(strategy).__name__,
        strategy.num_replicas_in_sync,
        global_batch,
        settings.chunk_rows,
    )
    with strategy.scope():
        model = load_classifier(artifact.path)
    pad_id = tokenizer.pad_token_id or 0
    columns = {c: "--keep-column" for c in settings.kept_columns} | {
        c: "--text-column" for c in settings.text_column
    }
    summary: list[dict[str, Any]] = []
    started = time.perf_counter()
    total = 0
    for info, name in zip(shards, names, strict=True):
        local_dir = work / "input"
        ((_, local),) = storage.download(info.location, local_dir)
        out_path = work / "shard" / name
        out_path.parent.mkdir(parents=True, exist_ok=True)
        rows = 0
        with out_path.open("w", encoding="utf-8") as out:
            for chunk in read_chunks(
                local, fmt, columns, str(info.location), settings.chunk_rows, set(settings.text_column)
            ):
                count = len(chunk[settings.text_column[0]])
                texts = [chunk[c] for c in settings.text_column]
                encoded = tokenize(texts, np.zeros(count, np.int32), tokenizer, max_length)
                probabilities = softmax(
                    predict_logits(model, encoded, global_batch_size=global_batch, pad_token_id=pad_id)
                )
                _write_rows(out, chunk, settings.kept_columns, probabilities, artifact.labels.names, settings)
                rows += count
        target = output.join(name)
        storage.upload_file(out_path, target)
        out_path.unlink()
        if info.location.is_s3:
            shutil.rmtree(local_dir, ignore_errors=True)
        total += rows
        log.info(
            "predicted %d rows of %s -> %s (%d rows so far, %.1f rows/s)",
            rows,
            info.location,
            target,
            total,
            total / max(time.perf_counter() - started, 1e-9),
        )
        summary.append({"uri": str(info.location), "output": name, "rows": rows})
    staging = work / "output"
    layout.write_json(
        staging / SUMMARY_FILE,
        {
            "model": artifact.uri,
            "labels": list(artifact.labels.names),
            "text_columns": list(settings.text_column),
            "kept_columns": settings.kept_columns,
            "all_probabilities": settings.all_probabilities,
            "files": summary,
            "rows": total,
            "seconds": time.perf_counter() - started,
            "finished_at": layout.utc_now(),
        },
    )
    storage.publish(staging, output, marker=layout.SUCCESS_MARKER)
    log.info(
        "published %s (%d rows in %d file(s)) and %s", output, total, len(summary), layout.SUCCESS_MARKER
    )


def _write_rows(
    out: Any,
    chunk: Chunk,
    kept: Sequence[str],
    probabilities: np.ndarray,
    names: Sequence[str],
    settings: PredictSettings,
) -> None:
    best = probabilities.argmax(axis=-1)
    lines = []
    for i, top in enumerate(best.tolist()):
        row: dict[str, Any] = {c: chunk[c][i] for c in kept}
        row["label"] = names[top]
        row["probability"] = float(probabilities[i, top])
        if settings.all_probabilities:
            row["probabilities"] = {
                n: float(p) for n, p in zip(names, probabilities[i].tolist(), strict=True)
            }
        lines.append(json.dumps(row, ensure_ascii=False))
    out.write("\n".join(lines) + "\n")
