"""Gradient accumulation: N micro-batches of B make the same optimizer step as one batch of N x B, on one replica
and under MirroredStrategy (2 replicas), in float32 and without dropout; the optimizer steps once per N
micro-batches; --max-grad-norm clips the accumulated gradient."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from trainer.data.labels import LabelMap
from trainer.model.accumulation import add_gradients, trim_padding, use_gradient_accumulation
from trainer.model.build import build_classifier, compile_classifier

LABELS = LabelMap(("food", "sports", "weather"))
ROWS = 16


@pytest.fixture(scope="module")
def no_dropout_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from support.tiny_bert import write_tiny_bert
    from support.toy_data import vocabulary

    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert-no-dropout"), vocabulary(), dropout=0.0)


def rows() -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    """16 rows of different lengths (right-padded to 12), labels 0-2."""
    rng = np.random.default_rng(7)
    lengths = rng.integers(3, 13, size=ROWS)
    ids = np.zeros((ROWS, 12), np.int32)
    for i, length in enumerate(lengths):
        ids[i, :length] = rng.integers(5, 30, size=length)
    features = {"input_ids": tf.constant(ids), "attention_mask": tf.constant((ids != 0).astype(np.int32))}
    return features, tf.constant(rng.integers(0, 3, size=ROWS), tf.int32)


def trained(
    model_path: Path,
    accumulation: int,
    *,
    max_grad_norm: float | None = None,
    steps: int = 2,
    strategy: tf.distribute.Strategy | None = None,
) -> tuple:
    """Weights, optimizer steps and fit history after `steps` optimizer steps over batches of 16 rows."""
    tf.keras.utils.set_random_seed(0)
    with (strategy or tf.distribute.get_strategy()).scope():
        model = build_classifier(model_path, LABELS)
        compile_classifier(
            model,
            learning_rate=1e-2,
            total_steps=10,
            warmup_ratio=0.0,
            weight_decay=0.01,
            max_grad_norm=max_grad_norm,
        )
        use_gradient_accumulation(model, accumulation, pad_multiple=1)
    batch = tf.data.Dataset.from_tensors(rows())
    history = model.fit(batch.repeat(steps), epochs=1, verbose=0) if steps else None
    return [w.numpy() for w in model.trainable_weights], int(model.optimizer.iterations.numpy()), history


def assert_same_update(model_path: Path, strategy: tf.distribute.Strategy | None = None) -> None:
    plain, plain_steps, plain_history = trained(model_path, 1, strategy=strategy)
    accumulated, steps, history = trained(model_path, 4, strategy=strategy)  # 4 micro-batches of 4 rows
    assert plain_steps == steps == 2  # the optimizer steps once per batch of 4 micro-batches
    for expected, actual in zip(plain, accumulated, strict=True):
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)
    assert history.history["loss"][0] == pytest.approx(plain_history.history["loss"][0], rel=1e-4)
    assert history.history["accuracy"][0] == pytest.approx(plain_history.history["accuracy"][0])


@pytest.mark.slow
def test_n_micro_batches_make_the_update_of_one_batch_of_n_times_the_rows(no_dropout_bert: Path) -> None:
    assert_same_update(no_dropout_bert)


TWO_REPLICAS = """
import sys
from pathlib import Path
from trainer.distribute.strategy import configure_devices, make_strategy
configure_devices(2)
sys.path[:0] = [{tests!r}, {here!r}]
import test_accumulation
strategy = make_strategy()
assert strategy.num_replicas_in_sync == 2
test_accumulation.assert_same_update(Path({model!r}), strategy)
print("same update")
"""


@pytest.mark.slow
def test_under_two_replicas_too(no_dropout_bert: Path) -> None:
    """In a process of its own: TensorFlow matches a train function's collectives by their order, and a later
    model in the same process whose gradients are shaped otherwise would meet the earlier shapes."""
    here = Path(__file__).parent
    script = TWO_REPLICAS.format(tests=str(here.parents[2]), here=str(here), model=str(no_dropout_bert))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "same update" in done.stdout, done.stderr[-3000:]


@pytest.mark.slow
def test_max_grad_norm_clips_the_accumulated_gradient_as_it_clips_one_batch(no_dropout_bert: Path) -> None:
    clipped, _, _ = trained(no_dropout_bert, 2, max_grad_norm=1e-3, steps=2)
    plain_clipped, _, _ = trained(no_dropout_bert, 1, max_grad_norm=1e-3, steps=2)
    free, _, _ = trained(no_dropout_bert, 1, steps=2)
    for expected, actual in zip(plain_clipped, clipped, strict=True):
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)
    # Adam's step hardly depends on the gradient's scale; a second step whose gradient is clipped differently
    # from the first does.
    assert max(np.abs(a - b).max() for a, b in zip(clipped, free, strict=True)) > 1e-4


def test_a_micro_batch_is_trimmed_to_its_longest_row_rounded_to_the_multiple() -> None:
    ids = tf.constant([[5, 6, 7, 0, 0, 0, 0, 0], [5, 0, 0, 0, 0, 0, 0, 0]], tf.int32)
    features = {"input_ids": ids, "attention_mask": tf.cast(ids != 0, tf.int32)}
    assert trim_padding(features, 1)["input_ids"].shape == (2, 3)
    assert trim_padding(features, 4)["attention_mask"].shape == (2, 4)
    assert trim_padding(features, 16)["input_ids"].shape == (2, 8)  # never wider than the batch


def test_sparse_gradients_stay_sparse_and_sum_like_dense_ones() -> None:
    a = tf.IndexedSlices(tf.constant([[1.0, 1.0]]), tf.constant([0], tf.int64), tf.constant([3, 2], tf.int64))
    b = tf.IndexedSlices(tf.constant([[2.0, 2.0]]), tf.constant([0], tf.int64), tf.constant([3, 2], tf.int64))
    dense = tf.constant([[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    summed, plain = add_gradients([a, None], [b, dense])
    assert isinstance(summed, tf.IndexedSlices)
    np.testing.assert_allclose(tf.convert_to_tensor(summed).numpy(), [[3.0, 3.0], [0.0, 0.0], [0.0, 0.0]])
    assert plain is dense
    mixed = add_gradients([a], [dense])[0]
    np.testing.assert_allclose(tf.convert_to_tensor(mixed).numpy(), [[1.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
