"""A run given distinctive secrets: none of them appears in any published object, run.json, metrics.json, stdout,
stderr or the termination message. A URL with credentials is refused (exit 2) without echoing them."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from trainer_e2e_helpers import Staged, listing

from support.s3servers import S3Endpoint
from trainer.cli import main
from trainer.contract.exit_codes import ExitCode

pytestmark = pytest.mark.slow


def _secret(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


def _everything_published(endpoint: S3Endpoint, output: str) -> dict[str, bytes]:
    bucket, prefix = output.removeprefix("s3://").split("/", 1)
    client = endpoint.client()
    return {
        key: client.get_object(Bucket=bucket, Key=f"{prefix}/{key}")["Body"].read()
        for key in listing(endpoint, output)
    }


def test_a_successful_run_records_no_secret(staged_moto: Staged, tmp_path: Path) -> None:
    s3_secret, hf_token = _secret("S3sEcReT"), _secret("hf_")
    # The token also names the output prefix, so every line and record that mentions the output would carry it:
    # only the redaction keeps it out.
    output = f"s3://{staged_moto.bucket}/runs/secret-grep-{hf_token}"
    termination = tmp_path / "termination-log"
    env = {
        **os.environ,
        **staged_moto.endpoint.env(),
        "AWS_SECRET_ACCESS_KEY": s3_secret,  # moto does not check keys here; the trainer must not print it
        "HF_TOKEN": hf_token,
        "TERMINATION_MESSAGE_PATH": str(termination),
    }
    args = [
        *staged_moto.train_args(output),
        "--epochs",
        "1",
        "--max-train-samples",
        "64",
        "--work-dir",
        str(tmp_path),
    ]
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "train", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    published = _everything_published(staged_moto.endpoint, output)
    assert {"run.json", "metrics.json", "_SUCCESS", "model/config.json"} <= set(published)
    assert b"runs/secret-grep-***" in published["run.json"]  # the output is recorded, masked
    records = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        **{k: v.decode("latin-1") for k, v in published.items()},
    }
    if termination.exists():
        records["termination message"] = termination.read_text()
    for secret in (s3_secret, hf_token):
        leaked = [name for name, text in records.items() if secret in text]
        assert not leaked, f"{secret[:4]}... found in {leaked}"
    assert "secret-grep-***" in result.stderr  # logged, masked


def test_an_endpoint_with_credentials_is_refused_without_echoing_them(
    staged_moto: Staged,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = _secret("pw")
    termination = tmp_path / "termination-log"
    host = staged_moto.endpoint.url.removeprefix("http://")
    for key, value in staged_moto.endpoint.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://minio:{password}@{host}")
    monkeypatch.setenv("TERMINATION_MESSAGE_PATH", str(termination))
    code = main(
        ["train", *staged_moto.train_args(staged_moto.output("url-creds")), "--work-dir", str(tmp_path)]
    )
    out, err = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert err.strip().splitlines()[-1] == (
        f"trainer: error: AWS_ENDPOINT_URL_S3 http://***@{host} has credentials in the URL: remove them and give "
        "the keys as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (a Secret) or the pod's IAM role"
    )
    assert password not in out + err + termination.read_text()
