"""Every rendered manifest passes the official Kubernetes schema, strict, for the versions clusters run."""

import itertools
from typing import Any

import kubernetes_validate
import pytest

from launcher import commands, manifests
from launcher.settings import JobSettings, load

K8S_VERSIONS = ["1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35"]
"""Supported upstream minors and the managed-cluster (EKS/GKE/AKS extended support) tail."""

ARGS = ["--model", "bert-base-cased", "--train-data", "s3://d/t.csv", "--output", "s3://r/x"]

OPTIONS: list[dict[str, Any]] = [
    {},
    {"gpus": 0},
    {"gpus": 8, "cpu": "46500m", "memory": "480Gi", "shm_size": "64Gi", "cpu_limit": "48"},
    {"s3_secret": "team-s3", "s3_endpoint": "http://minio:9000", "s3_region": "us-east-1"},
    {"service_account": "trainer", "priority_class": "high", "image_pull_secrets": ["a", "b"]},
    {
        "node_selector": ["pool=a100", "zone=x"],
        "tolerations": ["nvidia.com/gpu:NoSchedule", "spot=true:NoExecute"],
    },
    {"labels": ["team=ml"], "annotations": ["owner=alice"], "env": ["NCCL_DEBUG=INFO"]},
    {"active_deadline_seconds": 86400, "ttl_seconds_after_finished": 0, "backoff_limit": 0},
    {"scratch_size": "200Gi", "image_pull_policy": "Always"},
]
NAMESPACES = [None, "ml"]


@pytest.mark.parametrize(("options", "namespace"), list(itertools.product(OPTIONS, NAMESPACES)))
def test_rendered_manifests_validate_strictly(options: dict[str, Any], namespace: str | None) -> None:
    settings = load(JobSettings, {"image": "registry.example.com/ml/trainer:1.0", **options})
    for manifest in commands.render_run(settings, ARGS, "reviews-42", namespace):
        for version in K8S_VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)


def test_strict_validation_catches_a_typo() -> None:
    settings = load(JobSettings, {"image": "i"})
    job = manifests.build_job(settings, ARGS, "reviews-42")
    job["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, K8S_VERSIONS[-1], strict=True)
