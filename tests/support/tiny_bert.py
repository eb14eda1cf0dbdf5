"""Build a tiny random BERT checkpoint in the layout the Hub ships: PyTorch-named `model.safetensors`.

Nothing can be downloaded here, so the tests make their own "pretrained" model. Its weights are written the way
most Hub models store them (PyTorch names and layouts, `{"format": "pt"}` metadata, a bare `BertModel` body with no
classification head), so loading it goes through the same transformers code path as a real checkpoint, the path
that broke in transformers 4.55.
"""

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def write_tiny_bert(
    dest: Path, words: Iterable[str], *, seed: int = 0, hidden_size: int = 32, dropout: float = 0.1
) -> Path:
    """Write config.json, model.safetensors (PyTorch format), vocab.txt and tokenizer files into `dest`."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf
    from safetensors.numpy import save_file
    from transformers import BertConfig, BertTokenizerFast, TFBertModel
    from transformers.modeling_tf_pytorch_utils import TransposeType, convert_tf_weight_name_to_pt_weight_name

    dest.mkdir(parents=True, exist_ok=True)
    vocab = [*SPECIAL_TOKENS, *sorted({w.lower() for w in words} - set(SPECIAL_TOKENS))]
    (dest / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(
        vocab_file=str(dest / "vocab.txt"), do_lower_case=True, model_max_length=128
    )
    tokenizer.save_pretrained(dest)

    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=128,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        architectures=["BertModel"],
    )
    tf.keras.utils.set_random_seed(seed)
    model = TFBertModel(config)
    model(model.dummy_inputs)
    tensors: dict[str, np.ndarray] = {}
    for weight in model.weights:
        name, transpose = convert_tf_weight_name_to_pt_weight_name(
            weight.name, start_prefix_to_remove="bert.", tf_weight_shape=weight.shape
        )
        value = weight.numpy()
        tensors[name] = np.ascontiguousarray(value.T if transpose is TransposeType.SIMPLE else value)
    save_file(tensors, str(dest / "model.safetensors"), metadata={"format": "pt"})
    config.save_pretrained(dest)
    return dest
