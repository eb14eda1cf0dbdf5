"""The list grammar both CLIs share: the same items from a flag's text, a variable and a config file string."""

import pytest

from trainer.settings.grammar import items, key_values, nearest, unknown_variable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b", ["a", "b"]),
        (" a , , b ", ["a", "b"]),
        ('"a,b",c', ["a,b", "c"]),  # a JSON string may hold commas
        ('["a,b", "c"]', ["a,b", "c"]),
        ('["x"],y', ["x", "y"]),  # repeated flags are joined with commas: JSON and plain items mix
        ("#1 String,#2 String", ["#1 String", "#2 String"]),
        ("", []),
    ],
)
def test_items(text: str, expected: list[str]) -> None:
    assert items(text) == expected


def test_non_text_values_are_left_to_validation() -> None:
    assert items(["a,b"]) == ["a,b"] and items(None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pool=a100,zone=eu", {"pool": "a100", "zone": "eu"}),
        ("NCCL_IB_HCA=mlx5_0,mlx5_1,NCCL_DEBUG=INFO", {"NCCL_IB_HCA": "mlx5_0,mlx5_1", "NCCL_DEBUG": "INFO"}),
        ("cost=gpu=1", {"cost": "gpu=1"}),
        ('{"pool": "a100"}', {"pool": "a100"}),
        ('team=ml,{"tier": "gold"}', {"team": "ml", "tier": "gold"}),
    ],
)
def test_key_values(text: str, expected: dict[str, str]) -> None:
    assert key_values(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (
            key_values,
            '{"pool": ',
            "'{\"pool\":' is not valid JSON (Expecting value); or write the flag's syntax",
        ),
        (key_values, "novalue", "'novalue' is not KEY=VALUE"),
        (items, '["a"]x', "'[\"a\"]x': a JSON value must be followed by a comma or the end, not 'x'"),
    ],
)
def test_malformed_values_are_one_line(parse: object, text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse(text)  # type: ignore[operator]
    assert str(error.value) == message


def test_unknown_variables_get_the_nearest_name() -> None:
    known = ["TRAINER_EPOCHS", "TRAINER_LABELS"]
    assert unknown_variable({"TRAINER_EPOCHS": "3", "PATH": "/bin"}, "TRAINER_", known) is None
    assert unknown_variable({"TRAINER_EPOCHZ": "3"}, "TRAINER_", known) == (
        "unknown environment variable TRAINER_EPOCHZ (did you mean TRAINER_EPOCHS?); unset it"
    )
    assert nearest("zzz", known) == ""
