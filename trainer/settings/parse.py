"""Parse a verb's settings from its arguments and environment: every mistake is one line, never a usage dump.

The trainer parses with its process environment. The launcher checks the arguments it is about to put into a Job
with the `TRAINER_*` values the pod will get (never its own environment), so a typo fails before a GPU is
scheduled and an image pulled. TF-free: pydantic-settings and argparse only.
"""

import argparse
import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, CliApp, CliSettingsSource, EnvSettingsSource, SettingsError
from pydantic_settings.sources.utils import parse_env_vars

from trainer.contract.container import SETTINGS_ENV_PREFIX
from trainer.settings.train import TrainSettings
from trainer.settings.verbs import EvaluateSettings, ExportSettings, PredictSettings

VERB_SETTINGS: dict[str, type[BaseSettings]] = {
    "train": TrainSettings,
    "evaluate": EvaluateSettings,
    "predict": PredictSettings,
    "export": ExportSettings,
}


OPTIONAL_VALUE_FLAGS = ("--bf16",)
"""Flags that take a value (auto, true, false) yet also stand alone: `--bf16` alone means `--bf16 true` and
`--no-bf16` means `--bf16 false`, as for the boolean flags."""


def expand_optional_values(args: Sequence[str]) -> list[str]:
    """`args` with every bare optional-value flag given its value: `--bf16` (last, or before another option)
    becomes `--bf16=true`, `--no-bf16` becomes `--bf16=false`."""
    expanded = []
    for index, arg in enumerate(args):
        following = args[index + 1] if index + 1 < len(args) else None
        if arg in OPTIONAL_VALUE_FLAGS and (following is None or following.startswith("-")):
            arg = f"{arg}=true"
        elif arg.startswith("--no-") and f"--{arg.removeprefix('--no-')}" in OPTIONAL_VALUE_FLAGS:
            arg = f"--{arg.removeprefix('--no-')}=false"
        expanded.append(arg)
    return expanded


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


def _with_environ(settings_type: type[BaseSettings], environ: Mapping[str, str]) -> type[BaseSettings]:
    class Isolated(settings_type):  # type: ignore[valid-type, misc]
        @classmethod
        def settings_customise_sources(
            cls, settings_cls: Any, init_settings: Any, **_: Any
        ) -> tuple[Any, ...]:
            return init_settings, _MappingEnvSource(settings_cls, environ)

    Isolated.__name__ = Isolated.__qualname__ = settings_type.__name__
    return Isolated


def describe(error: ValidationError, ignore: Collection[str] = ()) -> str:
    """One line for every problem, each naming its flag and variable; fields in `ignore` are left out."""
    parts = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        if field in ignore:
            continue
        flag = f"--{field.replace('_', '-')} ({SETTINGS_ENV_PREFIX}{field.upper()})" if field else "settings"
        if item["type"] == "missing":
            parts.append(f"{flag} is required")
        else:
            given = item.get("input")
            shown = f" (got {given!r})" if given is not None and not isinstance(given, dict) else ""
            parts.append(f"{flag}: {item['msg'].removeprefix('Value error, ')}{shown}")
    return "; ".join(parts)


def _run(
    settings_type: type[BaseSettings], verb: str, args: Sequence[str], ignore: Collection[str] = ()
) -> Any:
    source = CliSettingsSource(settings_type, root_parser=_Parser(prog=f"trainer {verb}"))
    try:
        return CliApp.run(settings_type, cli_args=expand_optional_values(args), cli_settings_source=source)
    except ValidationError as e:
        message = describe(e, ignore=ignore)
        if message:
            raise InvalidSettings(message) from e
        return None
    except SettingsError as e:
        raise InvalidSettings(str(e).splitlines()[0]) from e


def parse(verb: str, args: Sequence[str]) -> Any:
    """The settings of `verb` (train, evaluate, predict, export) from `args` and this process's `TRAINER_*`
    variables. `--help` prints the verb's help and exits.

    Raises:
        InvalidSettings: one line, e.g. `unrecognized arguments: --epochz 3 (did you mean --epochs?)`.
    """
    return _run(VERB_SETTINGS[verb], verb, args)


def check_settings(
    verb: str, args: Sequence[str], environ: Mapping[str, str], unknown: Collection[str] = ()
) -> None:
    """Raise InvalidSettings if `args` with the `TRAINER_*` variables in `environ` (and nothing else) would not
    parse. `unknown` names variables the run gets from elsewhere (a Secret): their fields are not checked."""
    fields = {name.removeprefix(SETTINGS_ENV_PREFIX).lower() for name in unknown}
    _run(_with_environ(VERB_SETTINGS[verb], environ), verb, args, ignore=fields)
