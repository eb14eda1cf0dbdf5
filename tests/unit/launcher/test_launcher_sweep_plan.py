"""A sweep's trials are planned the same way every time: grid or seeded sample, names from the parameters, each
trial's flags and output."""

import pytest

from launcher.errors import UsageError
from launcher.sweep_plan import combinations, parse_params, plan, trial_name

ARGS = [
    "--model",
    "bert-base-cased",
    "--train-data",
    "s3://d/train.csv",
    "--learning-rate",
    "1e-4",
    "--output",
    "s3://runs/lr-sweep",
]
PARAMS = {"learning-rate": ["1e-5", "3e-5", "5e-5"], "epochs": ["2", "3"]}


def test_the_grid_is_every_combination_in_the_order_given() -> None:
    trials = plan("lr-sweep", PARAMS, ARGS)
    assert [t.params for t in trials] == [
        {"learning-rate": lr, "epochs": ep} for lr in PARAMS["learning-rate"] for ep in PARAMS["epochs"]
    ]
    assert len({t.name for t in trials}) == 6


def test_a_trial_sets_its_flags_and_writes_under_the_sweeps_output() -> None:
    trial = plan("lr-sweep", PARAMS, ARGS)[1]
    assert trial.name.startswith("lr-sweep-") and len(trial.name) == len("lr-sweep-") + 6
    assert trial.output == f"s3://runs/lr-sweep/{trial.name}"
    assert trial.trainer_args == [
        "--model",
        "bert-base-cased",
        "--train-data",
        "s3://d/train.csv",
        "--learning-rate",
        "1e-5",
        "--epochs",
        "3",
        "--output",
        trial.output,
    ]  # the sweep's own --learning-rate 1e-4 is replaced, not repeated


def test_names_depend_only_on_the_parameters() -> None:
    """Adding a value to the grid, or reordering --params, keeps the names of the trials already there."""
    small = {t.name for t in plan("lr-sweep", {"learning-rate": ["1e-5"], "epochs": ["2"]}, ARGS)}
    assert small <= {t.name for t in plan("lr-sweep", PARAMS, ARGS)}
    assert trial_name("s", {"a": "1", "b": "2"}) == trial_name("s", {"b": "2", "a": "1"})
    assert trial_name("s", {"a": "1"}) != trial_name("t", {"a": "1"})


def test_a_random_sample_is_the_same_for_the_same_seed() -> None:
    first = combinations(PARAMS, trials=3, seed=7)
    assert first == combinations(PARAMS, trials=3, seed=7)
    assert len(first) == 3 and len({tuple(c.items()) for c in first}) == 3
    assert any(combinations(PARAMS, trials=3, seed=s) != first for s in range(1, 6))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"learning-rate": ""}, r"is not FLAG=VALUE\[,VALUE\.\.\.\]"),
        ({"output": "a,b"}, "--params output cannot be swept"),
        ({"epochs": "2,2"}, "lists a value twice"),
        ({}, "a sweep needs --params"),
    ],
)
def test_bad_params_are_refused(given: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_params(given)


def test_more_trials_than_combinations_and_other_verbs_are_refused() -> None:
    with pytest.raises(UsageError, match="--trials 7 is more than the 6 combinations"):
        combinations(PARAMS, trials=7, seed=0)
    with pytest.raises(UsageError, match="a sweep runs `train`, not `evaluate`"):
        plan("s", PARAMS, ["evaluate", "--model", "m", "--data", "d.csv", "--output", "s3://o"])
    with pytest.raises(UsageError, match="is too long for a sweep"):
        plan("x" * 60, PARAMS, ARGS)
