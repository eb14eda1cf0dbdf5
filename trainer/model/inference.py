"""Run a classifier over tokenized rows: logits in row order through training's tf.data pipeline and strategy,
the evaluation train and evaluate share, and the start of evaluate's and predict's TensorFlow side.

Importing this module imports no TensorFlow: evaluate and predict check their inputs first, so mistakes fail fast.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from trainer.data.fetch import Artifact
from trainer.data.labels import LabelMap
from trainer.data.tokens import Encoded
from trainer.distribute import host
from trainer.distribute.plan import Facts, RunPlan, plan_inference
from trainer.outputs import metrics
from trainer.settings.verbs import ArtifactArguments


def predict_logits(model: Any, encoded: Encoded, plan: RunPlan) -> np.ndarray:
    """Float32 logits for every row, in row order, through the same tf.data pipeline (and strategy) as training.

    The rows run shortest first, so each batch pads to about its own length; the logits are put back in order.
    Batch size, padding, XLA buckets and whether the ids are read from memory or the mapped files: the `plan`.
    """
    from trainer import pipeline
    from trainer.distribute.strategy import input_shard_policy

    if len(encoded) == 0:
        return np.zeros((0, int(model.config.num_labels)), dtype=np.float32)
    order = pipeline.length_sorted(encoded.lengths)
    ds = pipeline.planned_dataset(
        encoded, plan, order=order, shard_policy=input_shard_policy(model.distribute_strategy)
    )
    _predict_float32_logits(model)
    predictions = model.predict(ds, verbose=0)
    if isinstance(predictions, dict):
        predictions = predictions["logits"]
    sorted_logits = np.asarray(getattr(predictions, "logits", predictions), dtype=np.float32)
    logits = np.empty_like(sorted_logits)
    logits[order] = sorted_logits
    return logits


def _predict_float32_logits(model: Any) -> None:
    """Make `model.predict` return the logits cast to float32 (once per model, before its first `predict`).

    Under mixed_bfloat16 the logits come out in bfloat16, and MultiWorkerMirroredStrategy gathers every worker's
    predictions with a collective that takes no bfloat16 (`TypeError: ... DataType bfloat16 not in list of
    allowed values`): `--bf16 auto` on CPUs with AMX or AVX512-BF16 made every multi-worker evaluation fail.
    """
    import tensorflow as tf

    if getattr(model, "_predicts_float32_logits", False):
        return
    step = model.predict_step

    def predict_step(data: Any) -> Any:
        outputs = step(data)
        logits = outputs["logits"] if isinstance(outputs, dict) else getattr(outputs, "logits", outputs)
        return tf.cast(logits, tf.float32)

    model.predict_step = predict_step
    model._predicts_float32_logits = True


def evaluate_model(
    model: Any, encoded: Encoded, plan: RunPlan, labels: LabelMap, threshold: float = 0.5
) -> dict[str, Any]:
    """The problem type's loss and metrics on `encoded` (`metrics.evaluation`), from one prediction pass."""
    logits = predict_logits(model, encoded, plan)
    return metrics.evaluation(logits, encoded.labels, labels.names, labels.problem_type, threshold)


@dataclass(frozen=True)
class Runner:
    """A trained classifier loaded under its strategy, and the plan it runs with."""

    model: Any
    plan: RunPlan
    strategy: str
    """The strategy's name, for the log."""


def start_inference(
    artifact: Artifact, settings: ArtifactArguments, max_length: int, *, token_bytes: int | None = None
) -> Runner:
    """TensorFlow starts here: the CPU split (--cpu-replicas), the strategy, the plan (`token_bytes` None: rows
    stream through in chunks, in memory), and the model loaded under the strategy."""
    from trainer.distribute.strategy import configure_devices, has_gpus, make_strategy, strategy_name
    from trainer.model.build import load_classifier

    configure_devices(settings.cpu_replicas)  # before TensorFlow initializes its devices
    strategy = make_strategy()
    facts = Facts(
        replicas=strategy.num_replicas_in_sync,
        gpus=has_gpus(),
        max_length=max_length,
        pad_token_id=artifact.tokenizer.pad_token_id,
        memory_limit=host.memory_limit_bytes() if token_bytes is not None else None,
        token_bytes=token_bytes,
    )
    plan = plan_inference(settings.per_replica_batch_size, facts)
    with strategy.scope():
        model = load_classifier(artifact.path)
    return Runner(model, plan, strategy_name(strategy))
