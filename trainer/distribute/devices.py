"""The accelerators this worker trains on, as run.json records them (their type and count make the run's cost)."""

from collections import Counter
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

CPU = "cpu"


def describe_devices(gpu_names: Sequence[str], workers: int) -> dict[str, Any]:
    """`{"type", "per_worker", "workers"}` from the GPU model names one worker sees (workers are alike: an Indexed
    Job's pods share one spec); no GPU: type "cpu", 0 per worker."""
    counts = Counter(gpu_names)
    kind = ", ".join(name for name, _ in counts.most_common()) if counts else CPU
    return {"type": kind, "per_worker": len(gpu_names), "workers": workers}


def accelerators(workers: int) -> dict[str, Any]:
    """What TensorFlow sees on this worker: its physical GPUs (those the pod was given) by model name."""
    gpus = tf.config.list_physical_devices("GPU")
    names = [str(tf.config.experimental.get_device_details(gpu).get("device_name", "GPU")) for gpu in gpus]
    return describe_devices(names, workers)
