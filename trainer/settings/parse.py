"""Parse a verb's settings from its arguments, environment and config file: every mistake is one line, never a
usage dump.

Flags beat `TRAINER_*` variables, which beat the config file (`--config FILE` or `TRAINER_CONFIG`), which beats the
defaults; names and list values follow `settings.grammar`. A `TRAINER_*` variable or config key that names no
setting of any verb is an error with the nearest name. The trainer parses with its process environment. The
launcher checks the arguments it is about to put into a Job with the `TRAINER_*` values the pod will get (never
its own environment), so a typo fails before a GPU is scheduled and an image pulled. TF-free: pydantic-settings
and argparse only.
"""

import argparse
import difflib
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    CliApp,
    CliSettingsSource,
    EnvSettingsSource,
    InitSettingsSource,
    SettingsError,
)
from pydantic_settings.sources.utils import parse_env_vars

from trainer.contract.container import SETTINGS_ENV_PREFIX
from trainer.settings import grammar
from trainer.settings.shared import CONFIG_ENV, CONFIG_FIELD
from trainer.settings.train import TrainSettings
from trainer.settings.verbs import EvaluateSettings, ExportSettings, PredictSettings

VERB_SETTINGS: dict[str, type[BaseSettings]] = {
    "train": TrainSettings,
    "evaluate": EvaluateSettings,
    "predict": PredictSettings,
    "export": ExportSettings,
}
SETTING_NAMES = sorted({name for cls in VERB_SETTINGS.values() for name in cls.model_fields} - {CONFIG_FIELD})
"""Every verb's settings: one `TRAINER_*` environment or config file may serve several verbs."""
KNOWN_VARIABLES = [grammar.env_var(SETTINGS_ENV_PREFIX, name) for name in SETTING_NAMES] + [CONFIG_ENV]


class InvalidSettings(ValueError):  # noqa: N818 - a ValueError like pydantic's ValidationError
    """The arguments or `TRAINER_*` variables are not valid settings; the message is one line naming the fix."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, and suggests the nearest flag."""

    def error(self, message: str) -> Any:
        unknown = re.match(r"unrecognized arguments: (\S+)", message)
        if unknown:
            flag = unknown[1].split("=", 1)[0]
            close = difflib.get_close_matches(flag, list(self._option_string_actions), n=1)
            message += f" (did you mean {close[0]}?)" if close else f" (see `{self.prog} --help`)"
        raise InvalidSettings(message)


class _MappingEnvSource(EnvSettingsSource):
    """`TRAINER_*` variables from a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def _with_sources(
    settings_type: type[BaseSettings], environ: Mapping[str, str] | None, file_values: dict[str, Any]
) -> type[BaseSettings]:
    """`settings_type` reading `environ` (None: the process environment), then the config file's values."""

    class Sourced(settings_type):  # type: ignore[valid-type, misc]
        @classmethod
        def settings_customise_sources(
            cls, settings_cls: Any, init_settings: Any, env_settings: Any, **_: Any
        ) -> tuple[Any, ...]:
            env = env_settings if environ is None else _MappingEnvSource(settings_cls, environ)
            return init_settings, env, InitSettingsSource(settings_cls, init_kwargs=file_values)

    Sourced.__name__ = Sourced.__qualname__ = settings_type.__name__
    return Sourced


@dataclass(frozen=True)
class _Check:
    """How the launcher checks a Job's arguments: variables from Secrets (`unknown`, their `fields` not checked),
    and whether a config file is named (read in the pod, not here: values it may give are not demanded)."""

    unknown: Collection[str]
    fields: Collection[str]
    names_file: bool


