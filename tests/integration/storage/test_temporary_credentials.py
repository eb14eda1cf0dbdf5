"""Temporary credentials against real loopback servers (moto's S3 and STS), through the trainer's own `Storage`,
whose client comes from boto3's standard chain: refreshed from a rotated web identity token while the run keeps
going; an `ExpiredToken` answer is retried once with credentials resolved afresh, then exit 75."""

import uuid
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from support.http_proxy import Reply, Request, forwarding_proxy, s3_error
from support.s3servers import S3Endpoint
from trainer.contract.exit_codes import ExitCode
from trainer.errors import CredentialsExpiredError
from trainer.storage import Location, Storage

ROLE_ARN = "arn:aws:iam::123456789012:role/trainer"
SESSION_SECONDS = "900"
"""STS's minimum session: inside botocore's 15-minute advisory window, so every use of the credentials refreshes
them (botocore's web identity provider asks for the role's default of an hour, which a test cannot wait out)."""


@pytest.fixture
def bucket(moto_s3: S3Endpoint) -> str:
    name = f"creds-{uuid.uuid4().hex[:8]}"
    moto_s3.client().create_bucket(Bucket=name)
    return name


def _no_static_keys(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def test_web_identity_credentials_are_refreshed_from_the_rotated_token(
    moto_s3: S3Endpoint, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens: list[str] = []

    def sts(request: Request) -> None:
        params = parse_qs(request.body.decode())
        if params.get("Action") == ["AssumeRoleWithWebIdentity"]:
            tokens.append(params["WebIdentityToken"][0])
            request.body += f"&DurationSeconds={SESSION_SECONDS}".encode()

    token_file = tmp_path / "token"
    with forwarding_proxy(moto_s3.url, sts) as proxy:
        _no_static_keys(monkeypatch, moto_s3.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", proxy.url)
        monkeypatch.setenv("AWS_ROLE_ARN", ROLE_ARN)
        monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
        monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "trainer")
        storage = Storage()  # the client is built from the standard chain, as in a pod
        token_file.write_text("projected-token-1")
        storage.write_bytes(Location.parse(f"s3://{bucket}/run/a.txt"), b"first")
        token_file.write_text("projected-token-2")  # the kubelet rotates the projected token
        storage.write_bytes(Location.parse(f"s3://{bucket}/run/b.txt"), b"second")
        assert storage.read_bytes(Location.parse(f"s3://{bucket}/run/a.txt")) == b"first"
    assert tokens[:2] == ["projected-token-1", "projected-token-2"], tokens  # STS was called again


def _credentials_file(path: Path, token: str) -> None:
    path.write_text(
        f"[default]\naws_access_key_id = ASIATEST\naws_secret_access_key = s\naws_session_token = {token}\n"
    )


def _token(request: Request) -> str:
    return {k.lower(): v for k, v in request.headers.items()}.get("x-amz-security-token", "")


def test_expired_token_is_retried_once_with_credentials_resolved_again(
    moto_s3: S3Endpoint, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sidecar rewrites the credentials file; the client that read the old one is answered ExpiredToken."""
    credentials = tmp_path / "credentials"
    _credentials_file(credentials, "session-old")

    def s3(request: Request) -> Reply | None:
        if _token(request) == "session-old":
            _credentials_file(credentials, "session-new")  # rotated meanwhile
            return s3_error("ExpiredToken", "The provided token has expired.")
        return None

    with forwarding_proxy(moto_s3.url, s3) as proxy:
        _no_static_keys(monkeypatch, proxy.url)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
        storage = Storage()
        storage.write_bytes(Location.parse(f"s3://{bucket}/run/c.txt"), b"kept going")
        assert [_token(r) for r in proxy.requests] == ["session-old", "session-new"]
    assert moto_s3.client().get_object(Bucket=bucket, Key="run/c.txt")["Body"].read() == b"kept going"


def test_credentials_still_expired_after_renewal_are_retryable_exit_75(
    moto_s3: S3Endpoint, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "credentials"
    _credentials_file(credentials, "session-expired")
    with forwarding_proxy(
        moto_s3.url, lambda _: s3_error("ExpiredToken", "The provided token has expired.")
    ) as proxy:
        _no_static_keys(monkeypatch, proxy.url)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
        with pytest.raises(CredentialsExpiredError) as expired:
            Storage().write_bytes(Location.parse(f"s3://{bucket}/run/d.txt"), b"x")
        assert len(proxy.requests) == 2  # the first try and one with fresh credentials, no more
    assert expired.value.exit_code == ExitCode.RETRYABLE == 75
    assert "have expired (ExpiredToken)" in str(expired.value) and "(retryable)" in str(expired.value)


@pytest.mark.parametrize("code", ["ExpiredTokenException", "RequestExpired"])
def test_every_expiry_code_is_retryable(
    moto_s3: S3Endpoint, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    credentials = tmp_path / "credentials"
    _credentials_file(credentials, "t")
    with forwarding_proxy(moto_s3.url, lambda _: s3_error(code, "expired")) as proxy:
        _no_static_keys(monkeypatch, proxy.url)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
        with pytest.raises(CredentialsExpiredError):
            Storage().read_bytes(Location.parse(f"s3://{bucket}/run/none.txt"))
