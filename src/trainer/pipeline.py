"""Build tf.data pipelines from tokenized rows: shuffle, length grouping, per-batch padding, sharding, prefetch.

Pure: takes arrays, returns a `tf.data.Dataset` or an order of rows; no files, no network. Rows are padded only to
the longest row of their batch (rounded up to a multiple of 8 for tensor cores), not to the longest row of the
data set, which is where most of the naive recipe's compute goes. Grouping rows of similar length into batches
cuts the padding further; it is done so batches stay random (see `epoch_order`), which is what keeps accuracy.
"""

import math

import numpy as np
import tensorflow as tf

from trainer.data import Encoded

PAD_TO_MULTIPLE_OF = 8
"""Tensor cores want sequence dimensions in multiples of 8 (NVIDIA's mixed-precision guide): the GPU default."""

LENGTH_GROUP_BATCHES = 16
"""Group by length within windows of this many batches of shuffled rows. Hugging Face's LengthGroupedSampler uses
50; a smaller window keeps batches more varied, and on SST-2 it computed only 5% more padded tokens than 50 (18.1
against 17.2 per row at batch 32; random batches: 43.5)."""

MIN_BUCKET_LENGTH = 16


def pad_multiple(requested: int | None, *, gpus: bool) -> int:
    """The batch-length multiple: as requested, else 8 on GPUs and 1 on CPUs (no tensor cores to feed; on SST-2
    rounding to 8 computed 21% more tokens and trained 18% slower on a 2-core CPU: benchmarks/README.md)."""
    if requested is not None:
        return requested
    return PAD_TO_MULTIPLE_OF if gpus else 1


def steps_per_epoch(num_rows: int, global_batch_size: int, *, drop_remainder: bool) -> int:
    """Optimizer steps one pass over `num_rows` takes at this global batch size."""
    if drop_remainder:
        return num_rows // global_batch_size
    return math.ceil(num_rows / global_batch_size)


def epoch_order(
    num_rows: int,
    global_batch_size: int,
    *,
    seed: int,
    epoch: int,
    skip_steps: int = 0,
    lengths: np.ndarray | None = None,
) -> np.ndarray:
    """The rows of one training epoch, in order: a permutation drawn from `(seed, epoch)` alone.

    Because the order depends on nothing but the seed and the epoch number (not on how often a dataset was
    iterated in this process), a run resumed at step `skip_steps` of an epoch trains exactly the batches the
    interrupted run had not reached. The last partial batch is dropped so every step splits evenly over replicas.

    With `lengths` (group by length), the shuffled rows are cut into windows of `LENGTH_GROUP_BATCHES` batches,
    each window is sorted by length and cut into batches, and the batches of the whole epoch are shuffled: every
    batch is a random sample of similar length, and batch lengths come in random order. The batch holding the
    longest row goes first, so a batch that does not fit in memory fails at the first step, not hours in.
    """
    rng = np.random.default_rng([seed, epoch])
    steps = steps_per_epoch(num_rows, global_batch_size, drop_remainder=True)
    order = rng.permutation(num_rows)[: steps * global_batch_size]
    if lengths is not None and steps > 1:
        window = LENGTH_GROUP_BATCHES * global_batch_size
        order = np.concatenate(
            [
                chunk[np.argsort(-lengths[chunk], kind="stable")]
                for chunk in np.split(order, range(window, len(order), window))
            ]
        )
        batches = order.reshape(steps, global_batch_size)
        shuffled = rng.permutation(steps)
        longest = int(np.argmax(lengths[batches].max(axis=1)))
        shuffled = np.concatenate([[longest], shuffled[shuffled != longest]])
        order = batches[shuffled].reshape(-1)
    return order[skip_steps * global_batch_size :]


def length_sorted(lengths: np.ndarray) -> np.ndarray:
    """Rows shortest first: the evaluation order with the least padding (metrics do not depend on order)."""
    return np.argsort(lengths, kind="stable")


def bucket_lengths(max_length: int, pad_to_multiple_of: int = PAD_TO_MULTIPLE_OF) -> list[int]:
    """The few lengths batches are padded to under XLA (which compiles once per shape): 16, 32, 64, ... and
    --max-length itself (rounded up to the multiple), so a run compiles at most about log2(max_length/8) shapes."""
    top = -(-max_length // pad_to_multiple_of) * pad_to_multiple_of
    buckets = []
    length = MIN_BUCKET_LENGTH
    while length < top:
        buckets.append(length)
        length *= 2
    return [*buckets, top]


def build_dataset(
    encoded: Encoded,
    *,
    global_batch_size: int,
    order: np.ndarray | None = None,
    drop_remainder: bool = False,
    pad_token_id: int = 0,
    pad_to_multiple_of: int = PAD_TO_MULTIPLE_OF,
    buckets: list[int] | None = None,
    shard_policy: tf.data.experimental.AutoShardPolicy = tf.data.experimental.AutoShardPolicy.OFF,
) -> tf.data.Dataset:
    """A dataset of `({"input_ids", "attention_mask"[, "token_type_ids"]}, labels)` batches.

    Rows come in `order` (training: see `epoch_order`; evaluation: `length_sorted`), or in their original order
    without it. Each batch is padded to its longest row rounded up to `pad_to_multiple_of`, or, with `buckets`
    (XLA), to the smallest bucket length that holds it. `shard_policy` is set explicitly: OFF when one worker
    feeds all its replicas (MirroredStrategy splits each global batch), DATA or FILE for several workers.
    """
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
        drop_remainder=drop_remainder,
    )
    finish = _finish_batch(pad_token_id, pad_to_multiple_of, buckets)
    ds = ds.map(finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = shard_policy
    options.deterministic = True
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def _finish_batch(pad_token_id: int, multiple: int, buckets: list[int] | None):
    bucket_table = tf.constant(buckets or [0], tf.int32)

    def finish(features: dict[str, tf.Tensor], labels: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        length = tf.shape(features["input_ids"])[1]
        if buckets:
            index = tf.searchsorted(bucket_table, tf.reshape(length, [1]), side="left")[0]
            pad = bucket_table[tf.minimum(index, len(buckets) - 1)] - length
        else:
            pad = (-length) % multiple
        out = {"input_ids": tf.pad(features["input_ids"], [[0, 0], [0, pad]], constant_values=pad_token_id)}
        out["attention_mask"] = tf.sequence_mask(features["length"], length + pad, dtype=tf.int32)
        if "token_type_ids" in features:
            out["token_type_ids"] = tf.pad(features["token_type_ids"], [[0, 0], [0, pad]])
        return out, labels

    return finish
