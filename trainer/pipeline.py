"""Build tf.data pipelines from tokenized rows: shuffle, length grouping, per-batch padding, sharding, prefetch.

Pure: takes arrays, returns a `tf.data.Dataset` or an order of rows; no network, and files only as the
memory-mapped token arrays it is handed. Rows are padded only to the longest row of their batch (rounded up to the
plan's multiple: 8 on GPUs, for tensor cores), not to the longest row of the data set, which is where most of the
naive recipe's compute goes. Grouping rows of similar length into batches cuts the padding further; it is done so
batches stay random (see `epoch_order`), which is what keeps accuracy. Only per-row columns (offset, length, label:
20 bytes a row) are ever copied into the pipeline; the token ids are either one in-memory tensor or read per batch.
"""

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from trainer.data.tokens import Encoded
from trainer.distribute.plan import PAD_TO_MULTIPLE_OF, RunPlan, steps_per_epoch

Batch = tuple[dict[str, tf.Tensor], tf.Tensor]
RowsToBatch = Callable[[tf.Tensor, tf.Tensor, tf.Tensor], Batch]
"""(row offsets, lengths, labels) of one batch -> its features (ids padded to the longest row, lengths) and labels."""

LENGTH_GROUP_BATCHES = 16
"""Group by length within windows of this many batches of shuffled rows. Hugging Face's LengthGroupedSampler uses
50; a smaller window keeps batches more varied, and on SST-2 it computed only 5% more padded tokens than 50 (18.1
against 17.2 per row at batch 32; random batches: 43.5)."""

PREFETCH_BATCHES = 2
MAP_PARALLELISM = 2
"""tf.data's AUTOTUNE is not used. With it, 13 of 15 timed runs on the 2-core benchmark machine stalled once for
8-9 s with every thread idle (usually between epochs); with these fixed values, none of the runs since did
(benchmarks/README.md, "Idle stalls"). A batch takes well under a millisecond to build (over 2,500 batches/s
either way), so there is nothing for the tuner to win: two batches ahead and two in flight keep any step fed."""


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


