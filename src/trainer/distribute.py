"""Choose the distribution strategy and do the batch arithmetic in one place.

`configure_devices` must run before TensorFlow initializes its devices, so the CLI calls it first thing; the rest of
the trainer only sees the strategy it is given.
"""

import logging

import tensorflow as tf

log = logging.getLogger(__name__)


def configure_devices(cpu_replicas: int) -> None:
    """Split the CPU into `cpu_replicas` logical devices when no GPU is visible (tests, laptops)."""
    if cpu_replicas <= 1 or tf.config.list_physical_devices("GPU"):
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas)


def make_strategy() -> tf.distribute.Strategy:
    """MirroredStrategy over every visible GPU (or logical CPU device); the default strategy on one device."""
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    cpus = tf.config.list_logical_devices("CPU")
    if not gpus and len(cpus) > 1:
        return tf.distribute.MirroredStrategy(devices=[d.name for d in cpus])
    return tf.distribute.get_strategy()


def global_batch_size(per_replica_batch_size: int, replicas: int) -> int:
    """Examples per optimizer step: each replica takes `per_replica_batch_size` of every global batch."""
    return per_replica_batch_size * max(1, replicas)


def describe(strategy: tf.distribute.Strategy) -> dict[str, object]:
    """Strategy facts for logs and run.json."""
    try:
        devices = list(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy has no device list: it runs where TensorFlow places ops
        devices = [(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU"))[0].name]
    return {
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "devices": devices,
    }
