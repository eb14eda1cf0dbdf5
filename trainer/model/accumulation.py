"""Gradient accumulation: one optimizer step from the gradients of N micro-batches.

The input pipeline hands each train step a batch of N micro-batches (`RunPlan.step_batch` rows); the step splits it,
runs forward and backward on one micro-batch after the other and applies the mean of their gradients once. So
every count Keras keeps (steps, the optimizer's iterations and with them the learning-rate schedule, progress,
checkpoints, resume) is in optimizer steps, and the synchronisation across replicas and workers (the gradient
all-reduce) happens once per optimizer step and outside any control flow, as MirroredStrategy requires.

Each micro-batch is trimmed to its own longest row (rounded up to the padding multiple), so it computes no more
padding than a plain step of that micro-batch would. The embedding gradient stays sparse (`tf.IndexedSlices`,
concatenated across micro-batches; the optimizer sums duplicate rows), so `adamw_lazy` keeps its advantage.
"""

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf
import tf_keras as keras

Gradient = tf.Tensor | tf.IndexedSlices


def split_batch(
    features: dict[str, tf.Tensor], labels: tf.Tensor, parts: int
) -> list[tuple[dict, tf.Tensor]]:
    """`parts` equal micro-batches of a batch (its rows divide evenly: the pipeline drops partial batches)."""
    columns = {name: tf.split(value, parts) for name, value in features.items()}
    label_parts = tf.split(labels, parts)
    return [({name: pieces[i] for name, pieces in columns.items()}, label_parts[i]) for i in range(parts)]


def trim_padding(features: dict[str, tf.Tensor], multiple: int) -> dict[str, tf.Tensor]:
    """The micro-batch cut to its longest row rounded up to `multiple` (rows are padded on the right)."""
    width = tf.shape(features["input_ids"])[1]
    longest = tf.reduce_max(tf.reduce_sum(features["attention_mask"], axis=1))
    length = tf.minimum(width, -(-longest // multiple) * multiple)
    return {name: value[:, :length] for name, value in features.items()}


def add_gradients(total: list[Gradient | None], grads: Sequence[Gradient | None]) -> list[Gradient | None]:
    """Sum gradients; sparse ones are concatenated (the optimizer sums rows that occur twice)."""
    out = []
    for a, b in zip(total, grads, strict=True):
        if a is None or b is None:
            out.append(b if a is None else a)
        elif isinstance(a, tf.IndexedSlices) or isinstance(b, tf.IndexedSlices):
            a, b = _as_slices(a), _as_slices(b)
            out.append(
                tf.IndexedSlices(
                    tf.concat([a.values, b.values], 0), tf.concat([a.indices, b.indices], 0), a.dense_shape
                )
            )
        else:
            out.append(a + b)
    return out


def _as_slices(grad: Gradient) -> tf.IndexedSlices:
    if isinstance(grad, tf.IndexedSlices):
        return grad
    rows = tf.shape(grad, out_type=tf.int64)[0]
    return tf.IndexedSlices(grad, tf.range(rows), tf.shape(grad, out_type=tf.int64))


def _scale(grad: Gradient | None, factor: float) -> Gradient | None:
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(grad.values * factor, grad.indices, grad.dense_shape)
    return None if grad is None else grad * factor


def accumulating_train_step(
    model: Any, steps: int, *, pad_multiple: int, trim: bool = True
) -> Callable[[Any], dict]:
    """A `train_step` for `model` (a compiled Hugging Face TF classifier) that averages `steps` micro-batches'
    gradients into one optimizer step. `trim` False (XLA: fixed bucket shapes) keeps the batch's padding."""
    optimizer = model.optimizer
    scaled = isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer)

    def train_step(data: Any) -> dict[str, tf.Tensor]:
        features, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        variables = model.trainable_variables
        total: list[Gradient | None] = [None] * len(variables)
        previous: list[Any] = []
        for micro_features, micro_labels in split_batch(features, labels, steps):
            with tf.control_dependencies(previous):  # one micro-batch at a time: peak memory of one
                if trim:
                    micro_features = trim_padding(micro_features, pad_multiple)
                with tf.GradientTape() as tape:
                    logits = model(micro_features, training=True).logits
                    loss = model.compiled_loss(micro_labels, logits, regularization_losses=model.losses)
                    target = optimizer.get_scaled_loss(loss) if scaled else loss
                grads = tape.gradient(target, variables)
                if scaled:
                    grads = optimizer.get_unscaled_gradients(grads)
            model.compiled_metrics.update_state(micro_labels, logits)
            total = add_gradients(total, grads)
            previous = [g.values if isinstance(g, tf.IndexedSlices) else g for g in grads if g is not None]
        optimizer.apply_gradients(
            [(_scale(g, 1.0 / steps), v) for g, v in zip(total, variables, strict=True) if g is not None]
        )
        return {metric.name: metric.result() for metric in model.metrics}

    return train_step


def use_gradient_accumulation(model: Any, steps: int, *, pad_multiple: int, trim: bool = True) -> None:
    """From now on `model.fit` takes batches of `steps` micro-batches and steps the optimizer once per batch."""
    if steps > 1:
        model.train_step = accumulating_train_step(model, steps, pad_multiple=pad_multiple, trim=trim)
        model.train_function = None  # rebuilt around the new step
