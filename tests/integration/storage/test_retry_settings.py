"""The platform's AWS retry settings (environment, config file) reach the S3 client; the project's default applies
only where neither sets one. Read from the real client object, and counted on the wire against a failing endpoint."""

import os
from pathlib import Path

import boto3
import pytest

from support.http_proxy import forwarding_proxy, s3_error
from trainer.errors import RetryableError
from trainer.storage import Location, Storage, make_client
from trainer.storage.client import DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_MODE


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS_* variable but keys and a config file of the test's own (empty until a test writes it)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    config = tmp_path / "aws-config"
    config.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return config


def resolved(endpoint: str = "http://127.0.0.1:9") -> dict[str, object]:
    """The retry options botocore resolved for a client `make_client` built (a fresh session reads the files)."""
    retries = make_client(endpoint, session=boto3.session.Session()).meta.config.retries
    return {"mode": retries["mode"], "total_max_attempts": retries.get("total_max_attempts")}


def test_without_settings_the_projects_default_applies() -> None:
    assert resolved() == {"mode": DEFAULT_RETRY_MODE, "total_max_attempts": DEFAULT_MAX_ATTEMPTS}


def test_environment_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "10")
    assert resolved() == {"mode": "adaptive", "total_max_attempts": 10}


def test_config_file_settings_win(aws_env: Path) -> None:
    aws_env.write_text("[default]\nretry_mode = adaptive\nmax_attempts = 10\n")
    assert resolved() == {"mode": "adaptive", "total_max_attempts": 10}


def test_a_named_profile_is_read(aws_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    aws_env.write_text(
        "[default]\nmax_attempts = 7\n[profile platform]\nretry_mode = legacy\nmax_attempts = 2\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "platform")
    assert resolved() == {"mode": "legacy", "total_max_attempts": 2}


def test_each_option_left_unset_gets_the_default(aws_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "8")
    assert resolved() == {"mode": DEFAULT_RETRY_MODE, "total_max_attempts": 8}
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    aws_env.write_text("[default]\nretry_mode = adaptive\n")
    assert resolved() == {"mode": "adaptive", "total_max_attempts": DEFAULT_MAX_ATTEMPTS}


def test_the_environment_beats_the_config_file(aws_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    aws_env.write_text("[default]\nretry_mode = adaptive\nmax_attempts = 10\n")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    assert resolved() == {"mode": "adaptive", "total_max_attempts": 3}


@pytest.mark.parametrize(("source", "attempts"), [("env", 2), ("config", 3), (None, DEFAULT_MAX_ATTEMPTS)])
def test_the_attempts_are_what_the_server_sees(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch, source: str | None, attempts: int
) -> None:
    """`max_attempts` counts the first try too: a server that always answers 503 gets exactly that many requests."""
    if source == "env":
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", str(attempts))
    elif source == "config":
        aws_env.write_text(f"[default]\nmax_attempts = {attempts}\n")
    with forwarding_proxy("http://127.0.0.1:9", lambda _: s3_error("SlowDown", "busy", 503)) as server:
        storage = Storage(make_client(server.url, session=boto3.session.Session()))
        with pytest.raises(RetryableError):
            storage.read_bytes(Location.parse("s3://bucket/key"))
    assert len(server.requests) == attempts
