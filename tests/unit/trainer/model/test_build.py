"""The model as compiled for training: loss from logits, warmup schedule, Hub-format checkpoints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from trainer.data.labels import LabelMap
from trainer.distribute.strategy import make_strategy
from trainer.model.build import build_classifier, compile_classifier

LABELS = LabelMap(("food", "sports", "weather"))


def compiled(tiny_bert: Path, total_steps: int = 100, warmup_ratio: float = 0.1, learning_rate: float = 1e-3):
    model = build_classifier(tiny_bert, LABELS)
    compile_classifier(
        model,
        learning_rate=learning_rate,
        total_steps=total_steps,
        warmup_ratio=warmup_ratio,
        weight_decay=0.01,
    )
    return model


def batch() -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    ids = tf.constant([[2, 10, 11, 3, 0, 0, 0, 0], [2, 12, 3, 0, 0, 0, 0, 0]], tf.int32)
    return {"input_ids": ids, "attention_mask": tf.cast(ids != 0, tf.int32)}, tf.constant([0, 2])


def test_the_loss_sees_logits(tiny_bert: Path) -> None:
    model = compiled(tiny_bert)
    x, y = batch()
    logits = model(x, training=False).logits.numpy()
    # The classifier head is linear: its outputs are not probabilities.
    assert not np.allclose(logits.sum(axis=-1), 1.0)
    loss = model.evaluate(tf.data.Dataset.from_tensors((x, y)), verbose=0, return_dict=True)["loss"]
    from_logits = tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True).numpy().mean()
    as_probabilities = (
        tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=False).numpy().mean()
    )
    assert loss == pytest.approx(from_logits, rel=1e-5)
    assert abs(loss - as_probabilities) > 1e-3


def test_learning_rate_warms_up_linearly_then_decays_to_zero(tiny_bert: Path) -> None:
    model = compiled(tiny_bert, total_steps=100, warmup_ratio=0.1)
    schedule = model.optimizer.learning_rate
    rates = [float(schedule(step)) for step in (0, 5, 10, 55, 100)]
    assert rates[0] == pytest.approx(0.0, abs=1e-9)
    assert rates[1] == pytest.approx(5e-4)
    assert rates[2] == pytest.approx(1e-3)
    assert rates[3] == pytest.approx(5e-4)
    assert rates[4] == pytest.approx(0.0, abs=1e-9)


def test_hub_format_checkpoint_loads_its_body_and_gets_a_new_head(tiny_bert: Path) -> None:
    """PyTorch-named model.safetensors, as most Hub models ship (broken in transformers >= 4.55)."""
    from safetensors import safe_open

    with safe_open(str(tiny_bert / "model.safetensors"), "np") as f:
        assert f.metadata() == {"format": "pt"}
        stored = f.get_tensor("embeddings.word_embeddings.weight")
    model = build_classifier(tiny_bert, LABELS)
    model(batch()[0])
    embeddings = next(w for w in model.weights if "word_embeddings" in w.name)
    np.testing.assert_array_equal(embeddings.numpy(), stored)
    assert model.config.id2label == {0: "food", 1: "sports", 2: "weather"}
    assert model.config.num_labels == 3


def test_fit_under_two_replicas_learns_a_batch(tiny_bert: Path) -> None:
    strategy = make_strategy()
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        model = compiled(tiny_bert, total_steps=60, warmup_ratio=0.0, learning_rate=5e-3)
    one_batch = tf.data.Dataset.from_tensors(batch())
    before = model.evaluate(one_batch, verbose=0, return_dict=True)["loss"]
    model.fit(one_batch.repeat(60), epochs=1, verbose=0)
    after = model.evaluate(one_batch, verbose=0, return_dict=True)
    assert after["loss"] < before / 2
    assert after["accuracy"] == 1.0


def test_bf16_computes_in_bfloat16_keeps_float32_weights_and_a_float32_loss(tiny_bert: Path) -> None:
    import tf_keras as keras

    from trainer.model.build import LogitsCrossEntropy

    model = build_classifier(tiny_bert, LABELS, "mixed_bfloat16")
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the build
    compile_classifier(model, learning_rate=1e-3, total_steps=10, warmup_ratio=0.0, weight_decay=0.01)
    x, y = batch()
    logits = model(x, training=False).logits
    assert logits.dtype == tf.bfloat16
    assert {w.dtype for w in model.trainable_weights} == {tf.float32}
    loss = LogitsCrossEntropy()(y, logits)
    assert loss.dtype == tf.float32
    expected = tf.keras.losses.sparse_categorical_crossentropy(
        y, tf.cast(logits, tf.float32), from_logits=True
    )
    assert float(loss) == pytest.approx(float(tf.reduce_mean(expected)), rel=1e-6)
    before = model.evaluate(tf.data.Dataset.from_tensors((x, y)), verbose=0, return_dict=True)["loss"]
    model.fit(tf.data.Dataset.from_tensors((x, y)).repeat(10), epochs=1, verbose=0)
    assert model.evaluate(tf.data.Dataset.from_tensors((x, y)), verbose=0, return_dict=True)["loss"] < before


def test_fp16_gets_dynamic_loss_scaling_that_checkpoints_with_the_optimizer(
    tiny_bert: Path, tmp_path: Path
) -> None:
    import tf_keras as keras

    model = build_classifier(tiny_bert, LABELS, "mixed_float16")
    compile_classifier(model, learning_rate=1e-3, total_steps=10, warmup_ratio=0.0, weight_decay=0.01)
    assert isinstance(model.optimizer, keras.mixed_precision.LossScaleOptimizer)
    model.fit(tf.data.Dataset.from_tensors(batch()).repeat(3), epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 3
    saved = tf.train.Checkpoint(model=model, optimizer=model.optimizer).write(str(tmp_path / "state"))
    again = build_classifier(tiny_bert, LABELS, "mixed_float16")
    compile_classifier(again, learning_rate=1e-3, total_steps=10, warmup_ratio=0.0, weight_decay=0.01)
    tf.train.Checkpoint(model=again, optimizer=again.optimizer).read(saved).assert_existing_objects_matched()
    assert int(again.optimizer.iterations) == 3
    assert float(again.optimizer.loss_scale) == float(model.optimizer.loss_scale)


def test_steps_per_execution_runs_every_step(tiny_bert: Path) -> None:
    model = build_classifier(tiny_bert, LABELS)
    compile_classifier(
        model, learning_rate=1e-3, total_steps=10, warmup_ratio=0.0, weight_decay=0.0, steps_per_execution=4
    )
    ends: list[int] = []
    callback = tf.keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: ends.append(batch))
    model.fit(tf.data.Dataset.from_tensors(batch()).repeat(10), epochs=1, verbose=0, callbacks=[callback])
    assert int(model.optimizer.iterations) == 10
    assert ends == [3, 7, 9]  # what the callbacks see: the last step of each execution


def _compiled_as(tiny_bert: Path, labels: LabelMap, **kwargs):
    model = build_classifier(tiny_bert, labels)
    compile_classifier(
        model,
        learning_rate=1e-3,
        total_steps=10,
        warmup_ratio=0.0,
        weight_decay=0.0,
        problem_type=labels.problem_type,
        **kwargs,
    )
    return model


def _loss(model, x: dict[str, tf.Tensor], y: tf.Tensor) -> float:
    return model.evaluate(tf.data.Dataset.from_tensors((x, y)), verbose=0, return_dict=True)["loss"]


def test_a_regression_has_one_output_and_trains_on_the_squared_error(tiny_bert: Path) -> None:
    model = _compiled_as(tiny_bert, LabelMap.regression())
    x, _ = batch()
    scores = tf.constant([0.5, 4.25])
    predicted = model(x, training=False).logits.numpy()
    assert predicted.shape == (2, 1)
    assert _loss(model, x, scores) == pytest.approx(
        np.mean((predicted[:, 0] - scores.numpy()) ** 2), rel=1e-5
    )


def test_multi_label_trains_each_label_s_sigmoid_on_binary_cross_entropy(tiny_bert: Path) -> None:
    model = _compiled_as(tiny_bert, LabelMap(("food", "sports", "weather"), "multi_label_classification"))
    x, _ = batch()
    targets = np.array([[1, 0, 1], [0, 0, 0]], np.float32)
    logits = model(x, training=False).logits.numpy()
    p = 1 / (1 + np.exp(-logits))
    expected = -np.mean(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    assert _loss(model, x, tf.constant(targets)) == pytest.approx(expected, rel=1e-5)


def test_class_weights_scale_each_row_s_cross_entropy(tiny_bert: Path) -> None:
    model = _compiled_as(tiny_bert, LABELS, class_weights=(2.0, 1.0, 0.5))
    x, y = batch()  # labels 0 and 2
    logits = model(x, training=False).logits.numpy()
    rows = tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True).numpy()
    assert _loss(model, x, y) == pytest.approx((2.0 * rows[0] + 0.5 * rows[1]) / 2, rel=1e-5)


TRACE_TWICE = """
import json, sys
import numpy as np
import tensorflow as tf
from transformers import TFAutoModelForSequenceClassification
from trainer.data.labels import LabelMap
from trainer.model.build import build_classifier

