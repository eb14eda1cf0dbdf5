"""Choose the distribution strategy, and the facts about this process within it (workers, chief, sharding).

`configure_devices` must run before TensorFlow initializes its devices, so the CLI calls it first thing; the rest of
the trainer only sees the strategy it is given. The batch arithmetic is the run's plan (`distribute.plan`).

Multi-node (a `cluster.ClusterSpec` with more than one worker): `make_strategy` returns TensorFlow's
`MultiWorkerMirroredStrategy` (NCCL collectives between GPUs, RING over gRPC on CPU). Measured with TF 2.21:

- it must be created before any other TensorFlow op runs in the process, or it raises "Collective ops must be
  configured at program startup";
- its constructor blocks, without a timeout, until every worker has started, and the process ignores SIGTERM
  meanwhile (the blocking call holds the GIL, so not even a helper thread can time it out); so the workers first
  meet in `wait_for_peers` (plain TCP on the worker port, bounded by `peer_timeout_seconds`, RetryableError naming
  the missing workers), and only then create the strategy;
- once training runs, a worker that dies is noticed by the others within seconds (coordination-service
  heartbeats: 2.5 s after the chief was killed, 11 s after a non-chief, on loopback): their collectives raise
  `LOST_PEER_ERRORS`, which `peer_lost` turns into a RetryableError; the group must restart together;
- on CPU it has one replica per worker: logical CPU devices from `--cpu-replicas` are not mirrored over (the
  worker's devices are just `/job:worker/task:i/device:CPU:0`);
- `model.fit` under it needs tf-keras (Keras 3 fails with "Attempt to convert a value (PerReplica...)").
"""

import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import tensorflow as tf

from trainer.distribute.cluster import TF_CONFIG_ENV, ClusterSpec, is_chief_task
from trainer.distribute.rendezvous import unreachable, wait_for_peers
from trainer.errors import RetryableError
from trainer.settings.train import DEFAULT_PEER_TIMEOUT_SECONDS

log = logging.getLogger(__name__)

ShardMode = Literal["FILE", "DATA", "OFF"]


def configure_devices(cpu_replicas: int) -> None:
    """Split the CPU into `cpu_replicas` logical devices when no GPU is visible (tests, laptops)."""
    if cpu_replicas <= 1 or tf.config.list_physical_devices("GPU"):
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas)


def make_strategy(
    cluster: ClusterSpec | None = None,
    *,
    peer_timeout_seconds: float = DEFAULT_PEER_TIMEOUT_SECONDS,
    environ: dict[str, str] | None = None,
) -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy for a cluster of several workers; else MirroredStrategy over every visible GPU
    (or logical CPU device); the default strategy on one device.

    With a cluster, call this before any other TensorFlow op; it exports the cluster as TF_CONFIG (in `environ`,
    default `os.environ`) when it was built from JOB_COMPLETION_INDEX, since TensorFlow reads it from there.
    """
    if cluster is not None and cluster.num_workers > 1:
        env = os.environ if environ is None else environ
        if not env.get(TF_CONFIG_ENV):
            env[TF_CONFIG_ENV] = json.dumps(cluster.tf_config())
        return _multi_worker_strategy(cluster, peer_timeout_seconds)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    cpus = tf.config.list_logical_devices("CPU")
    if not gpus and len(cpus) > 1:
        return tf.distribute.MirroredStrategy(devices=[d.name for d in cpus])
    return tf.distribute.get_strategy()


def has_gpus() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))


def gpu_compute_capabilities() -> tuple[tuple[int, int] | None, ...]:
    """Each visible GPU's compute capability as TensorFlow reports it (None where it reports none)."""
    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        value = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        capabilities.append((int(value[0]), int(value[1])) if value else None)
    return tuple(capabilities)


