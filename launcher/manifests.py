"""Pure builders of the Kubernetes manifests for a training run: settings in, plain dicts out.

Nothing here reads the environment, files or the network, so `render` and `submit` send the very same objects.
A multi-node run (`launcher.multinode`) builds on this module's Job; `launcher.commands.plan` picks between them.
"""

from collections.abc import Sequence
from typing import Any

import yaml

from launcher import trainer_command
from launcher.labels import ANNOTATION_GPU_RESOURCE, ANNOTATION_OUTPUT, CONTAINER_NAME, QUEUE_LABEL, labels
from launcher.settings import JobSettings
from trainer.contract import container, exit_codes

Manifest = dict[str, Any]

SHM_VOLUME = "dshm"
SHM_PATH = "/dev/shm"
"""Container runtimes give /dev/shm 64 MiB by default; NCCL and tf.data need more (NVIDIA/nccl#525), so it
is a memory-backed emptyDir sized by `--shm-size`."""
SCRATCH_VOLUME = "scratch"

DISRUPTION_TARGET = "DisruptionTarget"
"""Pod condition the kubelet/scheduler sets on preemption, eviction or node drain (Kubernetes "Pod disruption
conditions"); a podFailurePolicy `Ignore` rule keeps such failures off the backoff limit."""


def _env(settings: JobSettings) -> list[dict[str, Any]]:
    env = dict(settings.env)
    if settings.s3_endpoint:
        env[container.S3_ENDPOINT_ENV] = settings.s3_endpoint
    if settings.s3_region:
        env["AWS_REGION"] = settings.s3_region
    plain = [{"name": key, "value": value} for key, value in env.items()]
    return plain + [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
        for key, ref in settings.env_from_secret.items()
    ]


def _resources(settings: JobSettings) -> dict[str, Any]:
    requests: dict[str, Any] = {"cpu": settings.cpu, "memory": settings.memory}
    limits: dict[str, Any] = {"cpu": settings.cpu_limit or settings.cpu, "memory": settings.memory}
    # Extended resources are given as limits; the request defaults to the same value.
    if settings.gpus:
        limits[settings.gpu_resource] = str(settings.gpus)
    limits.update((name, str(count)) for name, count in settings.resources.items())
    return {"requests": requests, "limits": limits}


def _scratch(settings: JobSettings) -> dict[str, Any]:
    """An emptyDir, or with `--scratch-storage-class` a generic ephemeral volume: a claim per pod, made with the
    pod and deleted with it (so the workers of a multi-node run never share one)."""
    if not settings.scratch_storage_class:
        return {"emptyDir": {"sizeLimit": settings.scratch_size} if settings.scratch_size else {}}
    claim = {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": settings.scratch_storage_class,
        "resources": {"requests": {"storage": settings.scratch_size}},
    }
    return {"ephemeral": {"volumeClaimTemplate": {"spec": claim}}}


def build_container(settings: JobSettings, trainer_args: Sequence[str]) -> dict[str, Any]:
    """The trainer container: `trainer <verb> <flags>` (verb: train unless the arguments start with one) with
    resources, env, mounts and a locked-down context."""
    verb, flags = trainer_command.split_verb(trainer_args)
    spec: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": settings.image,
        "command": [container.TRAINER_EXECUTABLE],
        "args": [verb, *flags],
        "resources": _resources(settings),
        "volumeMounts": [
            {"name": SHM_VOLUME, "mountPath": SHM_PATH},
            {"name": SCRATCH_VOLUME, "mountPath": container.SCRATCH_DIR},
        ],
        # On failure the last log lines become the termination message, which `launcher status` shows.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            # The trainer writes only under SCRATCH_DIR, an emptyDir.
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if settings.image_pull_policy:
        spec["imagePullPolicy"] = settings.image_pull_policy
    if env := _env(settings):
        spec["env"] = env
    if settings.s3_secret:
        # Every key of the Secret becomes an env var; values never appear in the manifest.
        spec["envFrom"] = [{"secretRef": {"name": settings.s3_secret}}]
    return spec


