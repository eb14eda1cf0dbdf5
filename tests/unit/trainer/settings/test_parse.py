"""A verb's settings from flags, TRAINER_* variables and the config file, in that order; mistakes are one line."""

from pathlib import Path

import pytest

from trainer.settings.parse import InvalidSettings, check_settings, parse

REQUIRED = ["--model", "m", "--train-data", "t.csv", "--output", "out"]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 5\nlabels: [neg, pos]\nmax_length: 64\ntext_column: 'title,body'\n")
    return path


def test_flags_beat_variables_beat_the_config_file(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINER_MAX_LENGTH", "96")
    settings = parse("train", [*REQUIRED, "--config", str(config), "--epochs", "7"])
    assert (settings.epochs, settings.max_length, settings.labels) == (7, 96, ["neg", "pos"])
    assert settings.text_column == ["title", "body"]  # a config string takes the variable's comma list


def test_the_config_file_from_the_environment_serves_every_verb(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAINER_CONFIG", str(config))
    assert parse("train", REQUIRED).epochs == 5
    evaluate = parse(
        "evaluate", ["--model", "m", "--data", "d.csv", "--output", "o"]
    )  # epochs: not its setting
    assert evaluate.max_length == 64


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("epochz: 3\n", "config file {path}: unknown setting 'epochz' (did you mean epochs?)"),
        ("[epochs, 3]\n", "config file {path} must be a mapping of setting names to values"),
        ("epochs: [unclosed\n", "config file {path} is not valid YAML: "),
        ("epochs: 0\n", "`epochs:` in the config file: Input should be greater than 0 (got 0)"),
    ],
)
def test_config_file_mistakes_name_the_key(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(content)
    with pytest.raises(InvalidSettings) as error:
        parse("train", [*REQUIRED, "--config", str(path)])
    assert str(error.value).startswith(message.format(path=path)) and "\n" not in str(error.value)


def test_a_missing_config_file() -> None:
    with pytest.raises(InvalidSettings, match=r"^config file /no/such\.yaml does not exist$"):
        parse("train", [*REQUIRED, "--config", "/no/such.yaml"])


def test_an_unknown_variable_names_the_nearest_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINER_LEARNING_RATES", "1e-4")
    with pytest.raises(InvalidSettings) as error:
        parse("train", REQUIRED)
    assert str(error.value) == (
        "unknown environment variable TRAINER_LEARNING_RATES (did you mean TRAINER_LEARNING_RATE?); unset it"
    )


def test_a_variable_of_another_verb_is_no_mistake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINER_CHUNK_ROWS", "500")  # predict's: a team may set it for every Job
    assert parse("train", REQUIRED).epochs == 3


def test_the_launchers_check_demands_no_value_a_pod_side_config_file_may_give() -> None:
    check_settings("train", ["--config", "/etc/trainer/run.yaml"], {})  # model, data, output: maybe there
    check_settings("train", ["--output", "o"], {}, unknown=["TRAINER_CONFIG"])
    with pytest.raises(InvalidSettings, match="--epochs"):
        check_settings("train", ["--config", "/etc/trainer/run.yaml", "--epochs", "0"], {})
    with pytest.raises(InvalidSettings, match="unknown environment variable TRAINER_EPOCHZ"):
        check_settings("train", REQUIRED, {"TRAINER_EPOCHZ": "3"})
