"""Settings as a user gives them: flags, TRAINER_* variables, validation errors as one line and exit code 2."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.cli import main
from trainer.contract.exit_codes import ExitCode
from trainer.settings.train import TrainSettings

REQUIRED = ["--model", "m", "--train-data", "s3://b/train.csv", "--output", "s3://b/out"]


def parse(args: list[str]) -> TrainSettings:
    from pydantic_settings import CliApp

    return CliApp.run(TrainSettings, cli_args=args)


def test_defaults_and_repeated_text_column() -> None:
    settings = parse([*REQUIRED, "--text-column", "#1 String", "--text-column", "#2 String", "--epochs", "2"])
    assert settings.text_column == ["#1 String", "#2 String"]
    assert settings.is_pair_task
    assert settings.epochs == 2
    assert settings.per_replica_batch_size == 32
    assert settings.label_column == "label"
    assert settings.eval_data is None and settings.eval_fraction == 0.1
    assert settings.group_by_length and settings.optim == "adamw_lazy"
    assert settings.bf16 == "auto" and settings.fp16 is False  # bfloat16 where the hardware runs it natively
    assert parse([*REQUIRED, "--bf16", "true"]).bf16 is True
    assert parse([*REQUIRED, "--fp16", "--no-group-by-length"]).group_by_length is False


def test_environment_variables_fill_every_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINER_MODEL", "bert-base-cased")
    monkeypatch.setenv("TRAINER_TRAIN_DATA", "s3://team-data/reviews/train.csv")
    monkeypatch.setenv("TRAINER_OUTPUT", "s3://team-models/run-42")
    monkeypatch.setenv("TRAINER_PER_REPLICA_BATCH_SIZE", "8")
    monkeypatch.setenv("TRAINER_TEXT_COLUMN", '["review"]')
    settings = parse([])
    assert (settings.model, settings.per_replica_batch_size, settings.text_column) == (
        "bert-base-cased",
        8,
        ["review"],
    )
    assert (
        parse(["--per-replica-batch-size", "4"]).per_replica_batch_size == 4
    )  # a flag beats the environment


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "--epochs (TRAINER_EPOCHS): Input should be greater than 0 (got '0')"),
        (
            ["--learning-rate", "fast"],
            "--learning-rate (TRAINER_LEARNING_RATE): Input should be a valid number",
        ),
        (["--warmup-ratio", "1.5"], "--warmup-ratio (TRAINER_WARMUP_RATIO): Input should be less than 1"),
        (["--eval-fraction", "0"], "--eval-fraction (TRAINER_EVAL_FRACTION): Input should be greater than 0"),
        (
            ["--max-length", "4096"],
            "--max-length (TRAINER_MAX_LENGTH): Input should be less than or equal to 512",
        ),
        (["--text-column", "a", "--text-column", "a"], "the two --text-column values must differ"),
        (["--labels", "pos"], "--labels needs at least two labels"),
        (["--bf16", "--fp16"], "--bf16 and --fp16 exclude each other: choose one"),
        (["--optim", "sgd"], "--optim (TRAINER_OPTIM): Input should be 'adamw_lazy' or 'adamw'"),
        (
            ["--eval-strategy", "sometimes"],
            "--eval-strategy (TRAINER_EVAL_STRATEGY): Input should be 'epoch', 'steps' or 'no'",
        ),
    ],
)
def test_invalid_numbers_are_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", *REQUIRED, *args]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("trainer: error: ")
    assert message in err


def test_missing_required_flags_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--model", "m"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "--output (TRAINER_OUTPUT) is required" in err
    assert "--train-data (TRAINER_TRAIN_DATA) is required" in err


def test_unknown_verb(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fly"]) == ExitCode.USAGE
    assert capsys.readouterr().err == (
        "trainer: error: unknown verb 'fly'; choose one of: train, evaluate, predict, export (see `trainer --help`)\n"
    )


def test_help_is_fast_and_imports_no_tensorflow() -> None:
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from trainer.cli import main; main(['--help']);"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert "exit codes:" in result.stdout and "75" in result.stdout
    assert elapsed < 3.0


def test_train_help_documents_every_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "train", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    )
    assert result.returncode == 0
    for flag in (
        "--model",
        "--train-data",
        "--eval-data",
        "--eval-fraction",
        "--text-column",
        "--label-column",
        "--output",
        "--epochs",
        "--per-replica-batch-size",
        "--learning-rate",
        "--warmup-ratio",
        "--weight-decay",
        "--max-length",
        "--seed",
    ):
        assert flag in result.stdout, flag


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["train", *REQUIRED, "--epochz", "3"],
            "trainer: error: unrecognized arguments: --epochz 3 (did you mean --epochs?)",
        ),
        (["train", *REQUIRED, "--epochs"], "trainer: error: argument --epochs: expected one argument"),
        (
            [],
            "trainer: error: no verb given; choose one of: train, evaluate, predict, export (see `trainer --help`)",
        ),
    ],
)
def test_bad_input_is_one_line_no_usage_and_reaches_the_termination_log(
    args: list[str],
    line: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    termination = tmp_path / "termination-log"
    monkeypatch.setenv("TERMINATION_MESSAGE_PATH", str(termination))
    assert main(args) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert (out, err) == ("", line + "\n")
    assert termination.read_text() == f"exit 2: {line.removeprefix('trainer: error: ')}\n"


def test_error_lines_and_the_termination_log_mask_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    termination = tmp_path / "termination-log"
    monkeypatch.setenv("TERMINATION_MESSAGE_PATH", str(termination))
    monkeypatch.setenv("HF_TOKEN", "hf_SeCrEt0123456789")
    code = main(["train", *REQUIRED, "--epochs", "hf_SeCrEt0123456789"])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "hf_SeCrEt0123456789" not in err + termination.read_text()
    assert (
        "--epochs (TRAINER_EPOCHS): Input should be a valid integer, unable to parse string as an integer (got '***')"
        in err
    )
