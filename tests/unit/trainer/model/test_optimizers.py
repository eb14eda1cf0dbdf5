"""The lazy AdamW touches only the embedding rows a batch uses, and matches dense AdamW on those rows."""

import numpy as np
import pytest
import tensorflow as tf

from trainer.model.optimizers import LazyAdamWeightDecay, build_optimizer


def optimizers(weight_decay: float) -> tuple[tf.keras.optimizers.Optimizer, tf.keras.optimizers.Optimizer]:
    settings = {"learning_rate": 0.1, "total_steps": 100, "warmup_steps": 0, "weight_decay": weight_decay}
    return build_optimizer(optim="adamw", **settings), build_optimizer(optim="adamw_lazy", **settings)


def table(name: str = "word_embeddings") -> tf.Variable:
    return tf.Variable(np.arange(12, dtype=np.float32).reshape(6, 2) / 10, name=name)


def sparse_step(optimizer: tf.keras.optimizers.Optimizer, var: tf.Variable, rows: list[int]) -> None:
    grad = tf.IndexedSlices(
        values=tf.constant([[0.5, -1.0]] * len(rows), tf.float32),
        indices=tf.constant(rows, tf.int64),
        dense_shape=tf.constant(var.shape, tf.int64),
    )
    optimizer.apply_gradients([(grad, var)])


def test_lazy_matches_dense_on_the_rows_used_and_leaves_the_others_alone() -> None:
    dense, lazy = optimizers(weight_decay=0.01)
    assert isinstance(lazy, LazyAdamWeightDecay) and not isinstance(dense, LazyAdamWeightDecay)
    a, b = table(), table()
    before = a.numpy()
    for _ in range(3):
        sparse_step(dense, a, [1, 4, 4])  # a repeated id: its gradients add up, as for a repeated token
        sparse_step(lazy, b, [1, 4, 4])
    used, unused = [1, 4], [0, 2, 3, 5]
    np.testing.assert_allclose(b.numpy()[used], a.numpy()[used], rtol=1e-6)
    assert not np.allclose(b.numpy()[used], before[used])  # they did move
    np.testing.assert_array_equal(b.numpy()[unused], before[unused])  # lazy: untouched
    assert (np.abs(a.numpy()[unused][1:]) < np.abs(before[unused][1:])).all()  # dense: decayed every step
    m = lazy.get_slot(b, "m").numpy()
    assert (m[unused] == 0).all() and (m[used] != 0).all()


def test_no_decay_for_bias_and_layer_norm_as_in_bert() -> None:
    _, lazy = optimizers(weight_decay=0.5)
    bias = table("classifier/bias")
    plain = table("dense/kernel")
    without_decay = table("plain_embeddings")
    _, reference = optimizers(weight_decay=0.0)
    for var, opt in ((bias, lazy), (plain, lazy), (without_decay, reference)):
        sparse_step(opt, var, [2])
    np.testing.assert_allclose(bias.numpy(), without_decay.numpy(), rtol=1e-6)
    assert not np.allclose(plain.numpy()[2], without_decay.numpy()[2])  # decayed


def test_dense_variables_update_exactly_as_adamw() -> None:
    dense, lazy = optimizers(weight_decay=0.01)
    a, b = table("dense/kernel"), table("dense/kernel")
    grad = tf.constant(np.linspace(-1, 1, 12, dtype=np.float32).reshape(6, 2))
    for _ in range(3):
        dense.apply_gradients([(grad, a)])
        lazy.apply_gradients([(grad, b)])
    np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-6)


def test_the_schedule_is_shared() -> None:
    dense, lazy = optimizers(weight_decay=0.01)
    assert float(lazy.learning_rate(50)) == pytest.approx(float(dense.learning_rate(50)))


@pytest.mark.parametrize("optim", ["adamw", "adamw_lazy"])
def test_constant_schedule_and_no_weight_decay_keep_the_legacy_optimizer_family(optim: str) -> None:
    """create_optimizer would return Keras' new Adam without weight decay: another build, another checkpoint."""
    from transformers import AdamWeightDecay

    opt = build_optimizer(
        optim=optim,  # type: ignore[arg-type]
        learning_rate=1e-3,
        total_steps=100,
        warmup_steps=10,
        weight_decay=0.0,
        lr_scheduler_type="constant",
    )
    assert isinstance(opt, AdamWeightDecay)
    rates = [float(opt.learning_rate(step)) for step in (0, 5, 10, 60, 100)]
    assert rates == pytest.approx([0.0, 5e-4, 1e-3, 1e-3, 1e-3])
    var = table("dense/kernel")
    opt._create_all_weights([var])  # what compile_classifier calls so a checkpoint can restore into the slots
    assert opt.get_slot(var, "m").shape == var.shape


@pytest.mark.parametrize("optim", ["adamw", "adamw_lazy"])
def test_max_grad_norm_clips_the_global_norm_of_dense_and_sparse_gradients(optim: str) -> None:
    optimizer = build_optimizer(
        optim=optim, learning_rate=0.1, total_steps=10, warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0
    )
    dense = tf.Variable(tf.zeros([2]))
    rows = table()
    sparse = tf.IndexedSlices(
        tf.constant([[6.0, 0.0]]), tf.constant([1], tf.int64), tf.constant([6, 2], tf.int64)
    )
    clipped = optimizer._transform_gradients([(tf.constant([0.0, 8.0]), dense), (sparse, rows)])
    assert float(tf.linalg.global_norm([g for g, _ in clipped])) == pytest.approx(1.0)  # was 10
    unclipped = build_optimizer(
        optim=optim, learning_rate=0.1, total_steps=10, warmup_steps=0, weight_decay=0.0
    )
    assert unclipped.gradient_transformers == []
