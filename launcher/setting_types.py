"""Value types of the launcher settings, each accepted in the same syntax from a flag, a `LAUNCHER_*` variable and
the YAML config file (`trainer.settings.grammar`, which the trainer's settings follow too).

A repeatable flag takes one or more items, comma-separated (`--tolerations nvidia.com/gpu:NoSchedule`); its
variable the same (`LAUNCHER_TOLERATIONS=nvidia.com/gpu:NoSchedule,spot`), or JSON
(`LAUNCHER_TOLERATIONS='["nvidia.com/gpu:NoSchedule"]'`); the config file a YAML list or mapping.
"""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, model_validator
from pydantic_settings import NoDecode

from launcher import kube_values, names, quantities
from trainer.settings.grammar import items, key_values

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


KeyValues = Annotated[dict[str, str], NoDecode, BeforeValidator(key_values)]
Labels = Annotated[KeyValues, AfterValidator(kube_values.labels)]
Annotations = Annotated[KeyValues, AfterValidator(kube_values.annotations)]
PlainEnv = Annotated[KeyValues, AfterValidator(kube_values.plain_env)]
Quantity = Annotated[str, AfterValidator(quantities.validate)]
ObjectName = Annotated[str, AfterValidator(kube_values.object_name)]
ObjectNames = Annotated[list[ObjectName], NoDecode, BeforeValidator(items)]
JobName = Annotated[str, AfterValidator(names.validate)]
Endpoint = Annotated[str, AfterValidator(kube_values.endpoint)]
ResourceName = Annotated[str, AfterValidator(kube_values.qualified_name)]


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


Tolerations = Annotated[list[Toleration], NoDecode, BeforeValidator(items)]


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
    dict[str, SecretKeyRef], NoDecode, BeforeValidator(key_values), AfterValidator(_secret_env)
]
