"""The names the launcher marks its objects with, and selects them by: labels, annotations, the container name.

`list`, `logs`, `status` and `delete` find a run's Job and pods only through these.
"""

from collections.abc import Mapping

# Kubernetes "Recommended Labels".
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
APP_NAME = "trainer"
MANAGED_BY = "launcher"

PREFIX = "tf-finetune-k8s"
"""Our own label/annotation prefix (a valid DNS subdomain, as the API server requires of prefixes)."""
ANNOTATION_OUTPUT = f"{PREFIX}/output"
"""Where the trainer publishes the run's artifacts (its `--output`); `launcher status` shows it."""

ANNOTATION_GPU_RESOURCE = f"{PREFIX}/gpu-resource"
"""The extended resource the run's GPUs are (`--gpu-resource`): `launcher status` counts GPU-hours by it."""
ANNOTATION_PARAMS = f"{PREFIX}/params"
"""A sweep trial's parameters, as JSON: `sweep status` shows them."""
LABEL_SWEEP = f"{PREFIX}/sweep"
"""The sweep a trial belongs to: `sweep status` and `sweep delete` select its Jobs by it."""

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
"""Kueue's queue label (kueue.x-k8s.io/v1beta1): the LocalQueue a Job is submitted to."""
COMPLETION_INDEX_LABEL = "batch.kubernetes.io/job-completion-index"
"""Set by Kubernetes on the pods of an Indexed Job (1.28+): index 0 is a multi-node run's chief."""

CONTAINER_NAME = "trainer"
"""The trainer's container in every pod (logs are read from it; the pod failure policy matches its exit codes)."""


def selector(name: str | None = None) -> str:
    """Label selector of everything the launcher manages, or of one run's Job and pods."""
    parts = [f"{LABEL_MANAGED_BY}={MANAGED_BY}", f"{LABEL_NAME}={APP_NAME}"]
    if name is not None:
        parts.append(f"{LABEL_INSTANCE}={name}")
    return ",".join(parts)


def own_labels(name: str) -> dict[str, str]:
    """The launcher's own labels of run `name`: what it selects by (a Service selects pods by these alone, since a
    user's labels may match other pods)."""
    return {LABEL_NAME: APP_NAME, LABEL_INSTANCE: name, LABEL_MANAGED_BY: MANAGED_BY}


def labels(user_labels: Mapping[str, str], name: str) -> dict[str, str]:
    """Labels on the Job and its pods: the user's, then ours (ours win: the launcher selects by them)."""
    return {**user_labels, **own_labels(name)}
