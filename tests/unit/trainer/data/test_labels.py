"""The label map, label inference and the stratified evaluation split: pure, no TensorFlow."""

import numpy as np
import pytest

from trainer.data.labels import (
    LabelCollector,
    LabelMap,
    balanced_weights,
    infer_label_map,
    is_continuous,
    split_for_eval,
)
from trainer.data.tokens import Encoded
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


def test_non_integer_numbers_are_a_regression_integer_valued_ones_stay_classes() -> None:
    assert is_continuous(["0.5", "3", "4.25"])
    assert not is_continuous(["1", "2", "3"])  # integer-valued (1.0 reads as "1")
    assert not is_continuous(["0.5", "pos"])
    assert not is_continuous(["nan", "0.5"])  # not finite: a class name


def test_the_collector_infers_regression_and_relabels_rows_to_their_scores() -> None:
    collector = LabelCollector()
    rows = np.concatenate([collector(["0.5", "4.25"], "x"), collector(["3", "0.5"], "x")])
    labels = collector.label_map()
    assert labels == LabelMap(("score",), "regression")
    encoded = collector.relabel(_rows(rows), labels)
    assert encoded.labels.dtype == np.float32 and encoded.labels.tolist() == [0.5, 4.25, 3.0, 0.5]


def test_forced_regression_rejects_labels_that_are_not_numbers() -> None:
    collector = LabelCollector("regression")
    collector(["1", "2", "good"], "x")
    with pytest.raises(DataError) as caught:
        collector.relabel(_rows(np.arange(3)), collector.label_map())
    assert str(caught.value) == (
        "the training data has 1 label(s) that are not numbers: 'good'; a regression needs a numeric label "
        "column: fix the data, --label-column or --problem-type"
    )
    assert LabelMap.regression().encode(["1.5", "2"], source="y").tolist() == [1.5, 2.0]


def test_lists_make_the_collector_multi_label_with_multi_hot_rows() -> None:
    collector = LabelCollector()
    first = collector(["sports", ["weather", "food"]], "x")
    second = collector([[], ["sports", "weather"]], "x")
    labels = collector.label_map()
    assert labels == LabelMap(("food", "sports", "weather"), "multi_label_classification")
    encoded = collector.relabel(_rows(np.concatenate([second, first])), labels)
    assert encoded.labels.dtype == np.uint8
    assert encoded.labels.tolist() == [[0, 0, 0], [0, 1, 1], [0, 1, 0], [1, 0, 1]]


def test_lists_under_a_single_label_problem_type_name_the_fix() -> None:
    collector = LabelCollector("single_label_classification")
    collector([["a", "b"], "a"], "x")
    with pytest.raises(DataError, match="pass --problem-type multi_label_classification"):
        collector.label_map()


def test_a_multi_label_map_encodes_label_sets_and_rejects_strangers() -> None:
    labels = LabelMap(("a", "b"), "multi_label_classification")
    assert labels.encode([["b"], [], "a", ["a", "b"]], source="x").tolist() == [
        [0, 1],
        [0, 0],
        [1, 0],
        [1, 1],
    ]
    with pytest.raises(DataError, match=r"1 label\(s\) not in the training labels \['a', 'b'\]: 'c'"):
        labels.encode([["a", "c"]], source="evaluation data")
    with pytest.raises(DataError, match="needs --problem-type multi_label_classification"):
        LabelMap(("a", "b")).encode([["a", "b"]], source="training data")


def test_balanced_weights_make_rare_classes_weigh_as_much_as_common_ones() -> None:
    weights = balanced_weights(np.array([0] * 6 + [1] * 2), 3)
    assert weights == pytest.approx((8 / (3 * 6), 8 / (3 * 2), 1.0))


def _rows(rows: np.ndarray) -> Encoded:
    return Encoded(np.zeros(0, np.int32), None, np.zeros(len(rows), np.int64), rows)


def test_the_log_describes_each_problem_type() -> None:
    assert LabelMap(("neg", "pos")).describe() == "2 labels ['neg', 'pos']"
    assert LabelMap(("a", "b"), "multi_label_classification").describe() == "multi-label, 2 labels ['a', 'b']"
    assert LabelMap.regression().describe() == "a regression (one score)"
