"""`trainer predict`: batch inference over a file, a prefix, a save_to_disk split or a streamed dataset of any size,
in input order.

settings -> locate the input (its parts: shards, Arrow files, stream shards) -> fetch the artifact -> strategy
scope: load -> for each part (in order, the next one downloading meanwhile): read it in chunks of --chunk-rows rows
(pyarrow's streaming CSV/JSON readers, Parquet row batches, Arrow record batches, the dataset's stream), tokenize
the chunk (or take its pre-tokenized ids), predict it through the same tf.data pipeline as training, append its
rows to the part's output file, upload that file, delete the local copies -> publish predictions.json and
`_SUCCESS` last (`outputs.predictions` describes the files).

Memory holds one chunk at a time and disk at most two parts, so both stay flat as the input grows.
"""

import contextlib
import logging
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from trainer.data import tables
from trainer.data.encode import ChunkEncoder, row_columns
from trainer.data.fetch import Artifact, fetch_artifact
from trainer.data.rows import Part, RowSource
from trainer.data.sources import DataSpec, open_source
from trainer.distribute.plan import effective_max_length
from trainer.errors import DataError
from trainer.model.inference import Runner, predict_logits, start_inference
from trainer.outputs import layout
from trainer.outputs.predictions import SUMMARY_FILE, output_name, prediction_lines, summary_document
from trainer.settings.verbs import PredictSettings
from trainer.storage import Storage
from trainer.verbs.scope import Scope, VerbFrame

log = logging.getLogger(__name__)


SPLITS = ("test", "validation")
"""The splits predicted by default, in order of preference."""


def run(settings: PredictSettings, storage: Storage | None = None) -> int:
    """Predict every row and publish; 0 also when the output already holds a completed prediction."""
    frame = VerbFrame(settings, storage, what="completed predictions", work_prefix="predict-")
    spec = DataSpec.parse(settings.data, "--data", settings)
    return frame.run(lambda scope: _predict(settings, scope, spec))


def output_names(rows: RowSource) -> list[str]:
    """Each part's output file name; parts that would share one are a DataError."""
    names = [output_name(name) for name in rows.names]
    if len(set(names)) != len(names):
        raise DataError(
            f"input parts of {rows.what} map to the same output name: give them distinct base names"
        )
    return names


def kept_columns(settings: PredictSettings, rows: RowSource) -> list[str]:
    """--keep-column, else the text columns (those pre-tokenized rows still hold)."""
    if settings.keep_column is not None or not rows.pretokenized:
        return settings.kept_columns
    return [c for c in settings.text_column if c in (rows.columns or ())]


def _predict(settings: PredictSettings, scope: Scope, spec: DataSpec) -> None:
    rows = open_source(
        spec, scope.storage, scope.work / "input", settings.data_format, settings.split, SPLITS
    )
    names = output_names(rows)
    artifact = fetch_artifact(settings.model, scope.storage, scope.work / "model")
    max_length = effective_max_length(settings.max_length, artifact.tokenizer)
    encoder = ChunkEncoder(rows, artifact.tokenizer, max_length, settings.text_column)
    runner = start_inference(artifact, settings, max_length)
    log.info(
        "predict: %s, %s, strategy=%s replicas=%d global_batch=%d chunk_rows=%d",
        rows.describe(),
        artifact.labels.describe(),
        runner.strategy,
        runner.plan.replicas,
        runner.plan.global_batch,
        settings.chunk_rows,
    )
    predictor = _PartPredictor(settings, scope, rows, artifact, runner, encoder, kept_columns(settings, rows))
    files = []
    started = time.perf_counter()
    total = 0
    with contextlib.closing(rows.parts()) as parts:
        for part, name in zip(parts, names, strict=True):
            count = predictor.predict(part, name, total)
            total += count
            log.info(
                "predicted %d rows of %s -> %s (%d rows so far, %.1f rows/s)",
                count,
                part.uri,
                scope.output.join(name),
                total,
                total / max(time.perf_counter() - started, 1e-9),
            )
            files.append({"uri": part.uri, "output": name, "rows": count})
    summary = summary_document(
        settings,
        model=artifact.uri,
        labels=artifact.labels,
        kept=predictor.kept,
        files=files,
        seconds=time.perf_counter() - started,
    )
    layout.write_json(scope.work / "output" / SUMMARY_FILE, summary)
    scope.storage.publish(scope.work / "output", scope.output, marker=layout.SUCCESS_MARKER)
    log.info(
        "published %s (%d rows in %d file(s)) and %s", scope.output, total, len(files), layout.SUCCESS_MARKER
    )


@dataclass(frozen=True)
class _PartPredictor:
    settings: PredictSettings
    scope: Scope
    rows: RowSource
    artifact: Artifact
    runner: Runner
    encoder: ChunkEncoder
    kept: list[str]

    def predict(self, part: Part, name: str, before: int) -> int:
        """Predict the part chunk by chunk into its output file, upload that; the rows predicted. `before`: rows
        of the input before this part (for messages)."""
        settings = self.settings
        out_path = self.scope.work / "shard" / name
        out_path.parent.mkdir(parents=True, exist_ok=True)
        columns = {c: "--keep-column" for c in self.kept} | row_columns(self.rows, settings.text_column)
        count = 0
        with out_path.open("w", encoding="utf-8") as out:
            for table in part.read(columns, settings.chunk_rows, set(settings.text_column)):
                out.write(self._lines(table, before + count))
                count += table.num_rows
        self.scope.storage.upload_file(out_path, self.scope.output.join(name))
        out_path.unlink()
        return count

    def _lines(self, table: pa.Table, before: int) -> str:
        encoded = self.encoder(table, np.zeros(table.num_rows, np.int32), before)
        logits = predict_logits(self.runner.model, encoded, self.runner.plan)
        kept = {c: self._strings(table.column(c), c) for c in self.kept}
        return prediction_lines(
            kept,
            self.kept,
            logits,
            self.artifact.labels,
            all_probabilities=self.settings.all_probabilities,
            threshold=self.settings.threshold,
        )

    def _strings(self, values: pa.ChunkedArray, column: str) -> list[str]:
        """A kept column as strings; a ClassLabel column's ids as their names."""
        names = self.rows.class_labels.get(column)
        if names is None:
            return tables.as_strings(values, column, fill="")
        return [names[v] if v is not None and 0 <= v < len(names) else "" for v in values.to_pylist()]