def build_dataset(
    encoded: Encoded,
    *,
    global_batch_size: int,
    order: np.ndarray | None = None,
    drop_remainder: bool = False,
    pad_token_id: int = 0,
    pad_to_multiple_of: int = PAD_TO_MULTIPLE_OF,
    buckets: Sequence[int] | None = None,
    shard_policy: tf.data.experimental.AutoShardPolicy = tf.data.experimental.AutoShardPolicy.OFF,
    in_memory: bool = True,
) -> tf.data.Dataset:
    """A dataset of `({"input_ids", "attention_mask"[, "token_type_ids"]}, labels)` batches.

    Rows come in `order` (training: see `epoch_order`; evaluation: `length_sorted`), or in their original order
    without it. Each batch is padded to its longest row rounded up to `pad_to_multiple_of`, or, with `buckets`
    (XLA), to the smallest bucket length that holds it. `shard_policy` is set explicitly: OFF when one worker
    feeds all its replicas (MirroredStrategy splits each global batch), DATA or FILE for several workers.
    `in_memory` False reads each batch's rows from the (memory-mapped) token arrays instead of copying all of
    them into a TensorFlow tensor: for data larger than memory (`plan.keep_in_memory`).
    """
    rows = order if order is not None else np.arange(len(encoded))
    columns = (encoded.offsets[rows], encoded.lengths[rows], label_column(encoded.labels[rows]))
    rows_of_batch = (
        _gather_in_graph(encoded, pad_token_id) if in_memory else _read_mapped(encoded, pad_token_id)
    )
    ds = tf.data.Dataset.from_tensor_slices(columns).batch(global_batch_size, drop_remainder=drop_remainder)
    ds = ds.map(rows_of_batch, num_parallel_calls=MAP_PARALLELISM, deterministic=True)
    finish = _finish_batch(pad_token_id, pad_to_multiple_of, buckets)
    ds = ds.map(finish, num_parallel_calls=MAP_PARALLELISM, deterministic=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = shard_policy
    options.deterministic = True
    options.autotune.enabled = False
    return ds.with_options(options).prefetch(PREFETCH_BATCHES)


def label_column(labels: np.ndarray) -> np.ndarray:
    """Labels as the model's loss takes them: class ids int32, scores and label sets float32."""
    return labels.astype(np.float32 if labels.dtype.kind in "fub" else np.int32)


def planned_dataset(
    encoded: Encoded,
    plan: RunPlan,
    *,
    order: np.ndarray,
    shard_policy: tf.data.experimental.AutoShardPolicy,
    drop_remainder: bool = False,
    batch_size: int | None = None,
) -> tf.data.Dataset:
    """`build_dataset` with the plan's global batch (or `batch_size` rows), pad id, padding multiple, XLA buckets
    and in-memory choice: training and inference batch the same way."""
    return build_dataset(
        encoded,
        global_batch_size=batch_size or plan.global_batch,
        order=order,
        drop_remainder=drop_remainder,
        pad_token_id=plan.pad_token_id,
        pad_to_multiple_of=plan.pad_to_multiple_of,
        buckets=plan.buckets,
        shard_policy=shard_policy,
        in_memory=plan.in_memory,
    )


def _gather_in_graph(encoded: Encoded, pad_token_id: int) -> RowsToBatch:
    """Token ids held in memory: each batch's rows gathered and padded in one vectorized op in the graph."""
    flat_ids = tf.constant(encoded.input_ids)
    flat_types = tf.constant(encoded.token_type_ids) if encoded.token_type_ids is not None else None

    def gather(starts: tf.Tensor, lengths: tf.Tensor, labels: tf.Tensor) -> Batch:
        lengths = tf.cast(lengths, tf.int32)
        columns = tf.range(tf.reduce_max(lengths))
        valid = columns[None, :] < lengths[:, None]
        positions = tf.where(valid, starts[:, None] + tf.cast(columns, tf.int64)[None, :], 0)
        ids = tf.where(valid, tf.cast(tf.gather(flat_ids, positions), tf.int32), pad_token_id)
        features = {"input_ids": ids, "length": lengths}
        if flat_types is not None:
            features["token_type_ids"] = tf.where(
                valid, tf.cast(tf.gather(flat_types, positions), tf.int32), 0
            )
        return features, labels

    return gather


def _read_mapped(encoded: Encoded, pad_token_id: int) -> RowsToBatch:
    """Token ids memory-mapped from disk: one NumPy call per batch reads its rows (the OS pages them in and out),
    so the data set may be far larger than memory. The per-row columns are all the pipeline holds."""
    flat_ids, flat_types = encoded.input_ids, encoded.token_type_ids

    def read(starts: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        width = int(lengths.max()) if len(lengths) else 0
        positions = starts[:, None] + np.arange(width)[None, :]
        valid = np.arange(width)[None, :] < lengths[:, None]
        positions = np.where(valid, positions, 0)
        out = [np.where(valid, flat_ids[positions], pad_token_id).astype(np.int32)]
        if flat_types is not None:
            out.append(np.where(valid, flat_types[positions], 0).astype(np.int32))
        return out

    def batch(starts: tf.Tensor, lengths: tf.Tensor, labels: tf.Tensor) -> Batch:
        outputs = [tf.int32] * (2 if flat_types is not None else 1)
        arrays = tf.numpy_function(read, [starts, lengths], outputs, stateful=False)
        features = {"input_ids": arrays[0], "length": tf.cast(lengths, tf.int32)}
        if flat_types is not None:
            features["token_type_ids"] = arrays[1]
        for name in ("input_ids", "token_type_ids"):
            if name in features:
                features[name].set_shape([None, None])
        return features, labels

    return batch


def _finish_batch(pad_token_id: int, multiple: int, buckets: Sequence[int] | None):
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
