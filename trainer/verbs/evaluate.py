"""`trainer evaluate`: measure a trained artifact on labelled data and publish the metrics.

settings -> locate the data (files, a save_to_disk folder, a --dataset-name dataset; its --split) -> fetch the
artifact (labels from its config) -> map label names through label2id (an unknown label is a DataError) -> tokenize
-> tf.data -> strategy scope: load -> predict -> metrics -> publish, `_SUCCESS` last.

    <output>/
      metrics.json          the model's problem type and its metrics (docs/outputs.md), rows, model, data:
                            single-label: loss, accuracy, f1_macro, per_class, confusion_matrix;
                            multi-label: loss, f1_micro, f1_macro, per_label at --threshold;
                            regression: loss, mse, rmse, mae, pearson, spearman
      confusion_matrix.png  single-label: the confusion matrix as a picture (multi-label: per_label.png)
      _SUCCESS
"""

import logging
import time

from trainer.data.encode import Tokenizing, encode_source
from trainer.data.fetch import fetch_artifact
from trainer.data.sources import DataSpec, open_source
from trainer.distribute.plan import effective_max_length
from trainer.model.inference import predict_logits, start_inference
from trainer.outputs import layout, metrics, reports
from trainer.settings.verbs import EvaluateSettings
from trainer.storage import Storage
from trainer.verbs.scope import Scope, VerbFrame

log = logging.getLogger(__name__)

SPLITS = ("validation", "test")
"""The splits evaluated by default, in order of preference."""


def run(settings: EvaluateSettings, storage: Storage | None = None) -> int:
    """Evaluate and publish; 0 also when the output already holds a completed evaluation."""
    frame = VerbFrame(settings, storage, what="a completed evaluation", work_prefix="evaluate-")
    spec = DataSpec.parse(settings.data, "--data", settings)
    return frame.run(lambda scope: _evaluate(settings, scope, spec))


def _evaluate(settings: EvaluateSettings, scope: Scope, spec: DataSpec) -> None:
    rows = open_source(spec, scope.storage, scope.work / "data", settings.data_format, settings.split, SPLITS)
    artifact = fetch_artifact(settings.model, scope.storage, scope.work / "model")
    max_length = effective_max_length(settings.max_length, artifact.tokenizer)
    labels = artifact.labels
    how = Tokenizing(
        settings,
        artifact.tokenizer,
        max_length,
        labels.encoder(known_as="model"),
        f"evaluation data {rows.what}",
    )
    encoded = encode_source(rows, how, scope.work / "tokens")
    # TensorFlow starts only now that the inputs proved usable, so mistakes fail fast.
    runner = start_inference(artifact, settings, max_length, token_bytes=encoded.token_bytes)
    log.info(
        "evaluate: %d rows from %s, %s; %.1f MB of token ids %s",
        len(encoded),
        rows.describe(),
        labels.describe(),
        encoded.token_bytes / 1e6,
        "in memory" if runner.plan.in_memory else "memory-mapped, read per batch",
    )
    log.info(
        "strategy=%s replicas=%d global_batch=%d",
        runner.strategy,
        runner.plan.replicas,
        runner.plan.global_batch,
    )
    started = time.perf_counter()
    logits = predict_logits(runner.model, encoded, runner.plan)
    seconds = time.perf_counter() - started
    result = metrics.evaluation(logits, encoded.labels, labels.names, labels.problem_type, settings.threshold)
    metrics.log_evaluation(result)

    staging = scope.work / "output"
    document = metrics.evaluation_document(
        result,
        rows=len(encoded),
        model=artifact.uri,
        data=rows.record,
        seconds=seconds,
        replicas=runner.plan.replicas,
    )
    layout.write_json(staging / layout.METRICS_FILE, document)
    picture = reports.write_label_report(staging, result)
    scope.storage.publish(staging, scope.output, marker=layout.SUCCESS_MARKER)
    shown = f"metrics.json, {picture.name}" if picture is not None else "metrics.json"
    log.info("published %s (%s) and %s", scope.output, shown, layout.SUCCESS_MARKER)
