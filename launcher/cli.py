"""`launcher`: render, submit and follow training Jobs on Kubernetes.

This is the one place that parses the command line, prints errors (one line on stderr) and picks the exit code
(see `launcher.errors` for the table). Everything after a bare `--` is passed verbatim to the trainer: to
`trainer train`, or to the verb it starts with (`-- evaluate --model ...`, `-- predict ...`, `-- export ...`).
"""

import argparse
import difflib
import os
import re
import sys
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from launcher import commands
from launcher.errors import INTERRUPTED_EXIT_CODE, LauncherError, UsageError
from launcher.settings import (
    CONFIG_ENV,
    ConnectionSettings,
    JobSettings,
    check_environment,
    flag,
    load,
    read_config,
)

if TYPE_CHECKING:
    from launcher.cluster import Cluster

PROG = "launcher"
DEFAULT_POLL_SECONDS = 5.0


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


def _is_repeatable(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_repeatable(typing.get_args(annotation)[0])
    return origin in (list, dict)


def _connection_flags() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("cluster")
    fields = ConnectionSettings.model_fields
    unset = argparse.SUPPRESS  # an absent flag must not hide LAUNCHER_* variables or the config file
    group.add_argument("--kubeconfig", metavar="FILE", default=unset, help=fields["kubeconfig"].description)
    group.add_argument("--context", metavar="NAME", default=unset, help=fields["context"].description)
    group.add_argument(
        "-n", "--namespace", metavar="NAME", default=unset, help=fields["namespace"].description
    )
    group.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        default=unset,
        help=f"YAML file of setting defaults (or ${CONFIG_ENV})",
    )
    return parent


def _job_flags() -> argparse.ArgumentParser:
    """One flag per `JobSettings` field (lists and mappings: repeatable); unset flags keep env/file values."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("job (also LAUNCHER_<NAME> variables and the --config file)")
    for field_name, info in JobSettings.model_fields.items():
        repeatable = _is_repeatable(info.annotation)
        group.add_argument(
            flag(field_name),
            dest=field_name,
            action="append" if repeatable else "store",
            metavar=field_name.upper().rsplit("_", 1)[-1] if not repeatable else "VALUE",
            default=argparse.SUPPRESS,
            help=info.description
            + ("" if info.default in (None, [], {}) or info.is_required() else f" [default: {info.default}]"),
        )
    return parent


def _wait_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up waiting after this long (also for --replace)",
    )
    parser.add_argument(
        "--poll-interval", type=float, default=DEFAULT_POLL_SECONDS, metavar="SECONDS", help=argparse.SUPPRESS
    )


def _validate_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-validate",
        dest="validate",
        action="store_false",
        help="do not check the trainer arguments with this launcher's trainer settings (an image with a newer "
        "trainer)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Render, submit and follow training Jobs on Kubernetes.")
    parser.add_argument(
        "-V", "--version", action=_Version, help="print the version and the git commit it was built from"
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=_Parser)
    conn, job = _connection_flags(), _job_flags()
    usage_tail = " -- TRAINER_ARGS..."

    render = verbs.add_parser("render", parents=[conn, job], help="print the run's manifests as YAML")
    render.usage = f"{PROG} render [FLAGS]{usage_tail}"
    _validate_flag(render)

    submit = verbs.add_parser("submit", parents=[conn, job], help="create the run's Job (and follow it)")
    submit.usage = f"{PROG} submit [FLAGS] [--wait]{usage_tail}"
    submit.add_argument(
        "--dry-run",
        choices=("none", "client", "server"),
        default="none",
        nargs="?",
        const="client",
        help="client: print only; server: validate with the API server",
    )
    submit.add_argument(
        "--replace", action="store_true", help="delete an existing Job of the same name first"
    )
    submit.add_argument("--wait", action="store_true", help="follow the Job; exit 0 on success, 8 on failure")
    _validate_flag(submit)
    _wait_flags(submit)

    status = verbs.add_parser(
        "status", parents=[conn], help="phase, pods, failure reason, artifacts of a run"
    )
    status.add_argument("name")
    status.add_argument("-o", "--output", choices=("text", "json"), default="text")

    logs = verbs.add_parser("logs", parents=[conn], help="the trainer's log, every pod oldest first")
    logs.add_argument("name")
    logs.add_argument("-f", "--follow", action="store_true", help="stream the newest pod's log until it ends")
    logs.add_argument("-p", "--previous", action="store_true", help="the previous container after a restart")
    _wait_flags(logs)

    list_ = verbs.add_parser("list", parents=[conn], help="the launcher's Jobs (selected by its labels)")
    list_.add_argument("-A", "--all-namespaces", action="store_true")
    list_.add_argument("-o", "--output", choices=("text", "json"), default="text")

    delete = verbs.add_parser("delete", parents=[conn], help="delete runs: the Job and its pods")
    delete.add_argument("names", nargs="+", metavar="name")
    return parser


def _split(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        i = list(argv).index("--")
        return list(argv[:i]), list(argv[i + 1 :])
    return list(argv), []


def _settings(args: argparse.Namespace) -> tuple[dict[str, Any], ConnectionSettings]:
    check_environment(os.environ)
    config_file = getattr(args, "config", None) or (
        Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None
    )
    defaults = read_config(config_file)
    conn_flags = {key: getattr(args, key) for key in ConnectionSettings.model_fields if hasattr(args, key)}
    return defaults, load(ConnectionSettings, conn_flags, defaults)


def _connect(settings: ConnectionSettings) -> "Cluster":
    # Imported here so that `render` and `--help` do not pay for loading the kubernetes client (about 2 s).
    from launcher.connection import connect

    return connect(settings)


def _run(args: argparse.Namespace, trainer_args: list[str], io: commands.Io) -> int:
    if trainer_args and args.verb not in ("render", "submit"):
        raise UsageError(f"`{args.verb}` takes no trainer arguments after `--`")
    defaults, conn = _settings(args)
    if args.verb in ("render", "submit"):
        job_flags = {key: getattr(args, key) for key in JobSettings.model_fields if hasattr(args, key)}
        job = load(JobSettings, job_flags, defaults)
        if args.verb == "render" or args.dry_run == "client":
            return commands.render(job, trainer_args, conn.namespace, io, args.validate)
        cluster = _connect(conn)
        options = commands.SubmitOptions(
            args.dry_run, args.replace, args.wait, args.timeout, args.poll_interval, args.validate
        )
        return commands.submit(job, trainer_args, cluster, cluster.namespace, options, io)
    cluster = _connect(conn)
    verbs: dict[str, Callable[[], int]] = {
        "status": lambda: commands.status(cluster, args.name, args.output, io),
        "logs": lambda: commands.logs(
            cluster, args.name, args.follow, args.previous, args.timeout, args.poll_interval, io
        ),
        "list": lambda: commands.list_jobs(cluster, args.all_namespaces, args.output, io),
        "delete": lambda: commands.delete(cluster, args.names, io),
    }
    return verbs[args.verb]()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the launcher; returns the process exit code."""
    io = commands.Io(sys.stdout, sys.stderr)
    launcher_args, trainer_args = _split(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(launcher_args)
        return _run(args, trainer_args, io)
    except LauncherError as e:
        io.note(f"{PROG}: error: {e}")
        return e.exit_code
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        io.note(f"{PROG}: interrupted (a submitted Job keeps running)")
        return INTERRUPTED_EXIT_CODE
    except BrokenPipeError:
        return 0
