"""Storage-test fixtures on top of the root conftest's `moto_s3` and `seaweed_s3` servers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from support.s3servers import S3Endpoint, moto_server
from trainer.storage import Storage, make_client

DENIED_SEGMENT = "denied"
"""`moto_s3_auth` refuses PutObject for any key with a `denied/` path segment, to make one upload fail."""

DENY_SOME_PUTS_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::*/{DENIED_SEGMENT}/*"},
    ],
}


@pytest.fixture(scope="session")
def moto_s3_auth() -> Iterator[S3Endpoint]:
    """moto with credential checks on: only the endpoint's key pair works; `DENY_SOME_PUTS_POLICY` applies."""
    with moto_server(enforce_auth=True, policy=DENY_SOME_PUTS_POLICY) as endpoint:
        yield endpoint


def storage_for(endpoint: S3Endpoint, **client_options: Any) -> Storage:
    """A `Storage` whose client is built by the production `make_client`, pointed at `endpoint`."""
    session = boto3.session.Session(
        aws_access_key_id=endpoint.access_key,
        aws_secret_access_key=endpoint.secret_key,
        region_name=endpoint.region,
    )
    return Storage(make_client(endpoint.url, session=session, **client_options))


def new_bucket(endpoint: S3Endpoint) -> str:
    name = f"test-{uuid.uuid4().hex[:16]}"
    endpoint.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def denied_segment() -> str:
    return DENIED_SEGMENT


@pytest.fixture
def make_storage() -> Any:
    """`storage_for` as a fixture, so test modules need not import from conftest."""
    return storage_for


@pytest.fixture
def make_bucket() -> Any:
    return new_bucket


@pytest.fixture
def bucket(moto_s3: S3Endpoint) -> str:
    return new_bucket(moto_s3)


@pytest.fixture
def storage(moto_s3: S3Endpoint) -> Storage:
    return storage_for(moto_s3)
