"""`trainer predict`: batch inference over a file or prefix of any size, streamed, in input order.

settings -> list the input shards -> fetch the artifact -> strategy scope: load -> for each shard (name order):
download it, read it in chunks of --chunk-rows rows (pyarrow's streaming CSV/JSON readers, Parquet row batches),
tokenize the chunk, predict it through the same tf.data pipeline as training, append its rows to the shard's
output file, upload that file, delete the local copies -> publish predictions.json and `_SUCCESS` last
(`outputs.predictions` describes the files).

Memory holds one chunk at a time and disk one shard, so both stay flat as the input grows.
"""

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer.data import tables
from trainer.data.fetch import Artifact, data_objects, fetch_artifact
from trainer.data.tokens import tokenize
from trainer.distribute.plan import effective_max_length
from trainer.errors import DataError
from trainer.model.inference import Runner, predict_logits, start_inference
from trainer.outputs import layout
from trainer.outputs.predictions import SUMMARY_FILE, output_name, prediction_lines, summary_document
from trainer.settings.verbs import PredictSettings
from trainer.storage import Location, ObjectInfo, Storage
from trainer.verbs.scope import Scope, VerbFrame

log = logging.getLogger(__name__)


def run(settings: PredictSettings, storage: Storage | None = None) -> int:
    """Predict every row and publish; 0 also when the output already holds a completed prediction."""
    frame = VerbFrame(settings, storage, what="completed predictions", work_prefix="predict-")
    data = Location.parse(settings.data)
    return frame.run(lambda scope: _predict(settings, scope, data))


@dataclass(frozen=True)
class _Shards:
    """The input shards in name order, their one format and each one's output file name."""

    infos: list[ObjectInfo]
    fmt: str
    names: list[str]

    @classmethod
    def listed(cls, settings: PredictSettings, storage: Storage, data: Location) -> "_Shards":
        infos = data_objects(data, storage)
        fmt = tables.one_format([Path(info.relative) for info in infos], settings.data_format)
        names = [output_name(info.relative) for info in infos]
        if len(set(names)) != len(names):
            raise DataError(
                f"input shards under {data} map to the same output name: give them distinct base names"
            )
        return cls(infos, fmt, names)


def _predict(settings: PredictSettings, scope: Scope, data: Location) -> None:
    shards = _Shards.listed(settings, scope.storage, data)
    artifact = fetch_artifact(settings.model, scope.storage, scope.work / "model")
    max_length = effective_max_length(settings.max_length, artifact.tokenizer)
    runner = start_inference(artifact, settings, max_length)
    log.info(
        "predict: %d input file(s), %s, strategy=%s replicas=%d global_batch=%d chunk_rows=%d",
        len(shards.infos),
        artifact.labels.describe(),
        runner.strategy,
        runner.plan.replicas,
        runner.plan.global_batch,
        settings.chunk_rows,
    )
    predictor = _ShardPredictor(settings, scope, artifact, runner, max_length)
    files = []
    started = time.perf_counter()
    total = 0
    for info, name in zip(shards.infos, shards.names, strict=True):
        rows = predictor.predict(info, shards.fmt, name)
        total += rows
        log.info(
            "predicted %d rows of %s -> %s (%d rows so far, %.1f rows/s)",
            rows,
            info.location,
            scope.output.join(name),
            total,
            total / max(time.perf_counter() - started, 1e-9),
        )
        files.append({"uri": str(info.location), "output": name, "rows": rows})
    summary = summary_document(
        settings,
        model=artifact.uri,
        labels=artifact.labels,
        files=files,
        seconds=time.perf_counter() - started,
    )
    layout.write_json(scope.work / "output" / SUMMARY_FILE, summary)
    scope.storage.publish(scope.work / "output", scope.output, marker=layout.SUCCESS_MARKER)
    log.info(
        "published %s (%d rows in %d file(s)) and %s", scope.output, total, len(files), layout.SUCCESS_MARKER
    )


@dataclass(frozen=True)
class _ShardPredictor:
    settings: PredictSettings
    scope: Scope
    artifact: Artifact
    runner: Runner
    max_length: int

    def predict(self, info: ObjectInfo, fmt: str, name: str) -> int:
        """Download the shard, predict it chunk by chunk into its output file, upload that; the rows predicted."""
        settings, work = self.settings, self.scope.work
        local_dir = work / "input"
        ((_, local),) = self.scope.storage.download(info.location, local_dir)
        out_path = work / "shard" / name
        out_path.parent.mkdir(parents=True, exist_ok=True)
        columns = {c: "--keep-column" for c in settings.kept_columns} | {
            c: "--text-column" for c in settings.text_column
        }
        rows = 0
        with out_path.open("w", encoding="utf-8") as out:
            text = set(settings.text_column)
            for chunk in tables.string_chunks(
                local, fmt, columns, str(info.location), settings.chunk_rows, text
            ):
                out.write(self._lines(chunk))
                rows += len(chunk[settings.text_column[0]])
        self.scope.storage.upload_file(out_path, self.scope.output.join(name))
        out_path.unlink()
        if info.location.is_s3:
            shutil.rmtree(local_dir, ignore_errors=True)
        return rows

    def _lines(self, chunk: dict[str, list[str]]) -> str:
        settings = self.settings
        count = len(chunk[settings.text_column[0]])
        texts = [chunk[c] for c in settings.text_column]
        encoded = tokenize(texts, np.zeros(count, np.int32), self.artifact.tokenizer, self.max_length)
        logits = predict_logits(self.runner.model, encoded, self.runner.plan)
        return prediction_lines(
            chunk,
            settings.kept_columns,
            logits,
            self.artifact.labels,
            all_probabilities=settings.all_probabilities,
            threshold=settings.threshold,
        )
