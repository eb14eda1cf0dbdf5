"""The only changes made to what `launcher render` writes so that podman runs it on one host as a cluster would.

Everything else in the rendered pod spec reaches podman as rendered: the image, command and arguments, env from the
Secret (`secretRef` / `secretKeyRef`), UID/GID 1000, the read-only root, dropped capabilities, the `/tmp` emptyDir,
resources. What podman 4.3 and a single host force (measured; /work/shared/CONTAINERS.md):

1. Job -> Pod: `podman kube play` has no `kind: Job`, so each pod the Job controller would create is written out:
   the Job's `spec.template`, named `<job>-<index>` as an Indexed Job names its pods. The Job-level policy
   (backoffLimit, podFailurePolicy, TTL) belongs to the controller and has nothing to act on here; the headless
   Service only gives pods DNS names, which (4) replaces, and the NetworkPolicy has no pod network to act on
   (the pods share the host's).
2. No `/dev/shm` emptyDir: podman makes `emptyDir: {medium: Memory}` a root-owned 0755 directory where Kubernetes
   makes it 0777, so as UID 1000 Python's multiprocessing locks fail (`SemLock ... PermissionError`, which Keras
   hits under MultiWorkerMirroredStrategy); podman's own `/dev/shm` (tmpfs, 1777) serves instead.
3. Indexed Jobs only, `JOB_COMPLETION_INDEX=<i>`: Kubernetes sets it on every pod of an Indexed Job; podman
   knows no index.
4. Indexed Jobs only, worker addresses on loopback: every pod shares the host's network, so worker i listens on
   127.0.0.1:<ports[i]> (`TRAINER_WORKER_HOSTS`) instead of `<job>-<i>.<service>:2222`, which would resolve
   nowhere and collide on one port; for the same reason the pod declares no container `ports` (podman: "PortMappings
   can only be used with Bridge or slirp4netns networking"). `subdomain` stays: podman accepts it.
"""

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from trainer.contract.container import JOB_COMPLETION_INDEX_ENV, WORKER_HOSTS_ENV

LOOPBACK = "127.0.0.1"
SHM_PATH = "/dev/shm"


def _job(documents: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    jobs = [doc for doc in documents if doc.get("kind") == "Job"]
    if len(jobs) != 1:
        raise ValueError(f"expected exactly one Job among the rendered documents, found {len(jobs)}")
    return jobs[0]


def _drop_memory_shm(spec: dict[str, Any]) -> None:
    memory = {
        v["name"] for v in spec.get("volumes", []) if (v.get("emptyDir") or {}).get("medium") == "Memory"
    }
    shm = {
        mount["name"]
        for container in spec["containers"]
        for mount in container.get("volumeMounts", [])
        if mount["mountPath"] == SHM_PATH and mount["name"] in memory
    }
    for container in spec["containers"]:
        container["volumeMounts"] = [m for m in container.get("volumeMounts", []) if m["name"] not in shm]
    spec["volumes"] = [v for v in spec.get("volumes", []) if v["name"] not in shm]


def _set_env(container: dict[str, Any], name: str, value: str) -> None:
    env = [item for item in container.get("env", []) if item["name"] != name]
    container["env"] = [*env, {"name": name, "value": value}]


def _on_loopback(spec: dict[str, Any], index: int, ports: Sequence[int]) -> None:
    hosts = ",".join(f"{LOOPBACK}:{port}" for port in ports)
    for container in spec["containers"]:
        container.pop("ports", None)
        _set_env(container, JOB_COMPLETION_INDEX_ENV, str(index))
        _set_env(container, WORKER_HOSTS_ENV, hosts)


def single_host_pods(
    documents: Sequence[Mapping[str, Any]], ports: Sequence[int] = ()
) -> list[dict[str, Any]]:
    """One Pod per pod the rendered Job would run (its `completions` for an Indexed Job, else one); an Indexed
    Job needs one free loopback port per worker in `ports`. The input is not modified."""
    job = _job(documents)
    indexed = job["spec"].get("completionMode") == "Indexed"
    count = job["spec"].get("completions", 1) if indexed else 1
    if indexed and len(ports) != count:
        raise ValueError(f"an Indexed Job of {count} pods needs {count} ports, got {len(ports)}")
    pods = []
    for index in range(count):
        template = copy.deepcopy(job["spec"]["template"])
        metadata = {**template.get("metadata", {}), "name": f"{job['metadata']['name']}-{index}"}
        spec = template["spec"]
        _drop_memory_shm(spec)
        if indexed:
            _on_loopback(spec, index, ports)
        pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
    return pods
