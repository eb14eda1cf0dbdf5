"""`--bf16 auto|true|false`: alone it means true, `--no-bf16` false, TRAINER_BF16 sets it; auto by default."""

import pytest

from trainer.settings.parse import InvalidSettings, expand_optional_values, parse

REQUIRED = ["--model", "m", "--train-data", "s3://b/train.csv", "--output", "s3://b/out"]


@pytest.mark.parametrize(
    ("flags", "bf16", "fp16"),
    [
        ([], "auto", False),
        (["--bf16"], True, False),
        (["--bf16", "--epochs", "2"], True, False),
        (["--no-bf16"], False, False),
        (["--bf16", "auto"], "auto", False),
        (["--bf16", "true"], True, False),
        (["--bf16=false"], False, False),
        (["--bf16", "off"], False, False),
        (["--fp16"], "auto", True),  # --fp16 overrides auto: no conflict
        (["--no-bf16", "--fp16"], False, True),
    ],
)
def test_bf16_values(flags: list[str], bf16: object, fp16: bool) -> None:
    settings = parse("train", [*REQUIRED, *flags])
    assert settings.bf16 == bf16 and type(settings.bf16) is type(bf16)
    assert settings.fp16 is fp16


def test_bf16_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINER_BF16", "auto")
    assert parse("train", REQUIRED).bf16 == "auto"
    monkeypatch.setenv("TRAINER_BF16", "false")
    assert parse("train", REQUIRED).bf16 is False
    assert parse("train", [*REQUIRED, "--bf16"]).bf16 is True  # a flag beats the environment


def test_bad_bf16_values_and_the_fp16_conflict_are_one_line() -> None:
    with pytest.raises(InvalidSettings) as raised:
        parse("train", [*REQUIRED, "--bf16", "maybe"])
    assert str(raised.value) == "--bf16 (TRAINER_BF16): takes auto, true or false (got 'maybe')"
    with pytest.raises(InvalidSettings) as raised:
        parse("train", [*REQUIRED, "--bf16", "--fp16"])
    assert str(raised.value) == "settings: --bf16 and --fp16 exclude each other: choose one"


def test_only_a_bare_flag_is_given_its_value() -> None:
    assert expand_optional_values(["--bf16"]) == ["--bf16=true"]
    assert expand_optional_values(["--bf16", "auto", "--no-bf16"]) == ["--bf16", "auto", "--bf16=false"]
    assert expand_optional_values(["--no-fp16", "--bf16", "--fp16"]) == ["--no-fp16", "--bf16=true", "--fp16"]
