"""`--nodes N`: an Indexed Job of N pods with stable hostnames, plus the headless Service that resolves them."""

import itertools
from typing import Any

import kubernetes_validate
import pytest
import yaml

from launcher import commands, labels, manifests, multinode
from launcher.cli import main
from launcher.errors import UsageError
from launcher.settings import JobSettings, load
from trainer.contract import exit_codes
from trainer.contract.container import JOB_COMPLETION_INDEX_ENV, WORKER_HOSTS_ENV, WORKER_PORT

K8S_VERSIONS = ["1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35"]
ARGS = ["--model", "bert-base-cased", "--train-data", "s3://d/t.csv", "--output", "s3://r/x"]
IMAGE = "registry.example.com/ml/trainer:1.0"


def settings(**options: Any) -> JobSettings:
    return load(JobSettings, {"image": IMAGE, **options})


def trainer_container(job: dict[str, Any]) -> dict[str, Any]:
    return job["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("options", "namespace"),
    list(
        itertools.product(
            [
                {"nodes": 2},
                {"nodes": 4, "gpus": 8, "cpu": "46", "memory": "480Gi", "shm_size": "64Gi"},
                {
                    "nodes": 3,
                    "gpus": 0,
                    "env": ["NCCL_DEBUG=INFO"],
                    "labels": ["team=ml"],
                    "backoff_limit": 0,
                },
            ],
            [None, "ml"],
        )
    ),
)
def test_multinode_manifests_validate_strictly(options: dict[str, Any], namespace: str | None) -> None:
    rendered = commands.render_run(settings(**options), ARGS, "reviews-42", namespace)
    assert [m["kind"] for m in rendered] == ["Job", "NetworkPolicy", "Service"]
    for manifest in rendered:
        for version in K8S_VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)


def test_one_node_renders_the_single_node_job_only() -> None:
    (job,) = commands.render_run(settings(), ARGS, "reviews-42")
    assert "completionMode" not in job["spec"] and "subdomain" not in job["spec"]["template"]["spec"]


def test_the_indexed_job_runs_n_pods_that_find_each_other() -> None:
    job, _, service = commands.render_run(
        settings(nodes=3, gpus=4, backoff_limit=2), ARGS, "reviews-42", "ml"
    )
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == 3
    assert spec["backoffLimit"] == 2 * 3  # one group failure costs up to one pod failure per node
    assert spec["podFailurePolicy"] == manifests.pod_failure_policy()
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["template"]["spec"]["subdomain"] == service["metadata"]["name"] == "reviews-42"

    trainer = trainer_container(job)
    assert trainer["resources"]["limits"]["nvidia.com/gpu"] == "4"  # per pod
    assert trainer["ports"] == [{"name": "tf-worker", "containerPort": WORKER_PORT, "protocol": "TCP"}]
    env = {e["name"]: e["value"] for e in trainer["env"]}
    assert env[WORKER_HOSTS_ENV] == (
        "reviews-42-0.reviews-42:2222,reviews-42-1.reviews-42:2222,reviews-42-2.reviews-42:2222"
    )
    assert JOB_COMPLETION_INDEX_ENV not in env  # Kubernetes sets it on each pod
    assert trainer["args"][0] == "train"


def test_the_headless_service_selects_exactly_the_runs_pods() -> None:
    job, _, service = commands.render_run(settings(nodes=2, labels=["team=ml"]), ARGS, "reviews-42", "ml")
    spec = service["spec"]
    assert service["apiVersion"] == "v1" and service["metadata"]["namespace"] == "ml"
    assert spec["clusterIP"] == "None"
    assert spec["publishNotReadyAddresses"] is True
    assert spec["ports"] == [{"name": "tf-worker", "port": 2222, "targetPort": 2222, "protocol": "TCP"}]
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert spec["selector"].items() <= pod_labels.items()
    assert spec["selector"][labels.LABEL_INSTANCE] == "reviews-42"
    assert "team" not in spec["selector"]
    assert service["metadata"]["labels"] == job["metadata"]["labels"]  # `launcher list` selectors see it too


