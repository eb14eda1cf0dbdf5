"""The one redaction: URL credentials and the values of secret-named variables become `***`."""

import pytest

from trainer.contract.redaction import has_url_credentials, looks_like_secret, redact, secret_values


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("AWS_SECRET_ACCESS_KEY", True),
        ("AWS_SESSION_TOKEN", True),
        ("AWS_ACCESS_KEY_ID", True),
        ("HF_TOKEN", True),
        ("WANDB_API_KEY", True),
        ("PGPASSWORD", True),
        ("DB_PASSWORD", True),
        ("client-secret", True),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", False),
        ("TOKENIZERS_PARALLELISM", False),
        ("AWS_ROLE_ARN", False),
        ("SECRET_PATH", False),
        ("NCCL_DEBUG", False),
    ],
)
def test_secret_names_are_judged_by_segments(name: str, secret: bool) -> None:
    assert looks_like_secret(name) is secret


def test_url_credentials_are_masked_wherever_they_appear() -> None:
    text = (
        "cannot reach http://minio:minio123@10.0.0.5:9000/bucket (and s3+https://AKIA@h) nor https://host/x"
    )
    assert (
        redact(text)
        == "cannot reach http://***@10.0.0.5:9000/bucket (and s3+https://***@h) nor https://host/x"
    )
    assert has_url_credentials("http://u:p@h:1") and has_url_credentials("https://u@h")
    assert not has_url_credentials("http://h:9000/a@b") and not has_url_credentials("minio:9000")


def test_values_of_secret_variables_are_masked_longest_first() -> None:
    environ = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
        "AWS_SESSION_TOKEN": "wJalrXUtnFEMI/K7MDENG-and-more",
        "HF_TOKEN": "abc",  # too short to mask safely
        "HOME": "/home/trainer",
    }
    secrets = secret_values(environ)
    assert secrets == ["wJalrXUtnFEMI/K7MDENG-and-more", "wJalrXUtnFEMI/K7MDENG"]
    assert redact("token=wJalrXUtnFEMI/K7MDENG-and-more key=wJalrXUtnFEMI/K7MDENG abc", secrets) == (
        "token=*** key=*** abc"
    )
