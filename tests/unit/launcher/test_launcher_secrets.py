"""No secret value in a manifest: credential-like `--env` names and URL credentials are refused, and
`--env-from-secret` names a Secret's key instead."""

import kubernetes_validate
import pytest
import yaml

from launcher import commands
from launcher.cli import main
from launcher.errors import UsageError
from launcher.settings import JobSettings, load

ARGS = ["--model", "bert-base-cased", "--train-data", "s3://d/t.csv", "--output", "s3://r/x"]


def settings(**options: object) -> JobSettings:
    return load(JobSettings, {"image": "i", **options})


@pytest.mark.parametrize(
    "name",
    [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "WANDB_API_KEY",
        "DB_PASSWORD",
        "my_client_secret",
        "GITHUB_TOKENS",
    ],
)
def test_credential_like_env_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError) as refused:
        settings(env=[f"{name}=s3cr3t-value"])
    assert str(refused.value) == (
        f"invalid --env: {name} looks like a credential, and --env values are written into the manifest in plain "
        f"text: use --env-from-secret {name}=SECRET:KEY (the AWS keys: --s3-secret)"
    )


@pytest.mark.parametrize(
    "name",
    ["AWS_WEB_IDENTITY_TOKEN_FILE", "TOKENIZERS_PARALLELISM", "NCCL_DEBUG", "AWS_ROLE_ARN", "SECRETS_DIR"],
)
def test_names_that_only_point_at_secrets_or_merely_contain_the_letters_are_allowed(name: str) -> None:
    assert settings(env=[f"{name}=x"]).env == {name: "x"}


def test_url_credentials_in_an_env_value_are_refused_and_not_echoed() -> None:
    with pytest.raises(UsageError) as refused:
        settings(env=["HTTPS_PROXY=http://bob:hunter22@proxy:3128"])
    assert "hunter22" not in str(refused.value)
    assert "HTTPS_PROXY=http://***@proxy:3128 has credentials in a URL" in str(refused.value)


@pytest.mark.parametrize("endpoint", ["http://minio:minio123@minio:9000", "https://AKIA@s3.example.com"])
def test_an_endpoint_with_credentials_is_refused_exit_2(
    capsys: pytest.CaptureFixture[str], endpoint: str
) -> None:
    code = main(["render", "--image", "i", "--s3-endpoint", endpoint, "--", *ARGS])
    err = capsys.readouterr().err
    assert code == 2
    assert "has credentials in the URL" in err and "minio123" not in err and "AKIA" not in err


def test_env_from_secret_renders_a_secret_key_ref_and_no_value() -> None:
    s = settings(env_from_secret=["HF_TOKEN=hf-token:token", "DB_PASSWORD=db:password"], env=["A=1"])
    (job,) = commands.render_run(s, ARGS, "r")
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "A", "value": "1"},
        {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "token"}}},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    ]
    kubernetes_validate.validate(job, "1.33", strict=True)


def test_env_from_secret_in_the_config_file_and_the_environment(tmp_path, monkeypatch, capsys) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "image: i\nenv_from_secret:\n  HF_TOKEN: hf:token\n  WANDB_API_KEY: {name: wandb, key: k}\n"
    )
    monkeypatch.setenv("LAUNCHER_ENV_FROM_SECRET", "DB_PASSWORD=db:pw,OTHER_TOKEN=o:t")
    assert main(["render", "--name", "r", "--config", str(config), "--", *ARGS]) == 0
    env = yaml.safe_load(capsys.readouterr().out)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in env} == {
        "DB_PASSWORD": "db",
        "OTHER_TOKEN": "o",
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "HF_TOKEN=hf-token",
            "invalid --env-from-secret: 'hf-token' is not SECRET:KEY (e.g. hf-token:token)",
        ),
        ("HF_TOKEN=Bad_Secret:k", "invalid --env-from-secret: 'Bad_Secret' is not a valid object name"),
        ("1BAD=s:k", "invalid --env-from-secret: '1BAD' is not a valid environment variable name"),
    ],
)
def test_malformed_env_from_secret_is_one_line(value: str, message: str) -> None:
    with pytest.raises(UsageError) as refused:
        settings(env_from_secret=[value])
    assert str(refused.value).startswith(message)


def test_one_variable_from_both_env_and_a_secret_is_refused() -> None:
    with pytest.raises(UsageError, match="HF_HOME is given by both --env and --env-from-secret: keep one"):
        settings(env=["HF_HOME=/tmp/hf"], env_from_secret=["HF_HOME=hf:home"])
