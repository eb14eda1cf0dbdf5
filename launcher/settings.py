"""Typed launcher settings: flags > `LAUNCHER_*` environment variables > YAML defaults file > defaults.

Two groups: `ConnectionSettings` (which cluster and namespace, for every verb) and `JobSettings` (what to run,
for `render` and `submit`). Both are pure values; `load` and `read_config` are the only functions here that
read the environment or files.
"""

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from launcher import names, quantities
from launcher.errors import UsageError

ENV_PREFIX = "LAUNCHER_"
CONFIG_ENV = "LAUNCHER_CONFIG"
"""Environment variable naming the YAML defaults file (same as `--config`)."""

Quantity = Annotated[str, AfterValidator(quantities.validate)]
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _key_values(value: Any) -> Any:
    """Accept `["k=v", ...]` (repeated flags) as well as a mapping (YAML, JSON in an env var)."""
    if isinstance(value, list | tuple):
        pairs = {}
        for item in value:
            key, sep, val = str(item).partition("=")
            if not sep or not key:
                raise ValueError(f"{item!r} is not KEY=VALUE")
            pairs[key] = val
        return pairs
    return value


KeyValues = Annotated[dict[str, str], BeforeValidator(_key_values)]


class Toleration(BaseModel):
    """A pod toleration; a flag writes it like a taint: `key[=value]:Effect` (no value: operator Exists)."""

    model_config = {"extra": "forbid"}
    key: str
    operator: Literal["Equal", "Exists"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_taint_syntax(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        key_value, _, effect = data.rpartition(":") if ":" in data else (data, "", "")
        key, sep, value = key_value.partition("=")
        if not key or (effect and effect not in TAINT_EFFECTS):
            raise ValueError(
                f"{data!r} is not KEY[=VALUE][:EFFECT] with EFFECT one of {', '.join(TAINT_EFFECTS)}"
            )
        return {
            "key": key,
            "operator": "Equal" if sep else "Exists",
            "value": value if sep else None,
            "effect": effect or None,
        }


class _Base(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", populate_by_name=True)


class ConnectionSettings(_Base):
    """Which cluster to talk to; found the way kubectl finds it."""

    kubeconfig: Path | None = Field(
        None,
        description="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, "
        "then the in-cluster service account)",
    )
    context: str | None = Field(None, description="kubeconfig context to use (default: the current context)")
    namespace: str | None = Field(
        None, description="namespace (default: the context's namespace, else 'default')"
    )


class JobSettings(_Base):
    """Everything a single-node training Job needs besides the trainer's own arguments."""

    name: Annotated[str, AfterValidator(names.validate)] | None = Field(
        None, description="Job name, a DNS-1123 label (default: generated from the model name)"
    )
    image: str = Field(
        description="trainer image, e.g. registry.example.com/ml/trainer:1.0, or pinned by digest: "
        "registry.example.com/ml/trainer@sha256:... (recommended for multi-node runs)"
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        None, description="image pull policy (default: the cluster's)"
    )
    image_pull_secrets: list[str] = Field([], description="Secret for a private registry (repeatable)")
    gpus: int = Field(1, ge=0, description="GPUs for the pod (nvidia.com/gpu limit); 0 for a CPU-only run")
    gpu_resource: str = Field("nvidia.com/gpu", description="extended resource name of the GPUs")
    cpu: Quantity = Field("4", description="CPU request (and limit unless --cpu-limit)")
    cpu_limit: Quantity | None = Field(None, description="CPU limit (default: same as --cpu)")
    memory: Quantity = Field("16Gi", description="memory request and limit, including --shm-size")
    shm_size: Quantity = Field(
        "4Gi", description="size of the memory-backed /dev/shm (NCCL, tf.data workers)"
    )
    scratch_size: Quantity | None = Field(
        None, description="size limit of the /tmp scratch volume (downloads, caches, artifacts)"
    )
    s3_secret: str | None = Field(
        None, description="Secret whose keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...) become env vars"
    )
    s3_endpoint: str | None = Field(None, description="S3 endpoint URL for MinIO, Ceph, R2 ... (AWS: omit)")
    s3_region: str | None = Field(None, description="object storage region (AWS_REGION)")
    service_account: str | None = Field(None, description="service account of the pod (e.g. for an IAM role)")
    node_selector: KeyValues = Field({}, description="node label KEY=VALUE the pod must run on (repeatable)")
    tolerations: list[Toleration] = Field([], description="toleration KEY[=VALUE][:EFFECT] (repeatable)")
    priority_class: str | None = Field(None, description="PriorityClass of the pod")
    labels: KeyValues = Field({}, description="extra label KEY=VALUE on the Job and its pods (repeatable)")
    annotations: KeyValues = Field({}, description="extra annotation KEY=VALUE on the Job (repeatable)")
    env: KeyValues = Field({}, description="extra environment variable KEY=VALUE (repeatable; no secrets)")
    backoff_limit: int = Field(3, ge=0, description="retries after a retryable failure")
    nodes: int = Field(
        1,
        ge=1,
        le=512,
        description="nodes (pods) to train on together, each with --gpus GPUs: 2 or more renders an Indexed Job "
        "and a headless Service, and the trainer runs MultiWorkerMirroredStrategy",
    )
    termination_grace_period_seconds: int = Field(
        120,
        ge=0,
        description="time between SIGTERM (preemption, eviction, delete) and SIGKILL: the trainer uses it to "
        "finish the current step and upload a checkpoint",
    )
    active_deadline_seconds: int | None = Field(
        None, gt=0, description="fail the Job after this many seconds"
    )
    ttl_seconds_after_finished: int | None = Field(
        7 * 24 * 3600,
        ge=0,
        description="delete the finished Job and its pods (and logs) after this many seconds",
    )

    @model_validator(mode="after")
    def _shm_fits_in_memory(self) -> "JobSettings":
        # A memory-backed emptyDir is charged to the container's memory limit.
        if quantities.parse(self.shm_size) >= quantities.parse(self.memory):
            raise ValueError(f"--shm-size {self.shm_size} must be smaller than --memory {self.memory}")
        return self


S = TypeVar("S", bound=_Base)


FLAG_NAMES = {
    "image_pull_secrets": "--image-pull-secret",
    "tolerations": "--toleration",
    "labels": "--label",
    "annotations": "--annotation",
}
"""Repeatable settings whose flag is singular (one value per flag)."""


def flag(field: str) -> str:
    """The command-line flag of a settings field."""
    return FLAG_NAMES.get(field, "--" + field.replace("_", "-"))


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"] if not isinstance(part, int)]
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        return f"missing {flag(loc[0])} (or {ENV_PREFIX}{loc[0].upper()}, or `{loc[0]}:` in the config file)"
    if not loc:
        return message
    return f"invalid {flag(loc[0])}: {message}"


def read_config(config_file: Path | None) -> dict[str, Any]:
    """The YAML defaults file as a mapping (empty without a file); UsageError if it cannot be used."""
    if config_file is None:
        return {}
    if not config_file.is_file():
        raise UsageError(f"config file {config_file} does not exist")
    try:
        data = yaml.safe_load(config_file.read_text()) or {}
    except yaml.YAMLError as e:
        raise UsageError(f"config file {config_file} is not valid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict):
        raise UsageError(f"config file {config_file} must be a mapping of setting names to values")
    # One file holds defaults for both groups.
    unknown = sorted(set(data) - set(JobSettings.model_fields) - set(ConnectionSettings.model_fields))
    if unknown:
        raise UsageError(f"config file {config_file}: unknown setting {unknown[0]!r}")
    return data


def load(cls: type[S], flags: dict[str, Any], defaults: dict[str, Any] | None = None) -> S:
    """Build settings from explicit flag values, `LAUNCHER_*` variables and defaults (from `read_config`).

    Raises:
        UsageError: a value is invalid or missing; the message names the flag to fix.
    """
    own_defaults = {key: value for key, value in (defaults or {}).items() if key in cls.model_fields}

    class _WithDefaults(cls):  # type: ignore[valid-type, misc]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            # Flags (init values) win over LAUNCHER_* variables, which win over the YAML defaults file.
            return init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=own_defaults)

    _WithDefaults.__name__ = _WithDefaults.__qualname__ = cls.__name__
    try:
        return _WithDefaults(**flags)
    except ValidationError as e:
        raise UsageError(_one_line(e)) from e
