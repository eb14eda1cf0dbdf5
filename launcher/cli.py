"""`launcher`: render, submit and follow training Jobs on Kubernetes.

This is the one place that parses the command line, prints errors (one line on stderr) and picks the exit code
(see `launcher.errors` for the table). Everything after a bare `--` is passed verbatim to the trainer: to
`trainer train`, or to the verb it starts with (`-- evaluate --model ...`, `-- predict ...`, `-- export ...`).
The command line itself is `launcher.command_line` (pydantic-settings, as the trainer's).
"""

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launcher import command_line, commands, verb_options
from launcher.errors import INTERRUPTED_EXIT_CODE, LauncherError, UsageError
from launcher.settings import (
    CONFIG_ENV,
    ConnectionSettings,
    JobSettings,
    SettingsBase,
    check_environment,
    load,
    read_config,
)

if TYPE_CHECKING:
    from launcher.cluster import Cluster

PROG = command_line.PROG
DEFAULT_POLL_SECONDS = 5.0
build_parser = command_line.build_parser

OPTIONS: dict[str, type[SettingsBase] | None] = {
    "render": verb_options.RenderOptions,
    "submit": verb_options.SubmitOptions,
    "status": verb_options.StatusOptions,
    "logs": verb_options.LogsOptions,
    "list": verb_options.ListOptions,
    "delete": None,
}
"""Each verb's own options (besides the connection, and for render and submit the job)."""


def _split(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        i = list(argv).index("--")
        return list(argv[:i]), list(argv[i + 1 :])
    return list(argv), []


def _given(values: dict[str, Any], cls: type[SettingsBase]) -> dict[str, Any]:
    """The command line's values for the settings of `cls`."""
    return {key: value for key, value in values.items() if key in cls.model_fields}


def _connect(settings: ConnectionSettings) -> "Cluster":
    # Imported here so that `render` and `--help` do not pay for loading the kubernetes client (about 2 s).
    from launcher.connection import connect

    return connect(settings)


def _submit(
    job: JobSettings, options: Any, conn: ConnectionSettings, trainer_args: list[str], io: commands.Io
) -> int:
    validate = not options.no_validate
    if options.dry_run == "client":
        return commands.render(job, trainer_args, conn.namespace, io, validate)
    cluster = _connect(conn)
    submit = commands.SubmitOptions(
        options.dry_run,
        options.replace,
        options.wait,
        options.timeout,
        options.poll_interval or DEFAULT_POLL_SECONDS,
        validate,
    )
    return commands.submit(job, trainer_args, cluster, cluster.namespace, submit, io)


@dataclass(frozen=True)
class Resolved:
    """A verb's settings, each from its flag, `LAUNCHER_*` variable, config file key or default."""

    connection: ConnectionSettings
    options: Any
    job: JobSettings | None


def resolve(verb: str, values: dict[str, Any]) -> Resolved:
    """The settings of `verb` from the command line's `values` (`command_line.parse`), the environment and the
    config file; UsageError names what to fix."""
    check_environment(os.environ, verb_options.SETTING_NAMES)
    config = values.get("config") or os.environ.get(CONFIG_ENV)
    defaults = read_config(Path(config) if config else None, verb_options.SETTING_NAMES)
    option_type = OPTIONS[verb]
    return Resolved(
        load(ConnectionSettings, _given(values, ConnectionSettings), defaults),
        load(option_type, _given(values, option_type), defaults) if option_type else None,
        load(JobSettings, _given(values, JobSettings), defaults) if verb in ("render", "submit") else None,
    )


def _run(verb: str, values: dict[str, Any], trainer_args: list[str], io: commands.Io) -> int:
    if trainer_args and verb not in ("render", "submit"):
        raise UsageError(f"`{verb}` takes no trainer arguments after `--`")
    resolved = resolve(verb, values)
    conn, options, job = resolved.connection, resolved.options, resolved.job
    if job is not None:
        if verb == "render":
            return commands.render(job, trainer_args, conn.namespace, io, not options.no_validate)
        return _submit(job, options, conn, trainer_args, io)
    cluster = _connect(conn)
    poll = getattr(options, "poll_interval", None) or DEFAULT_POLL_SECONDS
    verbs: dict[str, Callable[[], int]] = {
        "status": lambda: commands.status(cluster, values["name"], options.output, io),
        "logs": lambda: commands.logs(
            cluster, values["name"], options.follow, options.previous, options.timeout, poll, io
        ),
        "list": lambda: commands.list_jobs(cluster, options.all_namespaces, options.output, io),
        "delete": lambda: commands.delete(cluster, values["names"], io),
    }
    return verbs[verb]()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the launcher; returns the process exit code."""
    io = commands.Io(sys.stdout, sys.stderr)
    launcher_args, trainer_args = _split(sys.argv[1:] if argv is None else argv)
    try:
        args = command_line.current_spellings(launcher_args, lambda line: io.note(f"{PROG}: warning: {line}"))
        verb, values = command_line.parse(args)
        return _run(verb, values, trainer_args, io)
    except LauncherError as e:
        io.note(f"{PROG}: error: {e}")
        return e.exit_code
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        io.note(f"{PROG}: interrupted (a submitted Job keeps running)")
        return INTERRUPTED_EXIT_CODE
    except BrokenPipeError:
        return 0