def build_pod_spec(settings: JobSettings, trainer_args: Sequence[str]) -> dict[str, Any]:
    """The pod spec of a training pod."""
    spec: dict[str, Any] = {
        # Never: a failed trainer makes a new pod, so podFailurePolicy sees its exit code and logs survive.
        "restartPolicy": "Never",
        # On SIGTERM the trainer checkpoints at the next step and exits 75 (retryable); this is its time to do so.
        "terminationGracePeriodSeconds": settings.termination_grace_period_seconds,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": container.CONTAINER_USER_ID,
            "runAsGroup": container.CONTAINER_USER_ID,
            "fsGroup": container.CONTAINER_USER_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [build_container(settings, trainer_args)],
        "volumes": [
            {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": settings.shm_size}},
            {"name": SCRATCH_VOLUME, **_scratch(settings)},
        ],
    }
    if settings.service_account:
        spec["serviceAccountName"] = settings.service_account
    if settings.priority_class:
        spec["priorityClassName"] = settings.priority_class
    if settings.node_selector:
        spec["nodeSelector"] = dict(settings.node_selector)
    if settings.tolerations:
        spec["tolerations"] = [t.model_dump(exclude_none=True) for t in settings.tolerations]
    if settings.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": secret} for secret in settings.image_pull_secrets]
    if settings.runtime_class:
        spec["runtimeClassName"] = settings.runtime_class
    if settings.affinity:
        spec["affinity"] = settings.affinity
    return spec


def pod_failure_policy() -> dict[str, Any]:
    """Fail at once on the trainer's bad-input exit codes; preemption does not count against backoffLimit."""
    return {
        "rules": [
            {
                "action": "FailJob",
                "onExitCodes": {
                    "containerName": CONTAINER_NAME,
                    "operator": "In",
                    "values": sorted(int(code) for code in exit_codes.NON_RETRYABLE),
                },
            },
            {"action": "Ignore", "onPodConditions": [{"type": DISRUPTION_TARGET, "status": "True"}]},
        ]
    }


def build_job(
    settings: JobSettings, trainer_args: Sequence[str], name: str, namespace: str | None = None
) -> Manifest:
    """The batch/v1 Job of a single-node run `name` (UsageError if the trainer arguments are unusable)."""
    uri = trainer_command.check(trainer_args, settings.env)
    metadata: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    # Kueue reads the queue from the Job (never from its pods, which its pod integration would take for its own).
    queue = {QUEUE_LABEL: settings.queue} if settings.queue else {}
    metadata["labels"] = {**labels(settings.labels, name), **queue}
    metadata["annotations"] = {**settings.annotations, ANNOTATION_OUTPUT: uri}
    if settings.gpus:
        metadata["annotations"][ANNOTATION_GPU_RESOURCE] = settings.gpu_resource
    pod_annotations = {**settings.pod_annotations, ANNOTATION_OUTPUT: uri}
    spec: dict[str, Any] = {
        "backoffLimit": settings.backoff_limit,
        "completions": 1,
        "parallelism": 1,
        "podFailurePolicy": pod_failure_policy(),
        "template": {
            "metadata": {"labels": labels(settings.labels, name), "annotations": pod_annotations},
            "spec": build_pod_spec(settings, trainer_args),
        },
    }
    if settings.queue:
        spec["suspend"] = True  # Kueue unsuspends it on admission; its webhook would suspend it anyway
    if settings.active_deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = settings.active_deadline_seconds
    if settings.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = settings.ttl_seconds_after_finished
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}


def to_yaml(manifests: Sequence[Manifest]) -> str:
    """A multi-document YAML stream, as `kubectl apply -f -` reads it."""
    return yaml.safe_dump_all(list(manifests), sort_keys=False, default_flow_style=False)
