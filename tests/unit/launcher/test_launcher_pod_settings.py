"""What a shared GPU cluster asks of a training pod: a queue, pod annotations, a runtime class, extra extended
resources, affinity, CPU and memory that follow the GPUs, scratch on a volume claim."""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from test_launcher_manifests import ARGS, job, pod_spec

from launcher import manifests, multinode
from launcher.errors import UsageError
from launcher.settings import JobSettings, load

AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "gpu.example.com/model", "operator": "In", "values": ["a100"]}]}
            ]
        }
    }
}


def limits(j: dict[str, Any]) -> dict[str, str]:
    return pod_spec(j)["containers"][0]["resources"]["limits"]


@pytest.mark.parametrize(
    ("gpus", "cpu", "memory"), [(0, "4", "16Gi"), (1, "4", "16Gi"), (2, "8", "32Gi"), (8, "32", "128Gi")]
)
def test_cpu_and_memory_follow_the_gpus(gpus: int, cpu: str, memory: str) -> None:
    resources = pod_spec(job(gpus=gpus))["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": cpu, "memory": memory}
    assert (resources["limits"]["cpu"], resources["limits"]["memory"]) == (cpu, memory)


def test_given_cpu_and_memory_win_over_the_rule() -> None:
    resources = pod_spec(job(gpus=8, cpu="12", memory="96Gi"))["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "12", "memory": "96Gi"}


def test_a_queue_labels_the_job_only_and_creates_it_suspended() -> None:
    j = job(queue="team-a")
    assert j["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"
    assert j["spec"]["suspend"] is True
    assert "kueue.x-k8s.io/queue-name" not in j["spec"]["template"]["metadata"]["labels"]
    assert "suspend" not in job()["spec"]


def test_a_queued_multi_node_run_is_one_suspended_job() -> None:
    """Kueue admits a Job as one workload: all N pods start together or none does."""
    settings = load(JobSettings, {"image": "i", "queue": "team-a", "nodes": 4})
    rendered = multinode.render(settings, ARGS, "reviews-42")
    (indexed,) = [m for m in rendered if m["kind"] == "Job"]
    assert indexed["spec"]["suspend"] is True and indexed["spec"]["parallelism"] == 4
    assert indexed["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"


def test_pod_annotations_reach_the_pods_and_job_annotations_stay_on_the_job() -> None:
    j = job(
        pod_annotations=["karpenter.sh/do-not-disrupt=true"],
        annotations=["owner=alice"],
    )
    pod = j["spec"]["template"]["metadata"]["annotations"]
    assert pod["karpenter.sh/do-not-disrupt"] == "true" and "owner" not in pod
    assert "karpenter.sh/do-not-disrupt" not in j["metadata"]["annotations"]


def test_runtime_class_extra_resources_and_affinity_file(tmp_path: Path) -> None:
    path = tmp_path / "affinity.yaml"
    path.write_text(
        "affinity:\n" + "\n".join("  " + line for line in yaml.safe_dump(AFFINITY).splitlines()) + "\n"
    )
    j = job(runtime_class="nvidia", resources=["rdma/ib=1", "example.com/fpga=2"], affinity_file=str(path))
    spec = pod_spec(j)
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["affinity"] == AFFINITY
    assert limits(j) == {
        "cpu": "4",
        "memory": "16Gi",
        "nvidia.com/gpu": "1",
        "rdma/ib": "1",
        "example.com/fpga": "2",
    }
    kubernetes_validate.validate(j, "1.32", strict=True)


def test_an_affinity_file_may_hold_the_mapping_alone(tmp_path: Path) -> None:
    path = tmp_path / "affinity.json"
    path.write_text('{"podAntiAffinity": {}}')
    assert pod_spec(job(affinity_file=str(path)))["affinity"] == {"podAntiAffinity": {}}


def test_scratch_on_a_volume_claim_per_pod() -> None:
    j = job(scratch_storage_class="fast-ssd", scratch_size="500Gi")
    (scratch,) = [v for v in pod_spec(j)["volumes"] if v["name"] == manifests.SCRATCH_VOLUME]
    assert scratch == {
        "name": "scratch",
        "ephemeral": {
            "volumeClaimTemplate": {
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "fast-ssd",
                    "resources": {"requests": {"storage": "500Gi"}},
                }
            }
        },
    }
    kubernetes_validate.validate(j, "1.32", strict=True)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            {"resources": ["ib=1"]},
            "invalid --resources: 'ib' is not an extended resource: it needs a domain prefix",
        ),
        (
            {"resources": ["rdma/ib=0"]},
            "invalid --resources: rdma/ib=0: the count must be a whole number of 1",
        ),
        (
            {"resources": ["nvidia.com/gpu=2"]},
            "--resources nvidia.com/gpu is the GPU resource: set its count",
        ),
        ({"scratch_storage_class": "ssd"}, "--scratch-storage-class needs --scratch-size"),
        ({"affinity_file": "/nonexistent.yaml"}, "invalid --affinity-file: cannot read /nonexistent.yaml"),
        ({"queue": "Team A"}, "invalid --queue: 'Team A' is not a valid object name"),
        (
            {"active_deadline_seconds": "1.5s"},
            "invalid --active-deadline-seconds: '1.5s' is not a whole number",
        ),
    ],
)
def test_bad_pod_settings_name_the_flag(flags: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        load(JobSettings, {"image": "i", **flags})


def test_an_affinity_file_of_something_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("nodeSelector: {pool: a100}\n")
    with pytest.raises(UsageError, match="must hold a pod's affinity: a mapping of nodeAffinity"):
        load(JobSettings, {"image": "i", "affinity_file": str(path)})


def test_time_settings_take_durations() -> None:
    settings = load(
        JobSettings,
        {"image": "i", "active_deadline_seconds": "2h", "ttl_seconds_after_finished": "1d"},
    )
    assert (settings.active_deadline_seconds, settings.ttl_seconds_after_finished) == (7200, 86400)
    assert (
        load(
            JobSettings, {"image": "i", "termination_grace_period_seconds": "300"}
        ).termination_grace_period_seconds
        == 300
    )
