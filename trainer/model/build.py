"""Build the classifier (pretrained body + new head) and compile it with a loss that matches its outputs; load a
trained one.

Hugging Face's TF sequence classifiers return logits, not probabilities, so the loss is built with
`from_logits=True`; compiling it the other way trains silently worse (transformers #2680, #3389). Under mixed
precision the logits come out in bfloat16 or float16; the loss casts them to float32 first.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tensorflow as tf
import tf_keras as keras
from transformers import TFAutoModelForSequenceClassification, TFPreTrainedModel

from trainer.data.labels import LabelMap
from trainer.distribute.plan import RunPlan
from trainer.model.optimizers import build_optimizer
from trainer.settings.train import LrSchedulerType, Optim, TrainSettings

log = logging.getLogger(__name__)


@contextmanager
def precision(policy: str | None) -> Iterator[None]:
    """Layers built inside use the mixed-precision `policy` (None: float32); the global policy is restored after."""
    if policy is None:
        yield
        return
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def build_classifier(
    model_path: Path | str,
    labels: LabelMap,
    mixed_precision: str | None = None,
    *,
    revision: str | None = None,
) -> TFPreTrainedModel:
    """Load the pretrained body (a Hub id at `revision`) with a fresh classification head for `labels`; call
    inside `strategy.scope()`."""
    with precision(mixed_precision):
        return TFAutoModelForSequenceClassification.from_pretrained(
            str(model_path),
            revision=revision,
            num_labels=len(labels),
            id2label=labels.id2label,
            label2id=labels.label2id,
        )


def warmup_steps(total_steps: int, warmup_ratio: float) -> int:
    return int(total_steps * warmup_ratio)


class LogitsCrossEntropy(keras.losses.SparseCategoricalCrossentropy):
    """Sparse categorical cross-entropy from logits, computed in float32 whatever the compute dtype."""

    def __init__(self, name: str = "logits_cross_entropy") -> None:
        super().__init__(from_logits=True, name=name)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return super().call(y_true, tf.cast(y_pred, tf.float32))


def compile_classifier(
    model: TFPreTrainedModel,
    *,
    learning_rate: float,
    total_steps: int,
    warmup_ratio: float,
    weight_decay: float,
    optim: Optim = "adamw_lazy",
    lr_scheduler_type: LrSchedulerType = "linear",
    jit_compile: bool = False,
    steps_per_execution: int = 1,
) -> None:
    """AdamW with linear warmup then a linear decay to zero (or constant), a from-logits loss, accuracy.

    Builds the optimizer's slots and step counter at once, so a checkpoint restores into them. Under
    mixed_float16 Keras wraps the optimizer in a LossScaleOptimizer (dynamic loss scaling), which is checkpointed
    with it.
    """
    optimizer = build_optimizer(
        optim=optim,
        learning_rate=learning_rate,
        total_steps=total_steps,
        warmup_steps=warmup_steps(total_steps, warmup_ratio),
        weight_decay=weight_decay,
        lr_scheduler_type=lr_scheduler_type,
    )
    model.compile(
        optimizer=optimizer,
        loss=LogitsCrossEntropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    # transformers' AdamWeightDecay is a legacy (OptimizerV2) optimizer: `_create_all_weights` is its build.
    inner = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    inner._create_all_weights(model.trainable_variables)


def build_and_compile(
    model_path: Path | str,
    labels: LabelMap,
    settings: TrainSettings,
    plan: RunPlan,
    strategy: tf.distribute.Strategy,
) -> TFPreTrainedModel:
    """The seeded classifier for `labels`, built and compiled under `strategy`, its schedule spanning the run."""
    tf.keras.utils.set_random_seed(settings.seed)
    with strategy.scope():
        model = build_classifier(
            model_path, labels, settings.mixed_precision, revision=settings.model_revision
        )
        compile_classifier(
            model,
            learning_rate=settings.learning_rate,
            total_steps=plan.steps_per_epoch * settings.epochs,
            warmup_ratio=settings.warmup_ratio,
            weight_decay=settings.weight_decay,
            optim=settings.optim,
            lr_scheduler_type=settings.lr_scheduler_type,
            jit_compile=settings.jit_compile,
            steps_per_execution=settings.steps_per_execution,
        )
    return model


def load_classifier(path: Path) -> Any:
    """The trained TF classifier; call inside `strategy.scope()` to mirror it."""
    return TFAutoModelForSequenceClassification.from_pretrained(str(path))
