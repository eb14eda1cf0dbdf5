"""The run's plan: every number the trainer resolves before it builds a dataset or a model, computed once.

Replicas, global batch, steps per epoch, the batch-length multiple, XLA's bucket lengths, whether the token ids
sit in memory, the effective max length, the pad id and the precision follow from the settings and a few facts
(devices, memory limit, tokenizer, data size). The verbs gather the facts; `plan_training` and `plan_inference`
turn them into a `RunPlan`, purely: no TensorFlow, no I/O. The settings themselves stay as the user gave them
(run.json records both: the settings as given, the plan under "distribution").
"""

import math
from dataclasses import dataclass
from typing import Any

from trainer.distribute.precision import FLOAT32, NO_DEVICE_FACTS, Devices, Precision, resolve_precision
from trainer.errors import DataError
from trainer.settings.train import TrainSettings

PAD_TO_MULTIPLE_OF = 8
"""Tensor cores want sequence dimensions in multiples of 8 (NVIDIA's mixed-precision guide): the GPU default."""

MIN_BUCKET_LENGTH = 16

IN_MEMORY_SHARE = 4
"""By default token ids are held in memory when they take at most 1/4 of the memory limit: the rest is for the
model, optimizer state, TensorFlow's copy of the ids and the input pipeline's buffers."""


def global_batch_size(per_replica_batch_size: int, replicas: int) -> int:
    """Examples per optimizer step: each replica takes `per_replica_batch_size` of every global batch."""
    return per_replica_batch_size * max(1, replicas)


def steps_per_epoch(num_rows: int, global_batch_size: int, *, drop_remainder: bool) -> int:
    """Optimizer steps one pass over `num_rows` takes at this global batch size."""
    if drop_remainder:
        return num_rows // global_batch_size
    return math.ceil(num_rows / global_batch_size)


def pad_multiple(requested: int | None, *, gpus: bool) -> int:
    """The batch-length multiple: as requested, else 8 on GPUs and 1 on CPUs (no tensor cores to feed; on SST-2
    rounding to 8 computed 21% more tokens and trained 18% slower on a 2-core CPU: benchmarks/README.md)."""
    if requested is not None:
        return requested
    return PAD_TO_MULTIPLE_OF if gpus else 1


