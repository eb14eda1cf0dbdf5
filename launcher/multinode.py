"""Pure builders of a multi-node run (`--nodes N`): an Indexed Job of N pods, the headless Service that gives each
pod a stable DNS name and the NetworkPolicy that lets only the run's own pods reach them, on Kubernetes' own
primitives (KEP-2214 Indexed Job, GA in 1.24; "Job with Pod-to-Pod Communication").

- The Job is the single-node Job of `manifests.build_job` with `completionMode: Indexed` and
  `completions = parallelism = N`. Kubernetes names pod i `<job>-<i>`, sets its hostname to that and gives it
  `JOB_COMPLETION_INDEX=i`; with `subdomain: <service>` and a headless Service of that name, pod i resolves as
  `<job>-<i>.<service>` from every pod of the namespace.
- Every pod gets the same worker list (`TRAINER_WORKER_HOSTS`); the trainer builds its TF_CONFIG from that and its
  index, and worker 0 is the chief (the only one that publishes).
- The Service is headless (`clusterIP: None`: DNS records per pod, no virtual IP) and publishes not-ready
  addresses, because the trainer has no readiness probe and peers must resolve each other while they start.

Failure handling. MultiWorkerMirroredStrategy's collectives cannot survive one worker restarting on its own:
every worker holds a share of every step. So the Job keeps the single-node podFailurePolicy (FailJob on the
trainer's non-retryable exit codes, failures that a preemption or eviction causes do not count) and makes the
group restart together: when one pod fails, TensorFlow's coordination service stops the others' collectives,
they exit too, and the Job recreates every failed index; the new pods meet again (the trainer waits up to
`--peer-timeout-seconds` for its peers) and resume from the newest checkpoint under the output. One group
failure costs up to N pod failures, hence `backoffLimit = --backoff-limit x N`. JobSet's
`failurePolicy.restartStrategy: Recreate` (and TFJob's restart of all replicas) do the same with an operator;
see docs/multinode.md.
"""

import copy
from collections.abc import Sequence
from typing import Any

from launcher import manifests, trainer_command
from launcher.errors import UsageError
from launcher.labels import CONTAINER_NAME, labels, own_labels
from launcher.settings import JobSettings
from trainer.contract import container
from trainer.contract.workers import MAX_HOSTNAME_LENGTH, service_name, worker_hosts

Manifest = manifests.Manifest


def check_name(job_name: str, nodes: int) -> None:
    longest = f"{job_name}-{nodes - 1}"
    if len(longest) > MAX_HOSTNAME_LENGTH:
        raise UsageError(
            f"job name {job_name!r} is too long for {nodes} nodes: pod hostname {longest!r} would exceed "
            f"{MAX_HOSTNAME_LENGTH} characters; pass a shorter --name"
        )


def build_indexed_job(
    settings: JobSettings, trainer_args: Sequence[str], name: str, namespace: str | None = None
) -> Manifest:
    """The single-node Job turned into an Indexed Job of `settings.nodes` pods."""
    nodes = settings.nodes
    if nodes < 2:
        raise UsageError(f"a multi-node run needs --nodes 2 or more (got {nodes})")
    check_name(name, nodes)
    verb, _ = trainer_command.split_verb(trainer_args)
    if verb != container.DEFAULT_VERB:
        raise UsageError(f"--nodes applies to `{container.DEFAULT_VERB}` runs only, not `{verb}`")
    job = copy.deepcopy(manifests.build_job(settings, trainer_args, name, namespace))
    spec = job["spec"]
    spec["completionMode"] = "Indexed"
    spec["completions"] = nodes
    spec["parallelism"] = nodes
    # One failure of the group costs up to one pod failure per node (see the module docstring).
    spec["backoffLimit"] = settings.backoff_limit * nodes
    pod = spec["template"]["spec"]
    pod["subdomain"] = service_name(name)
    trainer = next(c for c in pod["containers"] if c["name"] == CONTAINER_NAME)
    trainer["ports"] = [
        {"name": container.WORKER_PORT_NAME, "containerPort": container.WORKER_PORT, "protocol": "TCP"}
    ]
    env: list[dict[str, Any]] = [e for e in trainer.get("env", []) if e["name"] != container.WORKER_HOSTS_ENV]
    env.append({"name": container.WORKER_HOSTS_ENV, "value": ",".join(worker_hosts(name, nodes))})
    trainer["env"] = env
    return job


def build_service(settings: JobSettings, name: str, namespace: str | None = None) -> Manifest:
    """The headless Service that gives pod i of the Indexed Job the DNS name `<job>-<i>.<service>`."""
    metadata: dict[str, Any] = {
        "name": service_name(name),
        **({"namespace": namespace} if namespace else {}),
        "labels": labels(settings.labels, name),
    }
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "clusterIP": "None",
            # Peers must resolve each other while they start; the trainer has no readiness probe.
            "publishNotReadyAddresses": True,
            "selector": own_labels(name),
            "ports": [
                {
                    "name": container.WORKER_PORT_NAME,
                    "port": container.WORKER_PORT,
                    "targetPort": container.WORKER_PORT,
                    "protocol": "TCP",
                }
            ],
        },
    }


def build_network_policy(settings: JobSettings, name: str, namespace: str | None = None) -> Manifest:
    """Ingress to the run's pods only from the run's own pods.

    TensorFlow's gRPC worker port has no authentication: whoever reaches it can run code in the process, which
    holds the bucket credentials. Selecting the pods in an Ingress policy isolates them, and the one rule admits
    their peers on every port (NCCL opens its own ports between workers besides 2222). Egress is not restricted:
    the pods need object storage, DNS and the Hub. Takes effect only where the network plugin enforces
    NetworkPolicy (Calico, Cilium, ...).
    """
    metadata: dict[str, Any] = {
        "name": name,
        **({"namespace": namespace} if namespace else {}),
        "labels": labels(settings.labels, name),
    }
    run_pods = {"matchLabels": own_labels(name)}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata,
        "spec": {
            "podSelector": run_pods,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": run_pods}]}],
        },
    }


def render(
    settings: JobSettings, trainer_args: Sequence[str], name: str, namespace: str | None = None
) -> list[Manifest]:
    """The manifests of a multi-node run in creation order: the Job first (its uid owns the others), then the
    NetworkPolicy (before any peer can listen) and the headless Service. Every one carries the run's labels, so
    `kubectl delete job,service,networkpolicy -l app.kubernetes.io/instance=<name>` removes a rendered run."""
    return [
        build_indexed_job(settings, trainer_args, name, namespace),
        build_network_policy(settings, name, namespace),
        build_service(settings, name, namespace),
    ]


def owned_by(manifest: Manifest, job: dict[str, Any]) -> Manifest:
    """`manifest` with an ownerReference to the created Job, so deleting the Job (or its TTL) removes it too."""
    if manifest.get("kind") == "Job" or not job.get("metadata", {}).get("uid"):
        return manifest
    owned = copy.deepcopy(manifest)
    owned["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": job["metadata"]["name"],
            "uid": job["metadata"]["uid"],
            "blockOwnerDeletion": False,
        }
    ]
    return owned