def _config_path(args: Sequence[str], environ: Mapping[str, str]) -> Path | None:
    """The config file named by `--config` among `args`, else by TRAINER_CONFIG."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument(grammar.flag(CONFIG_FIELD))
    named = pre.parse_known_args(list(args))[0].config or environ.get(CONFIG_ENV)
    return Path(named) if named else None


def _file_values(settings_type: type[BaseSettings], path: Path | None) -> dict[str, Any]:
    """The config file's values for this verb's settings (keys of the other verbs' settings are allowed)."""
    if path is None:
        return {}
    try:
        data = grammar.read_config_file(path, SETTING_NAMES)
    except grammar.SettingsFileError as e:
        raise InvalidSettings(str(e)) from e
    return {key: value for key, value in data.items() if key in settings_type.model_fields}


def _origin(
    field: str, args: Sequence[str], environ: Mapping[str, str], file_values: Mapping[str, Any]
) -> str:
    """What to fix: the flag (with its variable), or the config key when the value came from the file."""
    flag, variable = grammar.flag(field), grammar.env_var(SETTINGS_ENV_PREFIX, field)
    given = any(arg == flag or arg.startswith(flag + "=") for arg in args) or variable in environ
    if field in file_values and not given:
        return f"`{field}:` in the config file"
    return f"{flag} ({variable})"


def describe(
    error: ValidationError,
    origin: Callable[[str], str],
    ignore: Collection[str] = (),
    ignore_missing: bool = False,
) -> str:
    """One line for every problem, each naming where to fix it (`origin` of the field); fields in `ignore` and,
    with `ignore_missing`, missing values are left out."""
    parts = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        if field in ignore or (ignore_missing and item["type"] == "missing"):
            continue
        where = origin(field) if field else "settings"
        if item["type"] == "missing":
            parts.append(f"{where} is required")
        else:
            given = item.get("input")
            shown = f" (got {given!r})" if given is not None and not isinstance(given, dict) else ""
            parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}{shown}")
    return "; ".join(parts)


def _run(
    verb: str, args: Sequence[str], environ: Mapping[str, str] | None, check: _Check | None = None
) -> Any:
    """The settings; `check` (the launcher's): what to leave out, and read no config file."""
    env = os.environ if environ is None else environ
    unknown = grammar.unknown_variable(
        {**env, **dict.fromkeys(check.unknown if check else ())}, SETTINGS_ENV_PREFIX, KNOWN_VARIABLES
    )
    if unknown:
        raise InvalidSettings(unknown)
    settings_type = VERB_SETTINGS[verb]
    file_values = _file_values(settings_type, None if check else _config_path(args, env))
    sourced = _with_sources(settings_type, environ, file_values)
    source = CliSettingsSource(sourced, root_parser=_Parser(prog=f"trainer {verb}"))
    try:
        return CliApp.run(sourced, cli_args=list(args), cli_settings_source=source)
    except ValidationError as e:
        message = describe(
            e,
            lambda field: _origin(field, args, env, file_values),
            ignore=check.fields if check else (),
            ignore_missing=check.names_file if check else False,
        )
        if message:
            raise InvalidSettings(message) from e
        return None
    except SettingsError as e:
        raise InvalidSettings(str(e).splitlines()[0]) from e


def parse(verb: str, args: Sequence[str]) -> Any:
    """The settings of `verb` (train, evaluate, predict, export) from `args`, this process's `TRAINER_*` variables
    and the config file. `--help` prints the verb's help and exits.

    Raises:
        InvalidSettings: one line, e.g. `unrecognized arguments: --epochz 3 (did you mean --epochs?)`.
    """
    return _run(verb, args, None)


def check_settings(
    verb: str, args: Sequence[str], environ: Mapping[str, str], unknown: Collection[str] = ()
) -> None:
    """Raise InvalidSettings if `args` with the `TRAINER_*` variables in `environ` (and nothing else) would not
    parse. `unknown` names variables the run gets from elsewhere (a Secret): their fields are not checked. A
    config file is read where the run runs, not here: with one named, values it may give are not demanded."""
    fields = {name.removeprefix(SETTINGS_ENV_PREFIX).lower() for name in unknown}
    names_file = _config_path(args, environ) is not None or CONFIG_ENV in unknown
    _run(verb, args, environ, _Check(unknown, fields, names_file))
