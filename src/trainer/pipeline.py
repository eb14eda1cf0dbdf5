"""Build tf.data pipelines from tokenized rows: shuffle, per-batch dynamic padding, sharding policy, prefetch.

Pure: takes arrays, returns a `tf.data.Dataset`; no files, no network. Rows are padded only to the longest row of
their batch (rounded up to a multiple of 8 for tensor cores), not to the longest row of the data set, which is
where most of the naive recipe's compute goes.
"""

import math

import numpy as np
import tensorflow as tf

from trainer.data import Encoded

PAD_TO_MULTIPLE_OF = 8
"""Tensor cores want sequence dimensions in multiples of 8 (NVIDIA's mixed-precision guide)."""


def steps_per_epoch(num_rows: int, global_batch_size: int, *, drop_remainder: bool) -> int:
    """Optimizer steps one pass over `num_rows` takes at this global batch size."""
    if drop_remainder:
        return num_rows // global_batch_size
    return math.ceil(num_rows / global_batch_size)


def epoch_order(
    num_rows: int, global_batch_size: int, *, seed: int, epoch: int, skip_steps: int = 0
) -> np.ndarray:
    """The rows of one training epoch, in order: a permutation drawn from `(seed, epoch)` alone.

    Because the order depends on nothing but the seed and the epoch number (not on how often a dataset was
    iterated in this process), a run resumed at step `skip_steps` of an epoch trains exactly the batches the
    interrupted run had not reached. The last partial batch is dropped so every step splits evenly over replicas.
    """
    steps = steps_per_epoch(num_rows, global_batch_size, drop_remainder=True)
    order = np.random.default_rng([seed, epoch]).permutation(num_rows)[: steps * global_batch_size]
    return order[skip_steps * global_batch_size :]


def build_dataset(
    encoded: Encoded,
    *,
    global_batch_size: int,
    order: np.ndarray | None = None,
    pad_token_id: int = 0,
    shard_policy: tf.data.experimental.AutoShardPolicy = tf.data.experimental.AutoShardPolicy.OFF,
) -> tf.data.Dataset:
    """A dataset of `({"input_ids", "attention_mask"[, "token_type_ids"]}, labels)` batches.

    With `order` (training: see `epoch_order`), rows come in that order in full batches; without it (evaluation,
    prediction), every row in its original order. `shard_policy` is set explicitly: OFF when one worker feeds all
    its replicas (MirroredStrategy splits each global batch), DATA or FILE for several workers.
    """
    training = order is not None
    row_starts = np.concatenate([[0], np.cumsum(encoded.lengths)[:-1]]).astype(np.int64)
    flat_ids = tf.constant(encoded.input_ids, dtype=tf.int32)
    flat_types = (
        tf.constant(encoded.token_type_ids, dtype=tf.int32) if encoded.token_type_ids is not None else None
    )

    def gather(
        start: tf.Tensor, length: tf.Tensor, label: tf.Tensor
    ) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        row = {"input_ids": flat_ids[start : start + length], "length": tf.cast(length, tf.int32)}
        if flat_types is not None:
            row["token_type_ids"] = flat_types[start : start + length]
        return row, label

    rows = order if order is not None else np.arange(len(encoded))
    ds = tf.data.Dataset.from_tensor_slices(
        (row_starts[rows], encoded.lengths[rows], encoded.labels[rows].astype(np.int32))
    )
    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    padded_shapes = {"input_ids": [None], "length": []}
    padding_values = {"input_ids": tf.constant(pad_token_id, tf.int32), "length": tf.constant(0, tf.int32)}
    if flat_types is not None:
        padded_shapes["token_type_ids"] = [None]
        padding_values["token_type_ids"] = tf.constant(0, tf.int32)
    ds = ds.padded_batch(
        global_batch_size,
        padded_shapes=(padded_shapes, []),
        padding_values=(padding_values, tf.constant(0, tf.int32)),
        drop_remainder=training,
    )
    ds = ds.map(_finish_batch(pad_token_id), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = shard_policy
    options.deterministic = True
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def _finish_batch(pad_token_id: int):
    def finish(features: dict[str, tf.Tensor], labels: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        length = tf.shape(features["input_ids"])[1]
        pad = (-length) % PAD_TO_MULTIPLE_OF
        out = {"input_ids": tf.pad(features["input_ids"], [[0, 0], [0, pad]], constant_values=pad_token_id)}
        out["attention_mask"] = tf.sequence_mask(features["length"], length + pad, dtype=tf.int32)
        if "token_type_ids" in features:
            out["token_type_ids"] = tf.pad(features["token_type_ids"], [[0, 0], [0, pad]])
        return out, labels

    return finish
