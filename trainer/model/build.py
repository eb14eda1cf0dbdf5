"""Build the classifier (pretrained body + new head) and compile it with a loss that matches its outputs; load a
trained one.

Hugging Face's TF sequence classifiers return logits, not probabilities, so the loss is built with
`from_logits=True`; compiling it the other way trains silently worse (transformers #2680, #3389). Under mixed
precision the logits come out in bfloat16 or float16; the loss casts them to float32 first. The loss follows the
problem type, as Hugging Face's does: cross-entropy of a softmax (single-label), binary cross-entropy of each
sigmoid (multi-label) or the squared error of the one output (regression).
"""

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tensorflow as tf
import tf_keras as keras
from transformers import TFAutoModelForSequenceClassification, TFPreTrainedModel

from trainer.data.labels import LabelMap
from trainer.distribute.plan import RunPlan
from trainer.model.accumulation import use_gradient_accumulation
from trainer.model.optimizers import build_optimizer
from trainer.settings.problem import MULTI_LABEL, REGRESSION, SINGLE_LABEL, ProblemType
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
        model = TFAutoModelForSequenceClassification.from_pretrained(
            str(model_path),
            revision=revision,
            num_labels=len(labels),
            id2label=labels.id2label,
            label2id=labels.label2id,
            problem_type=labels.problem_type,
        )
    return traced_as_written(model)


def traced_as_written(model: TFPreTrainedModel) -> TFPreTrainedModel:
    """`model`, its layers traced as written rather than rewritten by AutoGraph first.

    Keras hands every subclassed layer's `call` to AutoGraph when a `tf.function` traces it, and AutoGraph rewrites
    the source of each function it reaches, transformers' whole forward pass, before tracing it. transformers' TF
    models need none of it (their control flow is plain Python over Python values; they trace under XLA), and the
    rewriting cost more than the tracing: measured on all-MiniLM-L6-v2, the first training step took 3.5 s less
    without it, with the same losses. Layers called inside a `do_not_convert` function are not converted either.
    """
    model.call = tf.autograph.experimental.do_not_convert(model.call)
    return model


def warmup_steps(total_steps: int, warmup_ratio: float) -> int:
    return int(total_steps * warmup_ratio)


class LogitsCrossEntropy(keras.losses.SparseCategoricalCrossentropy):
    """Sparse categorical cross-entropy from logits, computed in float32 whatever the compute dtype; with
    `class_weights`, each row's loss times its class's weight (Keras' `class_weight`, averaged over the batch)."""

    def __init__(
        self, name: str = "logits_cross_entropy", class_weights: Sequence[float] | None = None
    ) -> None:
        super().__init__(from_logits=True, name=name)
        self._weights = None if class_weights is None else tf.constant(list(class_weights), tf.float32)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        loss = super().call(y_true, tf.cast(y_pred, tf.float32))
        if self._weights is None:
            return loss
        return loss * tf.gather(self._weights, tf.reshape(tf.cast(y_true, tf.int32), [-1]))


class ScoreSquaredError(keras.losses.Loss):
    """A regression's squared error: the one output against the score, in float32 (Keras' mean over the batch)."""

    def __init__(self, name: str = "score_squared_error") -> None:
        super().__init__(name=name)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        predicted = tf.reshape(tf.cast(y_pred, tf.float32), [-1])
        return tf.square(predicted - tf.reshape(tf.cast(y_true, tf.float32), [-1]))


class LogitsBinaryCrossEntropy(keras.losses.BinaryCrossentropy):
    """Multi-label: binary cross-entropy of every label's sigmoid, from logits, averaged over the labels."""

    def __init__(self, name: str = "logits_binary_cross_entropy") -> None:
        super().__init__(from_logits=True, name=name)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return super().call(tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32))


def loss_and_metrics(
    problem_type: ProblemType, class_weights: Sequence[float] | None = None
) -> tuple[keras.losses.Loss, list[keras.metrics.Metric]]:
    """The problem type's loss, and what Keras reports beside it while training (accuracy for single-label)."""
    if problem_type == REGRESSION:
        return ScoreSquaredError(), []
    if problem_type == MULTI_LABEL:
        return LogitsBinaryCrossEntropy(), []
    accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    return LogitsCrossEntropy(class_weights=class_weights), [accuracy]


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
    problem_type: ProblemType = SINGLE_LABEL,
    class_weights: Sequence[float] | None = None,
    max_grad_norm: float | None = None,
) -> None:
    """AdamW with linear warmup then a linear decay to zero (or constant), the problem type's loss (and accuracy
    for single-label classification).

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
        max_grad_norm=max_grad_norm,
    )
    loss, reported = loss_and_metrics(problem_type, class_weights)
    model.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=reported,
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
    class_weights: Sequence[float] | None = None,
) -> TFPreTrainedModel:
    """The seeded classifier for `labels` (and their problem type), built and compiled under `strategy` in the
    plan's precision, its schedule spanning the run."""
    tf.keras.utils.set_random_seed(settings.seed)
    with strategy.scope():
        model = build_classifier(model_path, labels, plan.precision.policy, revision=settings.model_revision)
        compile_classifier(
            model,
            learning_rate=settings.learning_rate,
            total_steps=plan.total_steps,
            warmup_ratio=settings.warmup_ratio,
            weight_decay=settings.weight_decay,
            optim=settings.optim,
            lr_scheduler_type=settings.lr_scheduler_type,
            jit_compile=settings.jit_compile,
            steps_per_execution=settings.steps_per_execution,
            problem_type=labels.problem_type,
            class_weights=class_weights,
            max_grad_norm=settings.max_grad_norm,
        )
    use_gradient_accumulation(
        model, plan.accumulation_steps, pad_multiple=plan.pad_to_multiple_of, trim=plan.buckets is None
    )
    return model


def load_classifier(path: Path) -> Any:
    """The trained TF classifier; call inside `strategy.scope()` to mirror it."""
    return traced_as_written(TFAutoModelForSequenceClassification.from_pretrained(str(path)))
