"""Value types of the launcher settings, each accepted in the same syntax from a flag, a `LAUNCHER_*` variable and
the YAML config file.

A repeatable flag takes one item (`--toleration nvidia.com/gpu:NoSchedule`); its variable takes the same syntax,
several items separated by commas (`LAUNCHER_TOLERATIONS=nvidia.com/gpu:NoSchedule,spot`), or JSON
(`LAUNCHER_TOLERATIONS='["nvidia.com/gpu:NoSchedule"]'`); the config file takes a YAML list or mapping.
"""

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, model_validator
from pydantic_settings import NoDecode

from launcher import durations, kube_values, names, quantities

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_NEXT_PAIR = re.compile(r",(?=\s*[^,=\s]+=)")
"""A comma that starts another KEY=VALUE pair: values may contain commas (`NCCL_IB_HCA=mlx5_0,mlx5_1`)."""


def _from_env_text(value: Any, pairs: bool) -> Any:
    """A variable's text as the items the repeated flag would give (or its JSON, decoded)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{text!r} is not valid JSON ({e.msg}); or write the flag's syntax") from e
    items = _NEXT_PAIR.split(text) if pairs else text.split(",")
    return [item.strip() for item in items if item.strip()]


def _list(value: Any) -> Any:
    return _from_env_text(value, pairs=False)


def _key_values(value: Any) -> Any:
    """`["k=v", ...]` (repeated flags, or a variable's text) as a mapping; a mapping (YAML, JSON) as is."""
    value = _from_env_text(value, pairs=True)
    if isinstance(value, list | tuple):
        pairs = {}
        for item in value:
            key, sep, val = str(item).partition("=")
            if not sep or not key:
                raise ValueError(f"{item!r} is not KEY=VALUE")
            pairs[key] = val
        return pairs
    return value


KeyValues = Annotated[dict[str, str], NoDecode, BeforeValidator(_key_values)]
Labels = Annotated[KeyValues, AfterValidator(kube_values.labels)]
Annotations = Annotated[KeyValues, AfterValidator(kube_values.annotations)]
PlainEnv = Annotated[KeyValues, AfterValidator(kube_values.plain_env)]
Quantity = Annotated[str, AfterValidator(quantities.validate)]
ObjectName = Annotated[str, AfterValidator(kube_values.object_name)]
ObjectNames = Annotated[list[ObjectName], NoDecode, BeforeValidator(_list)]
JobName = Annotated[str, AfterValidator(names.validate)]
Endpoint = Annotated[str, AfterValidator(kube_values.endpoint)]
ResourceName = Annotated[str, AfterValidator(kube_values.qualified_name)]


def _extended_resources(value: Any) -> Any:
    pairs = _key_values(value)
    if not isinstance(pairs, dict):
        return pairs
    return kube_values.extended_resources({str(k): str(v) for k, v in pairs.items()})


ExtendedResources = Annotated[dict[str, int], NoDecode, BeforeValidator(_extended_resources)]
WholeSeconds = Annotated[int, BeforeValidator(durations.whole_seconds)]
"""Whole seconds, also written as a duration (`2h`)."""
Seconds = Annotated[float, BeforeValidator(durations.optional_seconds)]
AFFINITY_KINDS = ("nodeAffinity", "podAffinity", "podAntiAffinity")


def _affinity_file(value: Any) -> Any:
    """The pod affinity in a YAML or JSON file: the `affinity:` mapping of a pod spec, or that mapping alone."""
    if not isinstance(value, str | Path):
        return value
    path = Path(value)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        raise ValueError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from e
    if isinstance(data, dict) and set(data) == {"affinity"}:
        data = data["affinity"]
    if not isinstance(data, dict) or not data or not set(data) <= set(AFFINITY_KINDS):
        raise ValueError(
            f"{path} must hold a pod's affinity: a mapping of {', '.join(AFFINITY_KINDS)} (or `affinity:` "
            "with them)"
        )
    return data


AffinityFile = Annotated[dict[str, Any], BeforeValidator(_affinity_file)]
"""Read when the settings are loaded: the manifest carries its content."""


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


Tolerations = Annotated[list[Toleration], NoDecode, BeforeValidator(_list)]


class SecretKeyRef(BaseModel):
    """One key of a Secret, `SECRET:KEY` on the command line; the pod gets its value, the manifest only its name."""

    model_config = {"extra": "forbid"}
    name: ObjectName
    key: str

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            name, key = kube_values.secret_key_ref(data)
            return {"name": name, "key": key}
        return data


def _secret_env(value: dict[str, SecretKeyRef]) -> dict[str, SecretKeyRef]:
    for name in value:
        kube_values.env_name(name)
    return value


SecretEnv = Annotated[
    dict[str, SecretKeyRef], NoDecode, BeforeValidator(_key_values), AfterValidator(_secret_env)
]
