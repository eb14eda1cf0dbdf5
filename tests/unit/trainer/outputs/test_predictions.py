"""What predict publishes: output names per input shard and one JSON line per row."""

import json

import numpy as np

from trainer.outputs.predictions import output_name, prediction_lines


def test_each_input_shard_gets_a_jsonl_output_of_its_base_name() -> None:
    assert output_name("part-00000.csv.gz") == "part-00000.jsonl"
    assert output_name("day=1/part-0.PARQUET") == "day=1/part-0.jsonl"
    assert output_name("reviews.tsv") == "reviews.jsonl"
    assert output_name("notes") == "notes.jsonl"


def test_one_line_per_row_with_the_kept_columns_the_label_and_its_probability() -> None:
    chunk = {"id": ["7", "8"], "text": ["ok", "bad"]}
    probabilities = np.array([[0.25, 0.75], [0.9, 0.1]])
    text = prediction_lines(chunk, ["id"], probabilities, ("neg", "pos"), all_probabilities=False)
    assert text.endswith("\n")
    assert [json.loads(line) for line in text.splitlines()] == [
        {"id": "7", "label": "pos", "probability": 0.75},
        {"id": "8", "label": "neg", "probability": 0.9},
    ]
    everything = prediction_lines(chunk, ["text"], probabilities, ("neg", "pos"), all_probabilities=True)
    assert json.loads(everything.splitlines()[0])["probabilities"] == {"neg": 0.25, "pos": 0.75}