def describe(strategy: tf.distribute.Strategy) -> dict[str, object]:
    """Strategy facts for logs and run.json: class name, workers, total replicas, this worker's devices."""
    try:
        devices = list(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy has no device list: it runs where TensorFlow places ops
        devices = [(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU"))[0].name]
    facts: dict[str, object] = {
        "strategy": strategy_name(strategy),
        "workers": num_workers(strategy),
        "replicas": strategy.num_replicas_in_sync,
        "devices": devices,
    }
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        facts["worker_index"] = worker_index(strategy)
        facts["chief"] = is_chief(strategy)
        facts["communication"] = _communication(strategy)
    return facts


def strategy_name(strategy: tf.distribute.Strategy) -> str:
    """The strategy's public TensorFlow class name (MultiWorkerMirroredStrategy's class is an internal
    CollectiveAllReduceStrategy, so `type(strategy).__name__` would say that)."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "MultiWorkerMirroredStrategy"
    return type(strategy).__name__


def num_workers(strategy: tf.distribute.Strategy) -> int:
    """Processes taking part in every step (1 unless multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1
    spec = resolver.cluster_spec().as_dict()
    return max(1, sum(len(spec.get(kind, [])) for kind in ("chief", "worker")))


def worker_index(strategy: tf.distribute.Strategy) -> int:
    """This process's position among the workers, chief first (0 when not multi-worker)."""
    if num_workers(strategy) == 1:
        return 0
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec().as_dict()
    hosts = [*spec.get("chief", []), *spec.get("worker", [])]
    own = spec[resolver.task_type][resolver.task_id]
    return hosts.index(own)


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether this process publishes: always on one worker; on several, `cluster.is_chief_task`."""
    strategy = strategy or tf.distribute.get_strategy()
    if num_workers(strategy) == 1:
        return True
    resolver = strategy.cluster_resolver
    return is_chief_task(resolver.cluster_spec().as_dict(), resolver.task_type, resolver.task_id)


def _communication(strategy: tf.distribute.Strategy) -> str:
    options = getattr(strategy.extended, "_communication_options", None)
    implementation = getattr(options, "implementation", None)
    return getattr(implementation, "name", str(implementation))


def write_dir(path: Path, strategy: tf.distribute.Strategy | None = None) -> Path:
    """Where this worker writes something every worker must save (TensorFlow's collectives make every worker take
    part in a save): `path` on the chief, a throwaway `workertemp_<index>` beside it on the others (tf-keras
    distributed_file_utils' pattern); remove it with `remove_temp_dir` once written."""
    strategy = strategy or tf.distribute.get_strategy()
    if is_chief(strategy):
        return path
    return path.parent / f"workertemp_{worker_index(strategy)}" / path.name


def remove_temp_dir(written: Path, path: Path) -> None:
    """Delete what a non-chief wrote to `write_dir(path)` (no-op on the chief, where written == path)."""
    if written != path:
        shutil.rmtree(written.parent, ignore_errors=True)


@contextmanager
def chief_or_temp_dir(path: Path, strategy: tf.distribute.Strategy | None = None) -> Iterator[Path]:
    """`with chief_or_temp_dir(p) as d: model.save_pretrained(d)`: the chief keeps `p`, others' copies vanish."""
    target = write_dir(path, strategy)
    try:
        yield target
    finally:
        remove_temp_dir(target, path)


def choose_sharding(num_files: int, num_workers: int, *, file_source: bool = False) -> tuple[ShardMode, str]:
    """How a multi-worker run splits each epoch's input between workers, and why (for the log).

    FILE (each worker reads its own files) needs a file-based tf.data source with at least one file per worker;
    otherwise DATA: every worker builds the same pipeline and keeps its part of every global batch. One worker:
    OFF (MirroredStrategy splits each global batch between its replicas itself).
    """
    if num_workers <= 1:
        return "OFF", "one worker feeds all its replicas"
    if not file_source:
        return (
            "DATA",
            "the input is tokenized in memory, not read from files by tf.data: each worker keeps its part",
        )
    if num_files >= num_workers:
        return "FILE", f"{num_files} files for {num_workers} workers: each worker reads its own files"
    return (
        "DATA",
        f"only {num_files} file(s) for {num_workers} workers: each worker keeps its part of every batch",
    )


def shard_policy(mode: ShardMode) -> tf.data.experimental.AutoShardPolicy:
    """The tf.data AutoShardPolicy for a sharding choice."""
    return getattr(tf.data.experimental.AutoShardPolicy, mode)


def input_shard_policy(
    strategy: tf.distribute.Strategy, num_files: int = 0, *, file_source: bool = False
) -> tf.data.experimental.AutoShardPolicy:
    """`choose_sharding` for this strategy, logged once; the policy to give `pipeline.build_dataset`."""
    mode, reason = choose_sharding(num_files, num_workers(strategy), file_source=file_source)
    if mode != "OFF" and (mode, reason) not in _LOGGED_CHOICES:
        _LOGGED_CHOICES.add((mode, reason))
        log.info("input sharding=%s across %d workers: %s", mode, num_workers(strategy), reason)
    return shard_policy(mode)


_LOGGED_CHOICES: set[tuple[str, str]] = set()
"""Sharding choices already logged (the training dataset is rebuilt every epoch)."""


def _multi_worker_strategy(cluster: ClusterSpec, peer_timeout_seconds: float) -> tf.distribute.Strategy:
    implementation = (
        tf.distribute.experimental.CommunicationImplementation.NCCL
        if tf.config.list_physical_devices("GPU")
        else tf.distribute.experimental.CommunicationImplementation.RING
    )
    log.info(
        "multi-worker: worker %d of %d (%s, from %s), %s collectives; waiting up to %.0fs for %s",
        cluster.worker_index,
        cluster.num_workers,
        "chief" if cluster.is_chief else "not chief",
        cluster.source,
        implementation.name,
        peer_timeout_seconds,
        ", ".join(cluster.peers),
    )
    wait_for_peers(cluster.address, cluster.peers, peer_timeout_seconds)
    _configure_coordination(cluster, peer_timeout_seconds)
    options = tf.distribute.experimental.CommunicationOptions(implementation=implementation)
    started = time.monotonic()
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError, tf.errors.AbortedError) as e:
        missing = unreachable(cluster.peers)
        raise RetryableError(
            f"gave up after {time.monotonic() - started:.0f}s waiting for the other workers: "
            + (
                f"no answer from {', '.join(missing)}"
                if missing
                else f"{', '.join(cluster.peers)} accept connections but did not join"
            )
            + " (every worker must start and reach the others on its worker port; see --peer-timeout-seconds): "
            + str(e).splitlines()[0][:200]
        ) from e
    log.info("all %d workers joined in %.1fs", cluster.num_workers, time.monotonic() - started)
    return strategy


def _configure_coordination(cluster: ClusterSpec, timeout_seconds: float) -> None:
    """Give TensorFlow's coordination service a registration deadline before the strategy configures it.

    MultiWorkerMirroredStrategy configures the service itself, with `cluster_register_timeout_in_ms=0` (wait
    forever), unless one is configured already; this is the same call with a deadline (there is no public option
    for it in TF 2.21). A second line of defence behind `wait_for_peers`, for a peer that vanishes between the two:
    measured, a non-leader worker then fails with DeadlineExceeded after the deadline; the leader (worker 0) still
    waits, so `wait_for_peers` is what bounds its start-up.
    """
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.eager import context

    leader = "/job:chief/replica:0/task:0" if "chief" in cluster.cluster else "/job:worker/replica:0/task:0"
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=leader,
        cluster_register_timeout_in_ms=int(timeout_seconds * 1000),
        coordinated_jobs=[
            coordination_config_pb2.CoordinatedJob(name=kind, num_tasks=len(hosts))
            for kind, hosts in cluster.cluster.items()
        ],
    )


LOST_PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.AbortedError)
"""What a collective raises once TensorFlow's coordination service has seen a worker stop sending heartbeats
(measured: about 10 s after a peer is killed, "The following tasks are unhealthy (stopped sending heartbeats)")."""


def peer_lost(error: Exception) -> RetryableError:
    """The retryable error for a collective aborted because a worker went away: the whole group must restart and
    resume from the newest checkpoint (one worker cannot rejoin a running group)."""
    detail = " ".join(str(error).split())
    unhealthy = detail.split("stopped sending heartbeats):", 1)[-1].split(" The tasks", 1)[0].strip()
    who = unhealthy if unhealthy and unhealthy != detail else "a worker"
    return RetryableError(
        f"training stopped because {who} left the group (crashed, preempted or unreachable): every worker must "
        "restart together; the rerun resumes from the newest checkpoint"
    )
