"""What predict publishes: output names per input shard and one JSON line per row."""

import json

import numpy as np
import pytest

from trainer.data.labels import LabelMap
from trainer.outputs.predictions import output_name, prediction_lines


def test_each_input_shard_gets_a_jsonl_output_of_its_base_name() -> None:
    assert output_name("part-00000.csv.gz") == "part-00000.jsonl"
    assert output_name("day=1/part-0.PARQUET") == "day=1/part-0.jsonl"
    assert output_name("reviews.tsv") == "reviews.jsonl"
    assert output_name("notes") == "notes.jsonl"


def test_one_line_per_row_with_the_kept_columns_the_label_and_its_probability() -> None:
    chunk = {"id": ["7", "8"], "text": ["ok", "bad"]}
    logits = np.log(np.array([[0.25, 0.75], [0.9, 0.1]]))
    labels = LabelMap(("neg", "pos"))
    text = prediction_lines(chunk, ["id"], logits, labels, all_probabilities=False)
    assert text.endswith("\n")
    assert [json.loads(line) for line in text.splitlines()] == [
        {"id": "7", "label": "pos", "probability": pytest.approx(0.75)},
        {"id": "8", "label": "neg", "probability": pytest.approx(0.9)},
    ]
    everything = prediction_lines(chunk, ["text"], logits, labels, all_probabilities=True)
    assert json.loads(everything.splitlines()[0])["probabilities"] == {
        "neg": pytest.approx(0.25),
        "pos": pytest.approx(0.75),
    }


def test_a_kept_gold_label_is_written_beside_the_predicted_one() -> None:
    chunk = {"id": ["7"], "label": ["neg"]}
    logits = np.log(np.array([[0.25, 0.75]]))
    text = prediction_lines(chunk, ["id", "label"], logits, LabelMap(("neg", "pos")), all_probabilities=False)
    assert json.loads(text) == {
        "id": "7",
        "input_label": "neg",
        "label": "pos",
        "probability": pytest.approx(0.75),
    }


def test_a_regression_writes_the_score() -> None:
    chunk = {"text": ["ok", "bad"]}
    text = prediction_lines(
        chunk, ["text"], np.array([[3.5], [-0.25]]), LabelMap.regression(), all_probabilities=True
    )
    assert [json.loads(line) for line in text.splitlines()] == [
        {"text": "ok", "score": 3.5},
        {"text": "bad", "score": -0.25},
    ]


def test_multi_label_writes_the_label_set_at_the_threshold_and_every_label_score() -> None:
    chunk = {"id": ["1", "2"]}
    labels = LabelMap(("food", "sports", "weather"), "multi_label_classification")
    probabilities = np.array([[0.9, 0.2, 0.6], [0.1, 0.3, 0.4]])
    logits = np.log(probabilities / (1 - probabilities))
    text = prediction_lines(chunk, ["id"], logits, labels, all_probabilities=False, threshold=0.5)
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["labels"] == ["food", "weather"] and second["labels"] == []
    assert first["scores"] == {
        n: pytest.approx(p) for n, p in zip(labels.names, probabilities[0], strict=True)
    }
    strict = prediction_lines(chunk, ["id"], logits, labels, all_probabilities=False, threshold=0.7)
    assert json.loads(strict.splitlines()[0])["labels"] == ["food"]
