"""The serving SavedModel: its signature answers like the Keras model, with nothing but TensorFlow."""

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
from trainer.model import serving
from trainer.model.build import build_classifier

LABELS = LabelMap(("food", "sports", "weather"))


@pytest.fixture(scope="module")
def mirrored_model(tiny_bert: Path):
    strategy = make_strategy()
    assert strategy.num_replicas_in_sync == 2  # the model is mirrored, as in a training run
    with strategy.scope():
        model = build_classifier(tiny_bert, LABELS)
    return model


def _batch(tiny_bert: Path) -> dict[str, np.ndarray]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert))
    enc = tokenizer(["the pasta was very good", "rain and snow", "goal"], padding=True, return_tensors="np")
    return {
        "input_ids": enc["input_ids"].astype(np.int32),
        "attention_mask": enc["attention_mask"].astype(np.int32),
    }


def test_serving_signature_matches_keras_logits(mirrored_model, tiny_bert: Path, tmp_path: Path) -> None:
    dest = serving.export_saved_model(mirrored_model, tmp_path / "saved_model", LABELS.names)
    batch = _batch(tiny_bert)
    expected = mirrored_model(batch, training=False).logits.numpy()

    loaded = tf.saved_model.load(str(dest))
    serve = loaded.signatures["serving_default"]
    assert {k: (v.dtype, v.shape.as_list()) for k, v in serve.structured_input_signature[1].items()} == {
        "input_ids": (tf.int32, [None, None]),
        "attention_mask": (tf.int32, [None, None]),
    }
    out = serve(
        input_ids=tf.constant(batch["input_ids"]), attention_mask=tf.constant(batch["attention_mask"])
    )
    assert set(out) == {"logits", "probabilities"}
    np.testing.assert_allclose(out["logits"].numpy(), expected, rtol=1e-4, atol=1e-5)
    probabilities = out["probabilities"].numpy()
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(probabilities.argmax(-1), expected.argmax(-1))
    assert [n.decode() for n in loaded.label_names.numpy()] == list(LABELS.names)
    # BERT takes token type ids, so sentence pairs have their signature; the default one is it with all-zero types.
    pairs = loaded.signatures[serving.PAIR_SIGNATURE]
    second = np.zeros_like(batch["input_ids"])
    second[:, 3:] = 1
    with_types = pairs(
        input_ids=tf.constant(batch["input_ids"]),
        attention_mask=tf.constant(batch["attention_mask"]),
        token_type_ids=tf.constant(second),
    )["logits"].numpy()
    np.testing.assert_allclose(
        with_types,
        mirrored_model({**batch, "token_type_ids": second}, training=False).logits.numpy(),
        rtol=1e-4,
        atol=1e-5,
    )
    assert not np.allclose(with_types, expected)


def test_serving_folder_loads_with_tensorflow_alone(mirrored_model, tiny_bert: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    folder = serving.write_serving_folder(
        mirrored_model, AutoTokenizer.from_pretrained(str(tiny_bert)), LABELS.names, tmp_path / "serving"
    )
    assert (folder / "saved_model" / "saved_model.pb").is_file()
    assert (folder / "tokenizer.json").is_file() and (folder / "vocab.txt").is_file()
    assert json.loads((folder / "labels.json").read_text()) == list(LABELS.names)
    batch = _batch(tiny_bert)
    expected = mirrored_model(batch, training=False).logits.numpy()
    np.save(tmp_path / "ids.npy", batch["input_ids"])
    np.save(tmp_path / "mask.npy", batch["attention_mask"])
    # A fresh interpreter that imports TensorFlow only (no transformers, no legacy Keras switch) serves the model.
    script = f"""
import sys, numpy as np, tensorflow as tf
serve = tf.saved_model.load({str(folder / "saved_model")!r}).signatures["serving_default"]
out = serve(input_ids=tf.constant(np.load({str(tmp_path / "ids.npy")!r})),
            attention_mask=tf.constant(np.load({str(tmp_path / "mask.npy")!r})))
np.save({str(tmp_path / "logits.npy")!r}, out["logits"].numpy())
assert not [m for m in sys.modules if m.startswith("transformers")], "imported transformers"
"""
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "logits.npy"), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("labels", "outputs"),
    [
        (LabelMap.regression(), {"logits", "score"}),
        (LabelMap(("food", "sports", "weather"), "multi_label_classification"), {"logits", "probabilities"}),
    ],
    ids=["regression", "multi-label"],
)
def test_the_signature_answers_by_the_problem_type(
    labels: LabelMap, outputs: set[str], tiny_bert: Path, tmp_path: Path
) -> None:
    model = build_classifier(tiny_bert, labels)
    assert model.config.problem_type == labels.problem_type  # stored with the model, read back by the export
    batch = _batch(tiny_bert)
    expected = model(batch, training=False).logits.numpy()
    serve = tf.saved_model.load(str(serving.export_saved_model(model, tmp_path / "sm", labels.names)))
    out = serve.signatures["serving_default"](
        input_ids=tf.constant(batch["input_ids"]), attention_mask=tf.constant(batch["attention_mask"])
    )
    assert set(out) == outputs
    if labels.problem_type == "regression":
        assert out["logits"].shape == (3, 1)
        np.testing.assert_allclose(out["score"].numpy(), expected[:, 0], rtol=1e-4, atol=1e-5)
    else:  # each label's sigmoid, not a softmax over the labels
        np.testing.assert_allclose(
            out["probabilities"].numpy(), tf.sigmoid(expected).numpy(), rtol=1e-4, atol=1e-6
        )
