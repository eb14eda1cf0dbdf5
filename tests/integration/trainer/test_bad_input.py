"""Every mistake a user can make with `trainer train` gets one line naming the fix and a documented exit code,
against a real S3 server; no traceback, and nothing is published."""

from pathlib import Path

import pytest
from trainer_e2e_helpers import Staged

from support.s3servers import S3Endpoint, closed_port_url
from trainer.cli import main
from trainer.contract.exit_codes import ExitCode

pytestmark = pytest.mark.slow


@pytest.fixture
def s3(staged_moto: Staged, monkeypatch: pytest.MonkeyPatch) -> Staged:
    for key, value in staged_moto.endpoint.env().items():
        monkeypatch.setenv(key, value)
    return staged_moto


def put(s3: Staged, key: str, body: str) -> str:
    s3.endpoint.client().put_object(Bucket=s3.bucket, Key=key, Body=body.encode())
    return f"s3://{s3.bucket}/{key}"


def train(
    s3: Staged, tmp_path: Path, capsys: pytest.CaptureFixture[str], **overrides: str
) -> tuple[int, str]:
    flags = {
        "model": s3.model,
        "train-data": s3.train,
        "eval-data": s3.dev,
        "text-column": "review",
        "label-column": "topic",
        "output": s3.output("bad"),
        "epochs": "1",
        "work-dir": str(tmp_path),
    }
    flags.update({k.replace("_", "-"): v for k, v in overrides.items()})
    args = [item for key, value in flags.items() for item in (f"--{key}", value)]
    code = main(["train", *args])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("trainer: error:")]
    assert len(errors) == 1, errors
    success = flags["output"].removeprefix(f"s3://{s3.bucket}/") + "/_SUCCESS"
    if flags["output"].startswith(f"s3://{s3.bucket}/"):
        listed = s3.endpoint.client().list_objects_v2(Bucket=s3.bucket, Prefix=success)
        assert listed.get("KeyCount", 0) == 0, "a failed run must not publish _SUCCESS"
    return code, errors[0]


def train_against_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`trainer train` with whatever AWS_* settings the test put in the environment; the last stderr line."""
    code = main(
        [
            "train",
            "--model",
            "m",
            "--train-data",
            "s3://any-bucket/train.csv",
            "--output",
            "s3://any-bucket/out",
            "--work-dir",
            str(tmp_path),
        ]
    )
    return code, capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("train_data", "s3:///train.csv", "s3:///train.csv"),
        ("train_data", "gs://bucket/train.csv", "gs://bucket/train.csv"),
        ("output", "s3://", "s3://"),
    ],
)
def test_malformed_uri_is_a_usage_error(
    s3: Staged, tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    code, line = train(s3, tmp_path, capsys, **{flag: value})
    assert code == ExitCode.USAGE
    assert message in line


def test_missing_bucket(s3: Staged, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, line = train(s3, tmp_path, capsys, train_data="s3://no-such-bucket-here/train.csv")
    assert code == ExitCode.NOT_FOUND
    assert "no-such-bucket-here" in line and "does not exist" in line


def test_missing_output_bucket_fails_before_training(
    s3: Staged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, line = train(s3, tmp_path, capsys, output="s3://no-such-output-bucket/run")
    assert code == ExitCode.NOT_FOUND
    assert "no-such-output-bucket" in line


def test_missing_object(s3: Staged, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, line = train(s3, tmp_path, capsys, train_data=f"s3://{s3.bucket}/topics/nope.csv")
    assert code == ExitCode.NOT_FOUND
    assert f"s3://{s3.bucket}/topics/nope.csv" in line


def test_missing_model_prefix(s3: Staged, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, line = train(s3, tmp_path, capsys, model=f"s3://{s3.bucket}/base/no-model")
    assert code == ExitCode.NOT_FOUND
    assert "no-model" in line


def test_prefix_without_config_is_not_a_model(
    s3: Staged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, line = train(s3, tmp_path, capsys, model=f"s3://{s3.bucket}/topics")
    assert code == ExitCode.NOT_FOUND
    assert "holds no config.json" in line


def test_bad_credentials(
    staged_moto: Staged,
    moto_s3_auth: S3Endpoint,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in moto_s3_auth.with_credentials(moto_s3_auth.access_key, "wrong-secret").env().items():
        monkeypatch.setenv(key, value)
    code, line = train_against_the_environment(tmp_path, capsys)
    assert code == ExitCode.ACCESS_DENIED
    assert line.startswith("trainer: error: ") and "AWS_SECRET_ACCESS_KEY" in line
    assert "wrong-secret" not in line


def test_unreachable_endpoint_is_retryable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = closed_port_url()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    code, line = train_against_the_environment(tmp_path, capsys)
    assert code == ExitCode.RETRYABLE
    assert url in line


@pytest.mark.parametrize(
    ("key", "body", "overrides", "message"),
    [
        ("bad/train.xlsx", "x", {}, "cannot tell the format of 'train.xlsx'"),
        ("bad/empty.csv", "review,topic\n", {}, "has no data rows"),
        (
            "bad/columns.csv",
            "text,label\nhello,a\nbye,b\n",
            {},
            "has no column 'review' (--text-column), 'topic' (--label-column); its columns are 'text', 'label'",
        ),
        ("bad/one-label.csv", "review,topic\na,x\nb,x\nc,x\n", {}, "1 distinct label(s) (x)"),
        (
            "bad/unknown-eval.csv",
            "review,topic\nthe rain,weather\nthe pie,dessert\n",
            {"as_eval": "1"},
            "evaluation data has 1 label(s) not in the training labels ['food', 'sports', 'weather']: 'dessert'",
        ),
        ("bad/malformed.csv", "review,topic\na,b,c\n", {}, "cannot read"),
    ],
)
def test_data_problems_are_data_errors(
    s3: Staged,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    body: str,
    overrides: dict[str, str],
    message: str,
) -> None:
    uri = put(s3, key, body)
    code, line = train(
        s3, tmp_path, capsys, **({"eval_data": uri} if overrides.get("as_eval") else {"train_data": uri})
    )
    assert code == ExitCode.DATA
    assert message in line