def test_the_network_policy_admits_only_the_runs_own_pods_and_never_restricts_egress() -> None:
    job, policy, _ = commands.render_run(settings(nodes=2, labels=["team=ml"]), ARGS, "reviews-42", "ml")
    spec = policy["spec"]
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    own = {
        labels.LABEL_NAME: "trainer",
        labels.LABEL_INSTANCE: "reviews-42",
        labels.LABEL_MANAGED_BY: "launcher",
    }
    assert spec["podSelector"] == {"matchLabels": own} and own.items() <= pod_labels.items()
    assert spec["policyTypes"] == ["Ingress"]  # egress (S3, DNS, the Hub) stays open
    assert spec["ingress"] == [{"from": [{"podSelector": {"matchLabels": own}}]}]  # no namespace, no IP block


def test_every_rendered_object_carries_the_run_label_for_kubectl_delete() -> None:
    rendered = commands.render_run(settings(nodes=2), ARGS, "reviews-42")
    assert {m["metadata"]["labels"][labels.LABEL_INSTANCE] for m in rendered} == {"reviews-42"}


def test_a_single_node_pod_opens_no_port_and_needs_no_policy() -> None:
    (job,) = commands.render_run(settings(), ARGS, "reviews-42")
    assert "ports" not in trainer_container(job)


def test_a_name_starting_with_a_digit_gets_a_dns1035_service_name() -> None:
    job, _, service = commands.render_run(settings(nodes=2), ARGS, "42-reviews")
    assert service["metadata"]["name"] == "w42-reviews"
    assert job["spec"]["template"]["spec"]["subdomain"] == "w42-reviews"
    env = {e["name"]: e["value"] for e in trainer_container(job)["env"]}
    assert env[WORKER_HOSTS_ENV].startswith("42-reviews-0.w42-reviews:2222,")
    for manifest in commands.render_run(settings(nodes=2), ARGS, "42-reviews"):
        kubernetes_validate.validate(manifest, K8S_VERSIONS[-1], strict=True)


def test_a_name_too_long_for_the_pod_hostnames_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="shorter --name"):
        commands.render_run(settings(nodes=10), ARGS, "a" * 62)
    commands.render_run(settings(nodes=10), ARGS, "a" * 61)


def test_non_retryable_codes_still_fail_the_whole_job_at_once() -> None:
    job, *_ = commands.render_run(settings(nodes=2), ARGS, "reviews-42")
    rules = job["spec"]["podFailurePolicy"]["rules"]
    assert rules[0]["action"] == "FailJob"
    assert rules[0]["onExitCodes"]["values"] == sorted(int(c) for c in exit_codes.NON_RETRYABLE)


def test_the_service_is_owned_by_the_created_job() -> None:
    _, _, service = commands.render_run(settings(nodes=2), ARGS, "reviews-42")
    created_job = {"metadata": {"name": "reviews-42", "uid": "1234"}, "kind": "Job"}
    owned = multinode.owned_by(service, created_job)
    assert owned["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": "reviews-42",
            "uid": "1234",
            "blockOwnerDeletion": False,
        }
    ]
    assert "ownerReferences" not in service["metadata"]  # pure: the input is unchanged
    assert multinode.owned_by(service, {"metadata": {"name": "x"}}) is service  # dry run: no uid


def test_render_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["render", "--name", "reviews-42", "--image", IMAGE, "--nodes", "2", "--", *ARGS])
    out = capsys.readouterr().out
    assert code == 0
    assert [d["kind"] for d in yaml.safe_load_all(out)] == ["Job", "NetworkPolicy", "Service"]


def test_nodes_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--image", IMAGE, "--nodes", "0", "--", *ARGS]) == 2
    assert "--nodes" in capsys.readouterr().err
