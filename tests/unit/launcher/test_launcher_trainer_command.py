"""`render`/`submit` check the trainer arguments with the trainer's own settings, against what the pod will see."""

import pytest
import yaml

from launcher import trainer_command
from launcher.cli import main
from launcher.errors import UsageError

ARGS = ["--model", "bert-base-cased", "--train-data", "s3://d/t.csv", "--output", "s3://r/x"]


def render(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["render", "--name", "r", "--image", "i", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--epochz", "3"], "trainer train: unrecognized arguments: --epochz 3 (did you mean --epochs?)"),
        (["--epochs", "abc"], "trainer train: --epochs (TRAINER_EPOCHS): Input should be a valid integer"),
        (
            ["--learning-rate", "2"],
            "trainer train: --learning-rate (TRAINER_LEARNING_RATE): Input should be less",
        ),
        (["--bf16", "--fp16"], "trainer train: settings: --bf16 and --fp16 exclude each other: choose one"),
        (
            ["--optim", "sgd"],
            "trainer train: --optim (TRAINER_OPTIM): Input should be 'adamw_lazy' or 'adamw'",
        ),
    ],
)
def test_a_bad_trainer_argument_fails_before_the_cluster(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, out, err = render(capsys, "--", *ARGS, *extra)
    assert (code, out) == (2, "")
    assert err.startswith(f"launcher: error: {message}"), err
    assert err.strip().endswith("(--no-validate skips this check)") and len(err.strip().splitlines()) == 1


def test_no_validate_renders_arguments_this_launcher_does_not_know(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = render(capsys, "--no-validate", "--", *ARGS, "--a-newer-trainer-flag", "1")
    assert code == 0, err
    assert yaml.safe_load(out)["spec"]["template"]["spec"]["containers"][0]["args"][-2:] == [
        "--a-newer-trainer-flag",
        "1",
    ]


def test_the_pods_trainer_variables_count_never_the_launchers_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    without_model = ["--train-data", "s3://d/t.csv", "--output", "s3://r/x"]
    monkeypatch.setenv("TRAINER_MODEL", "only-on-this-laptop")
    monkeypatch.setenv("TRAINER_EPOCHS", "not-a-number")
    with pytest.raises(UsageError, match=r"--model \(TRAINER_MODEL\) is required"):
        trainer_command.validate(without_model, {})
    trainer_command.validate(without_model, {"TRAINER_MODEL": "bert-base-cased"})
    with pytest.raises(UsageError, match=r"--epochs \(TRAINER_EPOCHS\): Input should be a valid integer"):
        trainer_command.validate(ARGS, {"TRAINER_EPOCHS": "x"})


def test_a_field_the_pod_gets_from_a_secret_is_not_demanded() -> None:
    without_model = ["--train-data", "s3://d/t.csv", "--output", "s3://r/x"]
    trainer_command.validate(without_model, {}, from_secrets=["TRAINER_MODEL"])
    with pytest.raises(UsageError, match="--epochz"):
        trainer_command.validate([*without_model, "--epochz", "1"], {}, from_secrets=["TRAINER_MODEL"])


@pytest.mark.parametrize(
    ("verb_args", "message"),
    [
        (
            ["evaluate", "--model", "s3://r/x/model", "--output", "s3://o"],
            r"--data \(TRAINER_DATA\) is required",
        ),
        (["export", "--model", "m", "--data", "d", "--output", "o"], "unrecognized arguments: --data d"),
        (["predict", "--model", "m", "--data", "d", "--output", "o", "--chunk-rows", "0"], "--chunk-rows"),
    ],
)
def test_every_verb_is_checked_with_its_own_settings(verb_args: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        trainer_command.validate(verb_args, {})
