from collections.abc import Iterator

import pytest
from trainer_e2e_helpers import moto_s3_auth, staged_moto  # noqa: F401 - fixtures

from support.s3servers import S3Endpoint
from support.schemas import problems_in_buckets

STAGED_BUCKETS = "team-"
"""The buckets `trainer_e2e_helpers.stage` creates: every trainer output of these tests lies in one."""


@pytest.fixture(scope="session", autouse=True)
def every_document_matches_its_schema(moto_s3: S3Endpoint) -> Iterator[None]:
    """After the trainer's integration tests: every run.json and metrics.json they produced (succeeded, failed,
    preempted runs, evaluations) validates against the schema the trainer ships."""
    yield
    checked, found = problems_in_buckets(moto_s3, STAGED_BUCKETS)
    assert not found, f"{len(found)} schema problem(s) in {checked} document(s):\n" + "\n".join(found[:30])
