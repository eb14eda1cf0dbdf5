"""The label map, label inference and the stratified evaluation split: pure, no TensorFlow."""

import numpy as np
import pytest

from trainer.data.labels import LabelMap, infer_label_map, split_for_eval
from trainer.errors import DataError


def test_integer_labels_sort_numerically_and_strings_alphabetically() -> None:
    assert infer_label_map(["10", "2", "1", "2"], None).names == ("1", "2", "10")
    assert infer_label_map(["neg", "pos", "neutral"], None).names == ("neg", "neutral", "pos")
    assert infer_label_map(["a", "b"], ["b", "a", "c"]).label2id == {"b": 0, "a": 1, "c": 2}


def test_one_label_is_too_few() -> None:
    with pytest.raises(DataError, match=r"1 distinct label\(s\) \(pos\); a classifier needs at least two"):
        infer_label_map(["pos", "pos"], None)


def test_eval_split_is_stratified_and_deterministic() -> None:
    labels = np.array([0] * 80 + [1] * 20)
    train, evaluation = split_for_eval(labels, 0.1, seed=3)
    assert len(evaluation) == 10 and (labels[evaluation] == 1).sum() == 2
    assert len(train) + len(evaluation) == 100
    assert set(train.tolist()).isdisjoint(evaluation.tolist())
    assert (np.diff(train) > 0).all() and (np.diff(evaluation) > 0).all()  # row order kept
    assert split_for_eval(labels, 0.1, seed=3)[1].tolist() == evaluation.tolist()
    assert split_for_eval(labels, 0.1, seed=4)[1].tolist() != evaluation.tolist()
    with pytest.raises(DataError, match="leaves no evaluation rows"):
        split_for_eval(np.array([0, 1]), 0.1, seed=3)


def test_an_unknown_label_names_the_source_the_strangers_and_the_labels_there_are() -> None:
    labels = LabelMap(("neg", "pos"))
    assert labels.encoder()(["pos", "neg"], "x").tolist() == [1, 0]
    with pytest.raises(DataError) as training:
        labels.encode(["pos", "meh"], source="evaluation data")
    assert str(training.value) == (
        "evaluation data has 1 label(s) not in the training labels ['neg', 'pos']: 'meh'; "
        "fix the data or pass the full set with --labels"
    )
    with pytest.raises(DataError) as trained:
        labels.encoder(known_as="model")(
            ["a", "b", "c", "d", "e", "f", "pos"], "evaluation data s3://b/dev.csv"
        )
    assert str(trained.value) == (
        "evaluation data s3://b/dev.csv has 6 label(s) the model was not trained on: 'a', 'b', 'c', 'd', 'e' ...; "
        "the model's labels are ['neg', 'pos']: fix --label-column or the data"
    )
