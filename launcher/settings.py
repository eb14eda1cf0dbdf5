"""Typed launcher settings: flags > `LAUNCHER_*` environment variables > YAML defaults file > defaults.

Two groups: `ConnectionSettings` (which cluster and namespace, for every verb) and `JobSettings` (what to run,
for `render` and `submit`); the verbs' own options are in `verb_options`. Names and list values follow the
grammar both CLIs share (`trainer.settings.grammar`): the setting `node_selector` is the flag `--node-selector`,
the variable `LAUNCHER_NODE_SELECTOR` and the config key `node_selector`. All are pure values; `load`,
`read_config` and `check_environment` are the only functions here that read the environment or files.
"""

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from launcher import quantities
from launcher.errors import UsageError
from launcher.setting_types import (
    Annotations,
    Endpoint,
    JobName,
    Labels,
    ObjectName,
    ObjectNames,
    PlainEnv,
    Quantity,
    ResourceName,
    SecretEnv,
    Tolerations,
)
from trainer.settings import grammar

ENV_PREFIX = "LAUNCHER_"
CONFIG_ENV = "LAUNCHER_CONFIG"
"""Environment variable naming the YAML defaults file (same as `--config`)."""


class SettingsBase(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", populate_by_name=True)


class ConnectionSettings(SettingsBase):
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


class JobSettings(SettingsBase):
    """Everything a single-node training Job needs besides the trainer's own arguments."""

    name: JobName | None = Field(
        None, description="Job name, a DNS-1123 label (default: generated from the model name)"
    )
    image: str = Field(
        description="trainer image, e.g. registry.example.com/ml/trainer:1.0, or pinned by digest: "
        "registry.example.com/ml/trainer@sha256:... (recommended for multi-node runs)"
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        None, description="image pull policy (default: the cluster's)"
    )
    image_pull_secrets: ObjectNames = Field([], description="Secret for a private registry (repeatable)")
    gpus: int = Field(1, ge=0, description="GPUs for the pod (nvidia.com/gpu limit); 0 for a CPU-only run")
    gpu_resource: ResourceName = Field("nvidia.com/gpu", description="extended resource name of the GPUs")
    cpu: Quantity = Field("4", description="CPU request (and limit unless --cpu-limit)")
    cpu_limit: Quantity | None = Field(None, description="CPU limit (default: same as --cpu)")
    memory: Quantity = Field("16Gi", description="memory request and limit, including --shm-size")
    shm_size: Quantity = Field(
        "4Gi", description="size of the memory-backed /dev/shm (NCCL, tf.data workers)"
    )
    scratch_size: Quantity | None = Field(
        None, description="size limit of the /tmp scratch volume (downloads, caches, artifacts)"
    )
    s3_secret: ObjectName | None = Field(
        None, description="Secret whose keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...) become env vars"
    )
    s3_endpoint: Endpoint | None = Field(
        None, description="S3 endpoint URL for MinIO, Ceph, R2 ... (AWS: omit); no credentials in it"
    )
    s3_region: str | None = Field(None, description="object storage region (AWS_REGION)")
    service_account: ObjectName | None = Field(
        None, description="service account of the pod (e.g. for an IAM role)"
    )
    node_selector: Labels = Field({}, description="node label KEY=VALUE the pod must run on (repeatable)")
    tolerations: Tolerations = Field([], description="toleration KEY[=VALUE][:EFFECT] (repeatable)")
    priority_class: ObjectName | None = Field(None, description="PriorityClass of the pod")
    labels: Labels = Field({}, description="extra label KEY=VALUE on the Job and its pods (repeatable)")
    annotations: Annotations = Field({}, description="extra annotation KEY=VALUE on the Job (repeatable)")
    env: PlainEnv = Field(
        {},
        description="extra environment variable KEY=VALUE (repeatable); never a credential: names such as "
        "*_TOKEN, *_PASSWORD, *SECRET* are refused",
    )
    env_from_secret: SecretEnv = Field(
        {},
        description="environment variable VAR=SECRET:KEY from a key of a Secret (repeatable): the manifest names "
        "the Secret, the kubelet reads the value",
    )
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
    def _consistent(self) -> "JobSettings":
        # A memory-backed emptyDir is charged to the container's memory limit.
        if quantities.parse(self.shm_size) >= quantities.parse(self.memory):
            raise ValueError(f"--shm-size {self.shm_size} must be smaller than --memory {self.memory}")
        if self.cpu_limit is not None and quantities.parse(self.cpu_limit) < quantities.parse(self.cpu):
            raise ValueError(f"--cpu-limit {self.cpu_limit} must not be below the request --cpu {self.cpu}")
        if both := sorted(set(self.env) & set(self.env_from_secret)):
            raise ValueError(f"{both[0]} is given by both --env and --env-from-secret: keep one")
        return self


S = TypeVar("S", bound=SettingsBase)


def flag(field: str) -> str:
    """The command-line flag of a settings field."""
    return grammar.flag(field)


def env_var(field: str) -> str:
    return grammar.env_var(ENV_PREFIX, field)


SETTING_NAMES = [*JobSettings.model_fields, *ConnectionSettings.model_fields]
"""The settings of this module; the CLI adds the verbs' options (`verb_options.SETTING_NAMES`)."""


def _one_line(
    error: ValidationError, flags: Mapping[str, Any], defaults: Mapping[str, Any], fields: Collection[str]
) -> str:
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"] if not isinstance(part, int)]
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        return f"missing {flag(loc[0])} (or {env_var(loc[0])}, or `{loc[0]}:` in the config file)"
    if not loc:
        return message
    field = loc[0]
    if field in flags or field not in fields:
        origin = flag(field)
    elif env_var(field) in os.environ:
        origin = env_var(field)
    elif field in defaults:
        origin = f"`{field}:` in the config file"
    else:
        origin = flag(field)
    return f"invalid {origin}: {message}"


def check_environment(environ: Mapping[str, str], known: Collection[str] = SETTING_NAMES) -> None:
    """UsageError for a `LAUNCHER_*` variable that names no setting in `known` (a typo would be silently
    ignored)."""
    unknown = grammar.unknown_variable(environ, ENV_PREFIX, [*map(env_var, known), CONFIG_ENV])
    if unknown:
        raise UsageError(unknown)


def read_config(config_file: Path | None, known: Collection[str] = SETTING_NAMES) -> dict[str, Any]:
    """The YAML defaults file as a mapping (empty without a file); UsageError if it cannot be used or names a
    setting not in `known` (one file holds defaults for every verb)."""
    if config_file is None:
        return {}
    try:
        return grammar.read_config_file(config_file, known)
    except grammar.SettingsFileError as e:
        raise UsageError(str(e)) from e


def load(cls: type[S], flags: dict[str, Any], defaults: dict[str, Any] | None = None) -> S:
    """Build settings from explicit flag values, `LAUNCHER_*` variables and defaults (from `read_config`).

    Raises:
        UsageError: a value is invalid or missing; the message names the flag, variable or config key to fix.
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
        raise UsageError(_one_line(e, flags, own_defaults, cls.model_fields)) from e
    except SettingsError as e:  # a variable pydantic-settings could not decode
        raise UsageError(str(e).splitlines()[0]) from e
