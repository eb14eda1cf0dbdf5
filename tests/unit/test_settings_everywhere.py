"""Every setting of both CLIs works by flag, environment variable and config file key, with one list syntax.

Generated from the settings models: a new setting is covered without touching this file. Its sample value is made
from its type and bounds; a setting whose values follow a syntax of their own (a quantity, a toleration) takes its
sample from SAMPLES. Each way must give the same value, and not the default (so the way was really read).
"""

import json
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import annotated_types
import pytest
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from launcher import cli as launcher_cli
from launcher import command_line, verb_options
from launcher.settings import ConnectionSettings, JobSettings
from trainer.settings.parse import VERB_SETTINGS, parse

SAMPLES: dict[str, Any] = {
    "cpu": "3",
    "cpu_limit": "5",
    "memory": "20Gi",
    "shm_size": "2Gi",
    "scratch_size": "10Gi",
    "s3_endpoint": "http://minio.storage:9000",
    "tolerations": ["nvidia.com/gpu:NoSchedule", "spot=yes:NoExecute"],
    "env_from_secret": {"HF_TOKEN": "hf-token:token", "WANDB_KEY_FILE": "wandb:file"},
    "env": {"NCCL_DEBUG": "INFO", "NCCL_IB_HCA": "mlx5_0,mlx5_1"},
    "profile_steps": [3, 5],
    "resources": {"rdma/ib": 1, "example.com/fpga": 2},
    "affinity_file": str(Path(__file__).parents[1] / "data" / "affinity.yaml"),
    "threshold": 0.7,  # between 0 and 1, away from the default 0.5
    "bf16": False,  # auto, true or false: --no-bf16, TRAINER_BF16=false, `bf16: false`
}
"""Values with a syntax of their own; every other sample comes from the setting's type."""
NEEDS = {"scratch_storage_class": ["--scratch-size", "10Gi"]}
"""Launcher settings that are only valid with another one."""
COMPANIONS: dict[str, dict[str, Any]] = {
    "eval_steps": {"eval_strategy": "steps"},
    "eval_strategy": {"eval_steps": 10},
}
"""Trainer settings valid only together with another: given with that one (by flag) every way."""
NOT_SETTINGS = {"config"}
"""The config file's own name: a flag and a variable, not a key of itself."""

TRAINER_REQUIRED = {
    "train": {"model": "m", "train_data": "t.csv", "output": "out"},
    "evaluate": {"model": "m", "data": "d.csv", "output": "out"},
    "predict": {"model": "m", "data": "d.csv", "output": "out"},
    "export": {"model": "m", "output": "out"},
}
INSTEAD_OF_DATA = {
    "dataset_name": {},
    "dataset_config_name": {"dataset_name": "d"},
    "dataset_revision": {"dataset_name": "d"},
}
"""`--dataset-name` (and the options only it takes) name the rows instead of the data location: such a setting is
given without the location, with what it needs."""


def trainer_base(verb: str, name: str) -> dict[str, str]:
    """The required settings of `verb` to give beside `name`."""
    required = {key: value for key, value in TRAINER_REQUIRED[verb].items() if key != name}
    if name in INSTEAD_OF_DATA:
        required = {k: v for k, v in required.items() if k not in ("train_data", "data")}
        required.update(INSTEAD_OF_DATA[name])
    return required


LAUNCHER_GROUPS: dict[type[BaseModel], tuple[str, list[str]]] = {
    ConnectionSettings: ("render", []),
    JobSettings: ("render", []),
    verb_options.RenderOptions: ("render", []),
    verb_options.SubmitOptions: ("submit", []),
    verb_options.StatusOptions: ("status", ["reviews-42"]),
    verb_options.LogsOptions: ("logs", ["reviews-42"]),
    verb_options.ListOptions: ("list", []),
    verb_options.SweepSubmitOptions: ("sweep submit", ["--name", "lr-sweep"]),
    verb_options.SweepStatusOptions: ("sweep status", ["lr-sweep"]),
    verb_options.ResultsOptions: ("results", ["s3://team-runs/lr-sweep/"]),
}
"""Each launcher settings group and a verb (with its positional arguments) that takes it."""


def _bounds(info: FieldInfo, core: type) -> tuple[float, float | None]:
    """The lowest allowed value (an integer above `gt` for int) and the upper bound."""
    low, high = 0.0, None
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt):
            low = item.gt + (1 if core is int else 0)
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.Lt):
            high = item.lt
    return low, high


