"""Suite-wide setup: a clean, offline environment and the loopback S3 servers shared by every test package."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Set before anything imports TensorFlow or transformers: Keras 2 for transformers' TF classes, quiet logs,
# never the network, and no AWS settings of the developer's machine leaking into a test.
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TRANSFORMERS_VERBOSITY"] = "error"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _name in [n for n in os.environ if n.startswith(("AWS_", "TRAINER_", "LAUNCHER_"))]:
    if _name != "AWS_EC2_METADATA_DISABLED":
        del os.environ[_name]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

from support.s3servers import S3Endpoint, moto_server, seaweed_server  # noqa: E402


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[S3Endpoint]:
    """moto in server mode on loopback; credentials are not checked."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def seaweed_s3() -> Iterator[S3Endpoint]:
    """SeaweedFS (master, volume, filer, S3 gateway) on loopback."""
    with seaweed_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT saved the way Hub checkpoints are (PyTorch-format model.safetensors + tokenizer)."""
    from support.tiny_bert import write_tiny_bert
    from support.toy_data import vocabulary

    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), vocabulary())
