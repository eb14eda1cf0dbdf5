"""GPU time from what the pods say: start to end (or now), times GPUs, zero for a pod never bound to a node."""

from datetime import UTC, datetime, timedelta

from kubernetes import client

from launcher.usage import pod_gpus, pod_usage

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def pod(
    gpus: int, phase: str, start: datetime | None, end: datetime | None = None, node: str | None = "n1"
) -> client.V1Pod:
    limits = {"cpu": "4", "memory": "16Gi", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
    container = client.V1Container(name="trainer", resources=client.V1ResourceRequirements(limits=limits))
    statuses = None
    if end is not None:
        terminated = client.V1ContainerStateTerminated(exit_code=0, finished_at=end)
        statuses = [
            client.V1ContainerStatus(
                name="trainer",
                image="i",
                image_id="",
                ready=False,
                restart_count=0,
                state=client.V1ContainerState(terminated=terminated),
            )
        ]
    return client.V1Pod(
        spec=client.V1PodSpec(containers=[container], node_name=node),
        status=client.V1PodStatus(phase=phase, start_time=start, container_statuses=statuses),
    )


def test_a_finished_pod_holds_its_gpus_from_start_to_its_containers_end() -> None:
    used = pod_usage(pod(4, "Succeeded", T0, T0 + timedelta(minutes=90)), now=T0 + timedelta(days=1))
    assert (used.gpus, used.seconds, used.gpu_seconds, used.running) == (4, 5400.0, 21600.0, False)


def test_a_running_pod_counts_up_to_now() -> None:
    used = pod_usage(pod(2, "Running", T0), now=T0 + timedelta(minutes=30))
    assert (used.gpu_seconds, used.running) == (3600.0, True)


def test_a_pod_never_bound_to_a_node_held_nothing() -> None:
    assert pod_usage(pod(8, "Pending", None, node=None), now=T0).gpu_seconds == 0.0


def test_gpus_are_the_limit_of_the_gpu_resource_given() -> None:
    p = pod(0, "Running", T0)
    p.spec.containers[0].resources.limits["amd.com/gpu"] = "2"
    assert (pod_gpus(p), pod_gpus(p, "amd.com/gpu")) == (0, 2)