def _core(annotation: Any) -> Any:
    """The type without Optional and Annotated."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _core(annotation)
    return annotation


def sample(name: str, info: FieldInfo) -> Any:
    """A valid value of the setting that differs from its default."""
    if name in SAMPLES:
        return SAMPLES[name]
    core, default = _core(info.annotation), info.default
    origin = typing.get_origin(core)
    if origin is typing.Literal:
        return next(choice for choice in typing.get_args(core) if choice != default)
    if core is bool:
        return not default
    if core in (int, float):
        low, high = _bounds(info, core)
        value = (default if isinstance(default, int | float) else low) + 1
        if high is not None and value >= high:
            value = (low + high) / 2 if core is float else low + 1
        return core(value)
    if origin is list:
        return [2, 3] if typing.get_args(core)[0] is int else ["first", "second"]
    if origin is dict:
        return {"team": "ml", "tier": "gold"}
    return "/tmp/sample" if core is Path else "sample"


def flag_words(name: str, value: Any, repeat: bool = True) -> list[str]:
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return [flag if value or name.startswith("no_") else "--no-" + name.replace("_", "-")]
    if isinstance(value, dict):
        value = [f"{k}={v}" for k, v in value.items()]
    if isinstance(value, list):
        if not repeat:
            return [flag, ",".join(map(str, value))]
        return [word for item in value for word in (flag, str(item))]
    return [flag, str(value)]


def env_text(value: Any, as_json: bool = False) -> str:
    if as_json:
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def comparable(value: Any) -> Any:
    if isinstance(value, list):
        return [comparable(item) for item in value]
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, BaseModel):
        return value.model_dump()
    return str(value) if isinstance(value, Path) else value


def ways(name: str, value: Any) -> dict[str, tuple[list[str], dict[str, str], Any]]:
    """Each way to give the setting: (flags, variables named by their suffix, config file value or None)."""
    suffix = name.upper()
    found = {
        "flag": (flag_words(name, value), {}, None),
        "variable": ([], {suffix: env_text(value)}, None),
        "config key": ([], {}, value),
    }
    if isinstance(value, list | dict):
        found["one flag, comma list"] = (flag_words(name, value, repeat=False), {}, None)
        found["variable, JSON"] = ([], {suffix: env_text(value, as_json=True)}, None)
        found["config key, comma list"] = ([], {}, env_text(value))
    return found


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith(("TRAINER_", "LAUNCHER_")):
            monkeypatch.delenv(name)


def _check_every_way(
    name: str, info: FieldInfo, read: Callable[[list[str], dict[str, str], dict[str, Any]], Any]
) -> None:
    value = sample(name, info)
    got = {
        way: comparable(read(flags, env, {} if config is None else {name: config}))
        for way, (flags, env, config) in ways(name, value).items()
    }
    assert len({json.dumps(v, sort_keys=True, default=str) for v in got.values()}) == 1, got
    assert got["flag"] != comparable(info.default), f"{name}: the sample {value!r} did not change the default"


TRAINER_CASES = [
    (verb, name)
    for verb, cls in VERB_SETTINGS.items()
    for name in cls.model_fields
    if name not in NOT_SETTINGS
]


@pytest.mark.parametrize(("verb", "name"), TRAINER_CASES, ids=[f"trainer-{v}-{n}" for v, n in TRAINER_CASES])
def test_every_trainer_setting_by_flag_variable_and_config_key(
    verb: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read(flags: list[str], env: dict[str, str], config: dict[str, Any]) -> Any:
        given = trainer_base(verb, name) | COMPANIONS.get(name, {})
        base = [w for key, v in given.items() if key != name for w in flag_words(key, v)]
        with monkeypatch.context() as scoped:
            for suffix, text in env.items():
                scoped.setenv(f"TRAINER_{suffix}", text)
            config_file = tmp_path / "trainer.yaml"
            config_file.write_text(yaml.safe_dump(config))
            return getattr(parse(verb, [*base, *flags, "--config", str(config_file)]), name)

    _check_every_way(name, VERB_SETTINGS[verb].model_fields[name], read)


LAUNCHER_CASES = [
    (cls, name) for cls in LAUNCHER_GROUPS for name in cls.model_fields if name not in NOT_SETTINGS
]


@pytest.mark.parametrize(("cls", "name"), LAUNCHER_CASES, ids=[f"launcher-{n}" for _, n in LAUNCHER_CASES])
def test_every_launcher_setting_by_flag_variable_and_config_key(
    cls: type[BaseModel], name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verb, positional = LAUNCHER_GROUPS[cls]

    def read(flags: list[str], env: dict[str, str], config: dict[str, Any]) -> Any:
        base = (
            [] if name == "image" or verb not in ("render", "submit", "sweep submit") else ["--image", "img"]
        )
        base += NEEDS.get(name, [])
        with monkeypatch.context() as scoped:
            for suffix, text in env.items():
                scoped.setenv(f"LAUNCHER_{suffix}", text)
            config_file = tmp_path / "launcher.yaml"
            config_file.write_text(yaml.safe_dump(config))
            argv = [*verb.split(), *positional, *base, *flags, "--config", str(config_file)]
            resolved = launcher_cli.resolve(*command_line.parse(argv))
            group = {ConnectionSettings: resolved.connection, JobSettings: resolved.job}.get(
                cls, resolved.options
            )
            return getattr(group, name)

    _check_every_way(name, cls.model_fields[name], read)


def test_every_setting_is_generated() -> None:
    """SAMPLES names only real settings, and both tools have plenty (the generation found them)."""
    every = {name for cls in [*VERB_SETTINGS.values(), *LAUNCHER_GROUPS] for name in cls.model_fields}
    assert set(SAMPLES) <= every
    assert len(TRAINER_CASES) > 50 and len(LAUNCHER_CASES) > 35