def bucket_lengths(max_length: int, pad_to_multiple_of: int = PAD_TO_MULTIPLE_OF) -> list[int]:
    """The few lengths batches are padded to under XLA (which compiles once per shape): 16, 32, 64, ... and
    --max-length itself (rounded up to the multiple), so a run compiles at most about log2(max_length/8) shapes."""
    top = -(-max_length // pad_to_multiple_of) * pad_to_multiple_of
    buckets = []
    length = MIN_BUCKET_LENGTH
    while length < top:
        buckets.append(length)
        length *= 2
    return [*buckets, top]


def keep_in_memory(requested: bool | None, token_bytes: int, memory_limit: int | None) -> bool:
    """--keep-in-memory when given, else whether `token_bytes` of ids fit the memory limit's share (in memory
    when the limit is unknown)."""
    if requested is not None:
        return requested
    return memory_limit is None or token_bytes * IN_MEMORY_SHARE <= memory_limit


def effective_max_length(requested: int, tokenizer: Any) -> int:
    """--max-length, capped by the tokenizer's own limit (`model_max_length`) when it has one."""
    return min(requested, getattr(tokenizer, "model_max_length", requested))


@dataclass(frozen=True)
class Facts:
    """What a plan depends on besides the settings: the devices, the memory limit, the tokenizer and the data."""

    replicas: int
    gpus: bool
    max_length: int
    """The effective max length (`effective_max_length`)."""
    pad_token_id: int | None
    memory_limit: int | None = None
    token_bytes: int | None = None
    """Size of the token files; None when the rows stream through in chunks (predict): then in memory."""
    rows: int = 0
    devices: Devices = NO_DEVICE_FACTS
    """What decides `--bf16 auto` (`distribute.precision`)."""


@dataclass(frozen=True)
class RunPlan:
    """The resolved numbers a run trains or predicts with."""

    replicas: int
    per_replica_batch_size: int
    global_batch: int
    pad_to_multiple_of: int
    in_memory: bool
    max_length: int
    pad_token_id: int
    steps_per_epoch: int = 0
    """Training only: optimizer steps per epoch (the last partial batch is dropped)."""
    accumulation_steps: int = 1
    """Training only: micro-batches (of `global_batch` rows) per optimizer step."""
    total_steps: int = 0
    """Training only: optimizer steps of the whole run (--max-steps, else epochs x steps per epoch)."""
    epochs: int = 0
    """Training only: epochs begun (the last one partial when --max-steps ends it)."""
    buckets: tuple[int, ...] | None = None
    """Under XLA (--jit-compile), the lengths every batch is padded to; else None (any length)."""
    precision: Precision = FLOAT32
    """Training: the mixed-precision policy (`resolve_precision`); inference runs in float32."""

    @property
    def step_batch(self) -> int:
        """Rows per optimizer step: the effective batch (global batch x gradient accumulation steps)."""
        return self.global_batch * self.accumulation_steps

    def describe(self) -> dict[str, Any]:
        """The plan's part of run.json's "distribution"."""
        return {
            "per_replica_batch_size": self.per_replica_batch_size,
            "global_batch_size": self.global_batch,
            "gradient_accumulation_steps": self.accumulation_steps,
            "effective_batch_size": self.step_batch,
            "total_steps": self.total_steps,
            "steps_per_epoch": self.steps_per_epoch,
            "pad_to_multiple_of": self.pad_to_multiple_of,
            "token_ids_in_memory": self.in_memory,
        }


def plan_training(settings: TrainSettings, facts: Facts) -> RunPlan:
    """The training plan; a DataError when the training rows do not fill one optimizer step's batch."""
    global_batch = global_batch_size(settings.per_replica_batch_size, facts.replicas)
    accumulation = settings.gradient_accumulation_steps
    steps = steps_per_epoch(facts.rows, global_batch * accumulation, drop_remainder=True)
    if steps == 0:
        what, fix = f"global batch of {global_batch}", "--per-replica-batch-size"
        if accumulation > 1:
            what = f"optimizer step's batch of {global_batch * accumulation}"
            fix += " or --gradient-accumulation-steps,"
        raise DataError(
            f"{facts.rows} training rows are fewer than one {what} ({settings.per_replica_batch_size} per replica "
            f"x {facts.replicas} replicas{f' x {accumulation} accumulation steps' if accumulation > 1 else ''}): "
            f"lower {fix} or add data"
        )
    total = settings.max_steps or steps * settings.epochs
    multiple = pad_multiple(settings.pad_to_multiple_of, gpus=facts.gpus)
    buckets = tuple(bucket_lengths(settings.max_length, multiple)) if settings.jit_compile else None
    return RunPlan(
        replicas=facts.replicas,
        per_replica_batch_size=settings.per_replica_batch_size,
        global_batch=global_batch,
        pad_to_multiple_of=multiple,
        in_memory=keep_in_memory(settings.keep_in_memory, facts.token_bytes or 0, facts.memory_limit),
        max_length=facts.max_length,
        pad_token_id=facts.pad_token_id or 0,
        steps_per_epoch=steps,
        accumulation_steps=accumulation,
        total_steps=total,
        epochs=math.ceil(total / steps),
        buckets=buckets,
        precision=resolve_precision(settings.bf16, settings.fp16, facts.devices),
    )


def plan_inference(per_replica_batch_size: int, facts: Facts) -> RunPlan:
    """The plan of evaluate and predict: training's batch and padding rules, every row, no XLA buckets."""
    in_memory = facts.token_bytes is None or keep_in_memory(None, facts.token_bytes, facts.memory_limit)
    return RunPlan(
        replicas=facts.replicas,
        per_replica_batch_size=per_replica_batch_size,
        global_batch=global_batch_size(per_replica_batch_size, facts.replicas),
        pad_to_multiple_of=pad_multiple(None, gpus=facts.gpus),
        in_memory=in_memory,
        max_length=facts.max_length,
        pad_token_id=facts.pad_token_id or 0,
    )
