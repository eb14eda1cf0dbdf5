"""The launcher's command line, built by pydantic-settings from the settings models, as the trainer's is.

One sub-command per verb; each flag is a setting's name in kebab-case (`node_selector`: `--node-selector`), also a
`LAUNCHER_*` variable and a config file key, lists in the grammar both CLIs share (`trainer.settings.grammar`).
Parsing only collects what the command line gives: `launcher.cli` then builds each settings group from those
values, the environment and the config file (`settings.load`). The spellings before the grammar was one, such as
`--label`, still work and warn once (`current_spellings`).
"""

import argparse
import difflib
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    CliPositionalArg,
    CliSettingsSource,
    CliSubCommand,
    SettingsConfigDict,
)

from launcher.errors import UsageError
from launcher.settings import CONFIG_ENV, ConnectionSettings, JobSettings
from launcher.verb_options import ListOptions, LogsOptions, RenderOptions, StatusOptions, SubmitOptions

PROG = "launcher"
TRAINER_ARGS = " -- TRAINER_ARGS..."
EVERY_FLAG = (
    "Every flag is also a LAUNCHER_<NAME> variable and a key of the --config file; lists: repeat the flag or "
    "separate items with commas (docs/launcher.md)."
)
DEPRECATED_FLAGS = {
    "--label": "--labels",
    "--annotation": "--annotations",
    "--toleration": "--tolerations",
    "--image-pull-secret": "--image-pull-secrets",
}
"""Spellings from before one grammar: repeatable flags were singular, their config keys plural."""
BARE_FLAG_VALUES = {"dry_run": "client"}
"""Flags that may stand alone, meaning this value (`--dry-run` is `--dry-run=client`)."""


class ConfigOption(BaseModel):
    config: Path | None = Field(None, description=f"YAML file of setting defaults (or ${CONFIG_ENV})")


class Render(RenderOptions, JobSettings, ConnectionSettings, ConfigOption):
    __doc__ = f"Print the run's manifests as YAML. {EVERY_FLAG}"


class Submit(SubmitOptions, JobSettings, ConnectionSettings, ConfigOption):
    __doc__ = f"Create the run's Job (and follow it with --wait). {EVERY_FLAG}"


class Status(StatusOptions, ConnectionSettings, ConfigOption):
    __doc__ = f"Phase, pods, failure reason and artifacts of a run. {EVERY_FLAG}"
    name: CliPositionalArg[str] = Field(description="the run's Job name")


class Logs(LogsOptions, ConnectionSettings, ConfigOption):
    __doc__ = f"The trainer's log, every pod oldest first. {EVERY_FLAG}"
    name: CliPositionalArg[str] = Field(description="the run's Job name")


class List(ListOptions, ConnectionSettings, ConfigOption):
    __doc__ = f"The launcher's Jobs (selected by its labels). {EVERY_FLAG}"


class Delete(ConnectionSettings, ConfigOption):
    __doc__ = f"Delete runs: the Job and its pods. {EVERY_FLAG}"
    names: CliPositionalArg[list[str]] = Field(description="the runs' Job names")


class LauncherCommand(BaseSettings):
    """Render, submit and follow training Jobs on Kubernetes."""

    model_config = SettingsConfigDict(
        cli_prog_name=PROG,
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_hide_none_type=True,
        cli_shortcuts={
            "namespace": "n",
            "output": "o",
            "all-namespaces": "A",
            "follow": "f",
            "previous": "p",
        },
    )

    render: CliSubCommand[Render] = Field(description="print the run's manifests as YAML")
    submit: CliSubCommand[Submit] = Field(description="create the run's Job (and follow it)")
    status: CliSubCommand[Status] = Field(description="phase, pods, failure reason, artifacts of a run")
    logs: CliSubCommand[Logs] = Field(description="the trainer's log, every pod oldest first")
    list: CliSubCommand[List] = Field(description="the launcher's Jobs (selected by its labels)")
    delete: CliSubCommand[Delete] = Field(description="delete runs: the Job and its pods")


USAGE_TAILS = {"render": TRAINER_ARGS, "submit": TRAINER_ARGS}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        unknown = re.match(r"unrecognized arguments: (-\S+)", message)
        close = difflib.get_close_matches(unknown[1].split("=")[0], _options(self), n=1) if unknown else []
        hint = f"did you mean {close[0]}? " if close else ""
        raise UsageError(f"{message} ({hint}see `{self.prog} --help`)")


def _options(parser: argparse.ArgumentParser) -> list[str]:
    """Every flag of the parser and its sub-commands."""
    found = list(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _options(sub)
    return found


class _Version(argparse.Action):
    """`--version`: the package version and git commit, worked out only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from trainer.contract.version import describe

        print(describe(PROG))
        parser.exit()


def _metavar(field: str, metavar: str) -> str:
    if metavar.startswith("dict["):
        return "KEY=VALUE[,...]"
    if metavar.startswith("list["):
        return "ITEM[,...]"
    return metavar if metavar.startswith("{") else field.upper().rsplit("_", 1)[-1]


def _add_argument(context: Any, *names: str, **kwargs: Any) -> Any:
    """pydantic-settings' arguments, with the launcher's metavars, a bare `--dry-run`, `name` positionals."""
    field = str(kwargs.get("dest") or names[0]).rsplit(".", 1)[-1]
    if isinstance(kwargs.get("help"), str):  # pydantic-settings appends the default: once, and not `null`
        text = kwargs["help"].removesuffix(" (default: null)")
        kwargs["help"] = text if text.count("(default:") < 2 else text[: text.rindex(" (default:")]
    if not names[0].startswith("-"):  # a positional: the usage line and errors call it `name`
        kwargs["metavar"] = "name"
    elif isinstance(kwargs.get("metavar"), str):
        kwargs["metavar"] = _metavar(field, kwargs["metavar"])
    if field in BARE_FLAG_VALUES:
        kwargs.update(nargs="?", const=BARE_FLAG_VALUES[field])
    return context.add_argument(*names, **kwargs)


def _source() -> CliSettingsSource[argparse.ArgumentParser]:
    parser = _Parser(prog=PROG, description="Render, submit and follow training Jobs on Kubernetes.")
    source = CliSettingsSource(LauncherCommand, root_parser=parser, add_argument_method=_add_argument)
    parser.add_argument(
        "-V", "--version", action=_Version, help="print the version and the git commit it was built from"
    )
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    verbs.metavar, verbs.required = "VERB", True
    for verb, tail in USAGE_TAILS.items():
        verbs.choices[verb].usage = f"{PROG} {verb} [FLAGS]{tail}"
    return source


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser pydantic-settings builds: one sub-command per verb."""
    return _source().root_parser


def parse(argv: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The verb and the values its command line gives (argparse's spelling: strings, bools, lists).

    Raises:
        UsageError: an unknown verb or flag (the nearest one suggested), a missing or extra argument.
    """
    values = _source()(args=list(argv))()
    verb = next(name for name, given in values.items() if given is not None)
    return verb, values[verb]


def current_spellings(argv: Sequence[str], warn: Callable[[str], None]) -> list[str]:
    """`argv` with every deprecated flag spelled the current way; `warn` once per deprecated spelling used."""
    out, warned = [], set()
    for arg in argv:
        name, sep, value = arg.partition("=")
        if name in DEPRECATED_FLAGS:
            if name not in warned:
                warned.add(name)
                warn(
                    f"{name} is deprecated: use {DEPRECATED_FLAGS[name]} (same values; see docs/release-notes.md)"
                )
            arg = DEPRECATED_FLAGS[name] + sep + value
        out.append(arg)
    return out
