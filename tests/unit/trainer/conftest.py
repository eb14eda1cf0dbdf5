"""TensorFlow-backed unit tests run with the CPU split into 2 logical devices, so MirroredStrategy really
mirrors over 2 replicas. The split must happen before TensorFlow initializes, hence at collection time."""

from trainer.distribute.strategy import configure_devices

REPLICAS = 2
configure_devices(REPLICAS)
