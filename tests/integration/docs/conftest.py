"""Fixtures of the docs test: the loopback S3 holding what the docs read, and a cluster per page."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from doc_shell import BUCKETS, DOC_DATA, HUB_MODEL, NAMESPACE, JobsSucceed, World, hf_cache_with

from integration.launcher.fake_kube_api import FakeKubeApi
from integration.launcher.fake_rbac import Rbac
from integration.trainer.trainer_e2e_helpers import upload_tree
from support.s3servers import S3Endpoint


@pytest.fixture(scope="module")
def world(moto_s3: S3Endpoint, tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    client = moto_s3.client()
    for bucket in BUCKETS:
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=bucket)
    upload_tree(moto_s3, tiny_bert, "team-models", "base/tiny-bert")
    local = tmp_path_factory.mktemp("doc-data")
    for uri, write in DOC_DATA.items():
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        path = write(local / key)
        client.upload_file(str(path), bucket, key)
    return World(moto_s3, hf_cache_with(tmp_path_factory.mktemp("hf-home"), HUB_MODEL, tiny_bert))


@pytest.fixture
def cluster() -> Iterator[FakeKubeApi]:
    # The docs set a namespace up with k8s/overlays/example: its Role, and its ClusterRole for `list -A`.
    with JobsSucceed(
        namespaces=("default", NAMESPACE), rbac=Rbac.shipped(kustomization="overlays/example")
    ) as api:
        yield api