def generated() -> int:
    return sum(name.startswith("__autograph_generated_file") for name in sys.modules)

ids = tf.constant([[2, 10, 11, 3, 0, 0], [2, 12, 3, 0, 0, 0]], tf.int32)
runs = {}
for name, build in (
    ("ours", lambda: build_classifier(sys.argv[1], LabelMap(("a", "b")))),
    ("transformers", lambda: TFAutoModelForSequenceClassification.from_pretrained(sys.argv[1], num_labels=2)),
):
    tf.keras.utils.set_random_seed(7)
    model = build()
    before = generated()
    logits = tf.function(lambda x: model(input_ids=x, attention_mask=tf.cast(x != 0, tf.int32)).logits)(ids)
    runs[name] = {"rewritten": generated() - before, "logits": logits.numpy().tolist()}
print(json.dumps(runs))
"""


def test_the_model_is_traced_as_written_with_the_same_outputs(tiny_bert: Path) -> None:
    """AutoGraph rewrites each function a trace reaches (transformers' whole forward pass) unless told not to:
    3.5 s of MiniLM's first training step. Fresh interpreter: AutoGraph caches what it rewrote."""
    script = subprocess.run(
        [sys.executable, "-c", TRACE_TWICE, str(tiny_bert)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=300,
    )
    assert script.returncode == 0, script.stderr[-3000:]
    runs = json.loads(script.stdout.strip().splitlines()[-1])
    assert runs["ours"]["rewritten"] == 0
    # The same trace of transformers' own model rewrites each layer's functions.
    assert runs["transformers"]["rewritten"] > 10
    np.testing.assert_allclose(runs["ours"]["logits"], runs["transformers"]["logits"], rtol=1e-5, atol=1e-6)
