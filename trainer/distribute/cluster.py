"""Who the workers of a multi-node run are and which one this process is: TF_CONFIG, built or adopted.

TensorFlow's MultiWorkerMirroredStrategy learns its cluster from `TF_CONFIG`, a JSON document
`{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}` (Ray Train's TensorFlow
backend writes exactly these two keys). It can come from two places:

- already set by whoever started the process (Kubeflow's TFJob, Vertex AI, SageMaker, a user): used as it is;
- built here from Kubernetes' `JOB_COMPLETION_INDEX` (set on every pod of an Indexed Job) and the worker host list
  the launcher passes as `TRAINER_WORKER_HOSTS` (or `--worker-hosts`).

Worker 0 is the chief unless the cluster names a `chief` task. Everything here is pure except
`resolve_cluster`, which reads the environment mapping it is given. No TensorFlow import.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trainer.contract.container import JOB_COMPLETION_INDEX_ENV, WORKER_HOSTS_ENV, WORKER_PORT
from trainer.errors import UsageError

TF_CONFIG_ENV = "TF_CONFIG"
"""TensorFlow's own variable (tf.distribute.cluster_resolver.TFConfigClusterResolver reads it)."""

TRAINING_TASK_TYPES = ("chief", "worker")
"""Task types that hold replicas under MultiWorkerMirroredStrategy; `ps` and `evaluator` are not ours."""


def is_chief_task(cluster: Mapping[str, Sequence[str]], task_type: str, task_index: int) -> bool:
    """Whether this task publishes: the chief task if the cluster has one, else worker 0 (TensorFlow's rule,
    multi_worker_util.is_chief)."""
    if "chief" in cluster:
        return task_type == "chief"
    return task_type == "worker" and task_index == 0


@dataclass(frozen=True)
class ClusterSpec:
    """The workers of a run in index order (chief first when there is one) and this process's task."""

    cluster: dict[str, tuple[str, ...]]
    task_type: str
    task_index: int
    source: str
    """Where it came from: "TF_CONFIG" or "JOB_COMPLETION_INDEX" (for logs and run.json)."""

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every training task's address, chief first."""
        return tuple(host for kind in TRAINING_TASK_TYPES for host in self.cluster.get(kind, ()))

    @property
    def num_workers(self) -> int:
        return len(self.hosts)

    @property
    def address(self) -> str:
        return self.cluster[self.task_type][self.task_index]

    @property
    def worker_index(self) -> int:
        """This process's position in `hosts` (0 is the chief)."""
        return self.hosts.index(self.address)

    @property
    def is_chief(self) -> bool:
        return is_chief_task(self.cluster, self.task_type, self.task_index)

    @property
    def peers(self) -> tuple[str, ...]:
        """The other workers' addresses: who this process waits for."""
        return tuple(host for host in self.hosts if host != self.address)

    def tf_config(self) -> dict[str, Any]:
        """The TF_CONFIG document for this process."""
        return {
            "cluster": {kind: list(hosts) for kind, hosts in self.cluster.items()},
            "task": {"type": self.task_type, "index": self.task_index},
        }


def build_tf_config(hosts: Sequence[str], index: int) -> dict[str, Any]:
    """TF_CONFIG for worker `index` of `hosts` (no chief task: worker 0 acts as chief)."""
    if not hosts:
        raise UsageError("the worker host list is empty: give every worker's host:port, in index order")
    if not 0 <= index < len(hosts):
        raise UsageError(f"worker index {index} is out of range for {len(hosts)} worker hosts {list(hosts)}")
    for host in hosts:
        _check_address(host)
    if len(set(hosts)) != len(hosts):
        raise UsageError(f"the worker host list repeats an address: {list(hosts)}")
    return {"cluster": {"worker": list(hosts)}, "task": {"type": "worker", "index": index}}


def parse_hosts(value: str) -> list[str]:
    """`a:2222,b:2222` -> ["a:2222", "b:2222"] (blanks ignored)."""
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_tf_config(text: str) -> ClusterSpec:
    """A ClusterSpec from a TF_CONFIG document; UsageError naming what is wrong."""
    try:
        config = json.loads(text)
    except ValueError as e:
        raise UsageError(f"{TF_CONFIG_ENV} is not valid JSON: {e}") from e
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise UsageError(f'{TF_CONFIG_ENV} needs a "cluster" mapping of task types to host:port lists')
    task = config.get("task") or {}
    task_type, index = task.get("type"), task.get("index", 0)
    unsupported = sorted(set(config["cluster"]) - set(TRAINING_TASK_TYPES) - {"evaluator"})
    if unsupported:
        raise UsageError(
            f"{TF_CONFIG_ENV} has {', '.join(unsupported)} tasks: MultiWorkerMirroredStrategy uses only chief and "
            "worker tasks (parameter servers belong to ParameterServerStrategy)"
        )
    if task_type not in TRAINING_TASK_TYPES:
        raise UsageError(
            f"{TF_CONFIG_ENV} task type {task_type!r} is not one of {', '.join(TRAINING_TASK_TYPES)}"
        )
    cluster = {
        kind: tuple(str(host) for host in config["cluster"][kind])
        for kind in TRAINING_TASK_TYPES
        if config["cluster"].get(kind)
    }
    if not isinstance(index, int) or not 0 <= index < len(cluster.get(task_type, ())):
        raise UsageError(
            f"{TF_CONFIG_ENV} task index {index!r} is not a {task_type} of the cluster {cluster}"
        )
    for host in (h for hosts in cluster.values() for h in hosts):
        _check_address(host)
    return ClusterSpec(cluster=cluster, task_type=task_type, task_index=index, source=TF_CONFIG_ENV)


def resolve_cluster(
    env: Mapping[str, str], worker_hosts: str | Sequence[str] | None = None
) -> ClusterSpec | None:
    """The run's cluster: an existing TF_CONFIG wins; else JOB_COMPLETION_INDEX plus the worker host list
    (`worker_hosts`, else `TRAINER_WORKER_HOSTS`); None for a single-node run (neither given)."""
    if env.get(TF_CONFIG_ENV, "").strip():
        return parse_tf_config(env[TF_CONFIG_ENV])
    hosts_value = worker_hosts if worker_hosts is not None else env.get(WORKER_HOSTS_ENV)
    hosts = parse_hosts(hosts_value) if isinstance(hosts_value, str) else list(hosts_value or [])
    if not hosts:
        return None
    raw_index = env.get(JOB_COMPLETION_INDEX_ENV)
    if raw_index is None:
        if len(hosts) == 1:
            raw_index = "0"
        else:
            raise UsageError(
                f"{len(hosts)} worker hosts are given ({WORKER_HOSTS_ENV}) but not this worker's index: "
                f"run as an Indexed Job (Kubernetes sets {JOB_COMPLETION_INDEX_ENV}) or set {TF_CONFIG_ENV}"
            )
    try:
        index = int(raw_index)
    except ValueError as e:
        raise UsageError(f"{JOB_COMPLETION_INDEX_ENV}={raw_index!r} is not an integer") from e
    config = build_tf_config(hosts, index)
    return ClusterSpec(
        cluster={"worker": tuple(config["cluster"]["worker"])},
        task_type="worker",
        task_index=index,
        source=JOB_COMPLETION_INDEX_ENV,
    )


def split_address(address: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"worker address {address!r} is not host:port (e.g. train-0.train:{WORKER_PORT})")
    return host.strip("[]"), int(port)


def _check_address(address: str) -> None:
    split_address(address)
