"""`trainer evaluate`: measure a trained artifact on labelled data and publish the metrics.

settings -> fetch artifact (labels from its config) and data -> map label names through label2id (an unknown label
is a DataError) -> tokenize -> tf.data -> strategy scope: load -> predict -> metrics -> publish, `_SUCCESS` last.

    <output>/
      metrics.json          loss, accuracy, macro_f1, per_class {precision, recall, f1, support},
                            confusion_matrix {labels, matrix (rows true, columns predicted)}, rows, model, data
      confusion_matrix.png  the confusion matrix as a picture
      _SUCCESS
"""

import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trainer.data.fetch import load_tokenizer, read_data
from trainer.data.labels import LabelMap
from trainer.distribute import host
from trainer.errors import DataError
from trainer.model.inference import cross_entropy, fetch_artifact, load_classifier, predict_logits
from trainer.outputs import layout, metrics, reports
from trainer.settings.verbs import EvaluateSettings
from trainer.storage import Location, Storage

log = logging.getLogger(__name__)


def check_labels(labels: Sequence[str], label_map: LabelMap, source: str) -> np.ndarray:
    """Label names to the artifact's ids; a label the model was not trained on is a DataError naming it."""
    known = label_map.label2id
    unknown = sorted({label for label in labels if label not in known})
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise DataError(
            f"{source} has {len(unknown)} label(s) the model was not trained on: {shown}; the model's labels are "
            f"{list(label_map.names)}: fix --label-column or the data"
        )
    return label_map.encode(labels, source=source)


def run(settings: EvaluateSettings, storage: Storage | None = None) -> int:
    """Evaluate and publish; 0 also when the output already holds a completed evaluation."""
    storage = storage or Storage()
    output = Location.parse(settings.output)
    data_loc = Location.parse(settings.data)
    if layout.already_published(storage, output, overwrite=settings.overwrite, what="a completed evaluation"):
        return 0
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="evaluate-", dir=settings.work_dir))
    try:
        _evaluate_and_publish(settings, storage, output, data_loc, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _evaluate_and_publish(
    settings: EvaluateSettings, storage: Storage, output: Location, data_loc: Location, work: Path
) -> None:
    artifact = fetch_artifact(settings.model, storage, work / "model")
    tokenizer = load_tokenizer(artifact.path)
    max_length = min(settings.max_length, getattr(tokenizer, "model_max_length", settings.max_length))
    read = read_data(
        data_loc,
        storage,
        work,
        "--data",
        settings,
        tokenizer=tokenizer,
        max_length=max_length,
        encode_labels=lambda names, source: check_labels(names, artifact.labels, source),
        source=f"evaluation data {data_loc}",
    )
    encoded = read.encoded
    in_memory = host.keep_in_memory(None, encoded.token_bytes, host.memory_limit_bytes())
    log.info(
        "evaluate: %d rows from %d file(s) under %s, %d labels %s; %.1f MB of token ids %s",
        len(encoded),
        read.files,
        data_loc,
        len(artifact.labels),
        list(artifact.labels.names),
        encoded.token_bytes / 1e6,
        "in memory" if in_memory else "memory-mapped, read per batch",
    )

    from trainer.distribute.strategy import (  # TensorFlow: only once the inputs proved usable, so mistakes fail fast
        configure_devices,
        global_batch_size,
        make_strategy,
    )

    configure_devices(settings.cpu_replicas)  # before TensorFlow initializes its devices
    strategy = make_strategy()
    global_batch = global_batch_size(settings.per_replica_batch_size, strategy.num_replicas_in_sync)
    log.info(
        "strategy=%s replicas=%d global_batch=%d",
        type(strategy).__name__,
        strategy.num_replicas_in_sync,
        global_batch,
    )
    with strategy.scope():
        model = load_classifier(artifact.path)
    started = time.perf_counter()
    logits = predict_logits(
        model,
        encoded,
        global_batch_size=global_batch,
        pad_token_id=tokenizer.pad_token_id or 0,
        in_memory=in_memory,
    )
    seconds = time.perf_counter() - started
    report = metrics.classification_report(encoded.labels, np.argmax(logits, axis=-1), artifact.labels.names)
    result = {"loss": cross_entropy(logits, encoded.labels), **report}
    log.info(
        "eval: loss=%.4f accuracy=%.4f macro_f1=%.4f", result["loss"], report["accuracy"], report["macro_f1"]
    )

    staging = work / "output"
    layout.write_json(
        staging / layout.METRICS_FILE,
        {
            **result,
            "rows": len(encoded),
            "model": artifact.uri,
            "data": read.record,
            "seconds": seconds,
            "replicas": strategy.num_replicas_in_sync,
            "finished_at": layout.utc_now(),
        },
    )
    confusion = report["confusion_matrix"]
    reports.plot_confusion_matrix(
        confusion["labels"],
        confusion["matrix"],
        staging / reports.CONFUSION_MATRIX_FILE,  # type: ignore[index]
    )
    storage.publish(staging, output, marker=layout.SUCCESS_MARKER)
    log.info("published %s (metrics.json, confusion_matrix.png) and %s", output, layout.SUCCESS_MARKER)
