"""The Job a run needs, built by pure functions."""

from typing import Any

import pytest
import yaml

from launcher import commands, labels, manifests, trainer_command
from launcher.errors import UsageError
from launcher.settings import JobSettings, load
from trainer.contract import container, exit_codes

ARGS = [
    "--model",
    "bert-base-cased",
    "--train-data",
    "s3://d/train.csv",
    "--text-column",
    "text",
    "--label-column",
    "label",
    "--output",
    "s3://runs/reviews-42",
]


def job(args: list[str] = ARGS, **flags: Any) -> dict[str, Any]:
    namespace = flags.pop("namespace", None)
    settings = load(JobSettings, {"image": "registry.example.com/ml/trainer:1.0", **flags})
    return manifests.build_job(settings, args, "reviews-42", namespace)


def pod_spec(j: dict[str, Any]) -> dict[str, Any]:
    return j["spec"]["template"]["spec"]


def test_canonical_job() -> None:
    j = job(gpus=4, s3_secret="team-s3")
    assert j["apiVersion"] == "batch/v1" and j["kind"] == "Job"
    assert j["metadata"]["labels"] == {
        "app.kubernetes.io/name": "trainer",
        "app.kubernetes.io/instance": "reviews-42",
        "app.kubernetes.io/managed-by": "launcher",
    }
    assert j["metadata"]["annotations"] == {
        "tf-finetune-k8s/output": "s3://runs/reviews-42",
        "tf-finetune-k8s/gpu-resource": "nvidia.com/gpu",
    }
    spec = pod_spec(j)
    assert spec["restartPolicy"] == "Never"
    (c,) = spec["containers"]
    assert c["command"] == ["trainer"]
    assert c["args"] == ["train", *ARGS]
    assert c["resources"] == {  # 4 CPUs and 16Gi per GPU by default
        "requests": {"cpu": "16", "memory": "64Gi"},
        "limits": {"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "4"},
    }
    assert c["envFrom"] == [{"secretRef": {"name": "team-s3"}}]
    assert j["spec"]["backoffLimit"] == 3
    assert j["spec"]["ttlSecondsAfterFinished"] == 7 * 24 * 3600
    assert "activeDeadlineSeconds" not in j["spec"]


def test_pod_failure_policy_follows_the_trainer_contract() -> None:
    rules = job()["spec"]["podFailurePolicy"]["rules"]
    assert rules[0] == {
        "action": "FailJob",
        "onExitCodes": {"containerName": "trainer", "operator": "In", "values": [2, 3, 4, 5]},
    }
    assert set(rules[0]["onExitCodes"]["values"]) == {int(c) for c in exit_codes.NON_RETRYABLE}
    assert exit_codes.ExitCode.RETRYABLE not in rules[0]["onExitCodes"]["values"]
    assert rules[1] == {
        "action": "Ignore",
        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
    }


def test_grace_period_leaves_the_trainer_time_to_checkpoint() -> None:
    assert pod_spec(job())["terminationGracePeriodSeconds"] == 120
    assert pod_spec(job(termination_grace_period_seconds=600))["terminationGracePeriodSeconds"] == 600
    # Exit 75 (SIGTERM after a checkpoint) is not a FailJob code: the Job retries and the trainer resumes.
    fail_job = job()["spec"]["podFailurePolicy"]["rules"][0]
    assert (
        fail_job["action"] == "FailJob"
        and int(exit_codes.ExitCode.RETRYABLE) not in fail_job["onExitCodes"]["values"]
    )


def test_shm_and_scratch_volumes() -> None:
    spec = pod_spec(job(shm_size="8Gi", scratch_size="100Gi", memory="64Gi"))
    assert spec["volumes"] == [
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}},
        {"name": "scratch", "emptyDir": {"sizeLimit": "100Gi"}},
    ]
    mounts = {m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    assert mounts == {"/dev/shm", container.SCRATCH_DIR}


def test_pod_security() -> None:
    spec = pod_spec(job())
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == container.CONTAINER_USER_ID
    assert spec["automountServiceAccountToken"] is False
    sc = spec["containers"][0]["securityContext"]
    assert sc == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def test_scheduling_and_identity_options() -> None:
    j = job(
        service_account="trainer",
        node_selector=["pool=a100"],
        tolerations=["nvidia.com/gpu:NoSchedule"],
        priority_class="training",
        image_pull_secrets=["regcred"],
        image_pull_policy="IfNotPresent",
        labels=["team=ml"],
        annotations=["owner=alice"],
        active_deadline_seconds=3600,
        ttl_seconds_after_finished=60,
        backoff_limit=0,
        namespace="ml",
    )
    spec = pod_spec(j)
    assert spec["serviceAccountName"] == "trainer"
    assert spec["nodeSelector"] == {"pool": "a100"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert spec["priorityClassName"] == "training"
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert j["metadata"]["namespace"] == "ml"
    assert j["metadata"]["labels"]["team"] == "ml"
    assert j["spec"]["template"]["metadata"]["labels"]["team"] == "ml"
    assert j["metadata"]["annotations"]["owner"] == "alice"
    assert (j["spec"]["activeDeadlineSeconds"], j["spec"]["ttlSecondsAfterFinished"]) == (3600, 60)
    assert j["spec"]["backoffLimit"] == 0


def test_our_labels_win_over_user_labels() -> None:
    labels = job(labels=["app.kubernetes.io/managed-by=someone"])["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "launcher"


def test_cpu_only_run_has_no_gpu_limit() -> None:
    assert "nvidia.com/gpu" not in pod_spec(job(gpus=0))["containers"][0]["resources"]["limits"]


def test_endpoint_and_env_but_never_secret_values() -> None:
    j = job(s3_secret="team-s3", s3_endpoint="http://minio.storage:9000", s3_region="eu-west-1", env=["A=1"])
    env = pod_spec(j)["containers"][0]["env"]
    assert env == [
        {"name": "A", "value": "1"},
        {"name": container.S3_ENDPOINT_ENV, "value": "http://minio.storage:9000"},
        {"name": "AWS_REGION", "value": "eu-west-1"},
    ]
    assert "SECRET" not in yaml.safe_dump(j)


def test_output_is_required() -> None:
    with pytest.raises(UsageError, match="trainer arguments need --output URI"):
        job(["--model", "m"])


def test_output_forms() -> None:
    assert trainer_command.output_uri(["--output=s3://a/b"]) == "s3://a/b"
    assert (
        job(["--model", "m"], env=["TRAINER_OUTPUT=s3://x/y"])["metadata"]["annotations"][
            "tf-finetune-k8s/output"
        ]
        == "s3://x/y"
    )


def test_trainer_args_must_not_repeat_the_command() -> None:
    with pytest.raises(UsageError, match="pass only the verb and flags after `--`"):
        job(["trainer", *ARGS])


@pytest.mark.parametrize("verb", container.VERBS)
def test_a_leading_trainer_verb_selects_it(verb: str) -> None:
    args = ["--model", "s3://runs/reviews-42/model", "--data", "s3://d/new.csv", "--output", "s3://out/x"]
    j = job([verb, *args])
    (c,) = pod_spec(j)["containers"]
    assert c["args"] == [verb, *args]
    assert j["metadata"]["annotations"]["tf-finetune-k8s/output"] == "s3://out/x"
    # Same failure policy, secrets and security whatever the verb.
    assert j["spec"]["podFailurePolicy"] == job()["spec"]["podFailurePolicy"]
    assert c["securityContext"] == pod_spec(job())["containers"][0]["securityContext"]


def test_every_verb_needs_an_output() -> None:
    with pytest.raises(UsageError, match="trainer arguments need --output URI"):
        job(["evaluate", "--model", "s3://runs/r/model", "--data", "s3://d/x.csv"])


def test_an_unknown_verb_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown trainer verb 'evalute'"):
        job(["evalute", "--model", "m", "--output", "s3://o/p"])


def test_render_returns_a_list_and_yaml_round_trips() -> None:
    settings = load(JobSettings, {"image": "i"})
    rendered = commands.render_run(settings, ARGS, "reviews-42")
    assert [m["kind"] for m in rendered] == ["Job"]
    assert list(yaml.safe_load_all(manifests.to_yaml(rendered))) == rendered


def test_selector() -> None:
    assert labels.selector() == "app.kubernetes.io/managed-by=launcher,app.kubernetes.io/name=trainer"
    assert labels.selector("r").endswith(",app.kubernetes.io/instance=r")


def test_an_image_pinned_by_digest_is_rendered_as_given() -> None:
    """docs/image.md recommends a digest for multi-node runs: every pod then runs the same bytes."""
    pinned = "registry.example.com/ml/trainer@sha256:" + "0123456789abcdef" * 4
    j = job(image=pinned)
    assert pod_spec(j)["containers"][0]["image"] == pinned
