"""Typed settings of `trainer train`: every option is a CLI flag and an environment variable `TRAINER_<NAME>`.

The fields are grouped the way Hugging Face groups its arguments (model, data, training, output) and the flag names
are the interface the launcher and users' scripts depend on. Cross-field rules live in validators so a bad
combination is reported as one line before anything is downloaded.
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings

from trainer.contract.container import SCRATCH_DIR
from trainer.settings.data import DataArguments
from trainer.settings.grammar import AutoOrBool, OptionalIntList, OptionalStrList
from trainer.settings.problem import ProblemArguments
from trainer.settings.schedule import ScheduleArguments
from trainer.settings.shared import ConfigFileArguments, output_field, overwrite_field, settings_config

ProgressMode = Literal["auto", "bar", "lines"]
Optim = Literal["adamw_lazy", "adamw"]
LrSchedulerType = Literal["linear", "constant"]
MAX_POSITIONS = 512
"""BERT-family models have 512 position embeddings; longer --max-length values cannot be honoured."""

DEFAULT_PEER_TIMEOUT_SECONDS = 600.0
"""How long a worker waits for all its peers to start before giving up with the retryable exit code (a pod may
need minutes to be scheduled and pull the image)."""


class ModelArguments(BaseModel):
    model: str = Field(
        description="Pretrained model: a Hugging Face Hub id (bert-base-cased), a local save_pretrained folder, "
        "or such a folder under an s3:// prefix."
    )
    model_revision: str | None = Field(
        default=None,
        description="Branch, tag or commit of a --model Hub id to load; run.json records the commit it "
        "resolved to. Default: the main branch.",
    )
    labels: OptionalStrList = Field(
        default=None,
        description="The label set in id order (repeat the flag). Default: inferred from the training data, sorted.",
    )
    max_length: int = Field(
        default=128,
        ge=8,
        le=MAX_POSITIONS,
        description="Truncate token sequences to this length (also capped by the tokenizer's limit).",
    )


class TrainingArguments(BaseModel):
    epochs: int = Field(default=3, gt=0, le=1000, description="Number of passes over the training data.")
    per_replica_batch_size: int = Field(
        default=32,
        gt=0,
        le=4096,
        description="Examples per replica (GPU) per step; the global batch is this times the number of replicas.",
    )
    learning_rate: float = Field(default=5e-5, gt=0.0, le=1.0, description="Peak learning rate of AdamW.")
    lr_scheduler_type: LrSchedulerType = Field(
        default="linear",
        description="linear: after the warmup, decay linearly to 0 at the last step (BERT's recipe); constant: "
        "stay at --learning-rate after the warmup.",
    )
    warmup_ratio: float = Field(
        default=0.1,
        ge=0.0,
        lt=1.0,
        description="Fraction of all training steps spent warming the learning rate up linearly from 0 "
        "(then --lr-scheduler-type applies).",
    )
    weight_decay: float = Field(default=0.01, ge=0.0, lt=1.0, description="AdamW decoupled weight decay.")
    seed: int = Field(
        default=42, ge=0, description="Seed for shuffling, the eval split and weight initialization."
    )
    cpu_replicas: int = Field(
        default=1,
        ge=1,
        le=64,
        description="When no GPU is visible, split the CPU into this many logical devices and mirror over them "
        "(to exercise multi-replica training on a laptop or in CI).",
    )


class PerformanceArguments(BaseModel):
    """Speed options (measurements: benchmarks/README.md). bfloat16 is on where the hardware runs it natively
    (`distribute.precision`); XLA costs compile time, so it is opt-in; the rest is on by default."""

    group_by_length: bool = Field(
        default=True,
        description="Batch rows of similar length together (from windows of shuffled rows; batch order shuffled "
        "every epoch), so little compute goes to padding.",
    )
    pad_to_multiple_of: int | None = Field(
        default=None,
        ge=1,
        le=128,
        description="Pad each batch's length up to a multiple of this. Default: 8 on GPUs (tensor cores), 1 on "
        "CPUs (measured faster: no tensor cores to feed, fewer padded tokens).",
    )
    optim: Optim = Field(
        default="adamw_lazy",
        description="adamw_lazy: AdamW that updates only the embedding rows a batch uses (fast for large "
        "vocabularies); adamw: every row every step, as Keras and transformers' AdamWeightDecay do.",
    )
    bf16: AutoOrBool = Field(
        default="auto",
        description="Mixed precision mixed_bfloat16: bfloat16 compute, float32 weights. auto: where the hardware "
        "runs bfloat16 natively (GPUs of compute capability 8.0+, Ampere and later; CPUs with AMX-BF16 or "
        "AVX512-BF16), float32 elsewhere; --fp16 overrides it. --bf16 alone means true, --no-bf16 false.",
    )
    fp16: bool = Field(
        default=False,
        description="Mixed precision mixed_float16 with dynamic loss scaling (Volta/Turing GPUs such as V100, T4).",
    )
    jit_compile: bool = Field(
        default=False,
        description="Compile the train and eval steps with XLA; batch lengths are then padded to a few bucket "
        "lengths (16, 32, 64, ... --max-length) because XLA compiles once per shape: for long runs, where the "
        "compile time is paid back.",
    )
    steps_per_execution: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="Optimizer steps per call into the TensorFlow runtime; more cuts per-step overhead. "
        "Progress, checkpoints and SIGTERM are then handled every N steps.",
    )

    @model_validator(mode="after")
    def _one_precision(self) -> "PerformanceArguments":
        if self.bf16 is True and self.fp16:
            raise ValueError("--bf16 and --fp16 exclude each other: choose one")
        return self


class CheckpointArguments(BaseModel):
    restart: bool = Field(
        default=False,
        description="Discard the checkpoints under the output and train from the start.",
    )


class DistributionArguments(BaseModel):
    worker_hosts: str | None = Field(
        default=None,
        description="Multi-node: every worker's host:port, comma-separated, in index order; with Kubernetes' "
        "JOB_COMPLETION_INDEX the trainer builds TF_CONFIG from it (a TF_CONFIG already set wins). "
        "The launcher sets it for --nodes N.",
    )
    peer_timeout_seconds: float = Field(
        default=DEFAULT_PEER_TIMEOUT_SECONDS,
        gt=0,
        description="Multi-node: how long a worker waits for all the others to start before it exits with the "
        "retryable code 75, naming the ones it waited for.",
    )


class OutputArguments(BaseModel):
    output: str = output_field("artifacts")
    overwrite: bool = overwrite_field("Train and publish again", "a completed run")
    work_dir: Path = Field(
        default=Path(SCRATCH_DIR) / "trainer",
        description="Local scratch folder for downloads and artifacts before upload.",
    )
    progress: ProgressMode = Field(
        default="auto",
        description="bar: Keras progress bar; lines: one log line every --log-every-steps steps and per epoch "
        "(readable in kubectl logs); auto: bar in a terminal, lines otherwise.",
    )
    log_every_steps: int = Field(
        default=50,
        gt=0,
        description="Steps between progress lines in lines mode, and between the step curves in TensorBoard.",
    )
    profile_steps: OptionalIntList = Field(
        default=None,
        min_length=1,
        max_length=2,
        description="Profile these training steps with TensorFlow's profiler: START,STOP (or one step), counted "
        "from 1 in this process. The trace goes to <output>/tensorboard/plugins/profile/ (TensorBoard's Profile "
        "tab, with the tensorboard-plugin-profile package).",
    )

    @field_validator("profile_steps")
    @classmethod
    def _step_range(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (value[0] < 1 or value[-1] < value[0]):
            raise ValueError("--profile-steps takes START,STOP with 1 <= START <= STOP, or one step")
        return value


class TrainSettings(
    ConfigFileArguments,
    OutputArguments,
    DistributionArguments,
    CheckpointArguments,
    ProblemArguments,
    ScheduleArguments,
    PerformanceArguments,
    TrainingArguments,
    DataArguments,
    ModelArguments,
    BaseSettings,
):
    """Fine-tune a pretrained Transformer text classifier and publish the artifacts."""

    model_config = settings_config("trainer train")

    @model_validator(mode="after")
    def _labels_distinct(self) -> "TrainSettings":
        if self.labels is not None:
            if len(self.labels) < 2:
                raise ValueError("--labels needs at least two labels")
            if len(set(self.labels)) != len(self.labels):
                raise ValueError("--labels must not repeat a label")
            if self.problem_type == "regression":
                raise ValueError("--labels names classes; a regression has none: drop --labels")
        return self

    @property
    def is_pair_task(self) -> bool:
        return len(self.text_column) == 2
