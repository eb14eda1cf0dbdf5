"""Build the classifier (pretrained body + new head) and compile it with a loss that matches its outputs.

Hugging Face's TF sequence classifiers return logits, not probabilities, so the loss is built with
`from_logits=True`; compiling it the other way trains silently worse (transformers #2680, #3389).
"""

import logging
from pathlib import Path

import tf_keras as keras
from transformers import TFAutoModelForSequenceClassification, TFPreTrainedModel, create_optimizer

from trainer.data import LabelMap

log = logging.getLogger(__name__)


def build_classifier(model_path: Path | str, labels: LabelMap) -> TFPreTrainedModel:
    """Load the pretrained body with a fresh classification head for `labels`; call inside `strategy.scope()`."""
    return TFAutoModelForSequenceClassification.from_pretrained(
        str(model_path),
        num_labels=len(labels),
        id2label=labels.id2label,
        label2id=labels.label2id,
    )


def warmup_steps(total_steps: int, warmup_ratio: float) -> int:
    return int(total_steps * warmup_ratio)


def compile_classifier(
    model: TFPreTrainedModel,
    *,
    learning_rate: float,
    total_steps: int,
    warmup_ratio: float,
    weight_decay: float,
) -> None:
    """AdamW with linear warmup then linear decay to zero, a from-logits loss and an accuracy metric."""
    optimizer, _schedule = create_optimizer(
        init_lr=learning_rate,
        num_train_steps=total_steps,
        num_warmup_steps=warmup_steps(total_steps, warmup_ratio),
        weight_decay_rate=weight_decay,
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
