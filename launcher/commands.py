"""The launcher's verbs.

Each takes parsed settings, calls the library and writes data to stdout and diagnostics to stderr; errors are
raised for `launcher.cli` to print.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from launcher import (
    diagnosis,
    labels,
    manifests,
    multinode,
    names,
    pod_logs,
    submission,
    trainer_command,
    views,
)
from launcher.errors import JobFailedError
from launcher.settings import JobSettings
from launcher.status import JobPhase, summarize
from trainer.contract import container
from trainer.contract.redaction import redact

if TYPE_CHECKING:  # the kubernetes client is imported only by verbs that talk to a cluster
    from launcher.cluster import Cluster

DELETE_TIMEOUT_SECONDS = 300.0
"""How long `submit --replace` waits for the old run to disappear: its pods get their termination grace period
(120 s by default) to checkpoint first."""


@dataclass
class Io:
    """Where a verb writes: data to `out` (stdout), diagnostics to `err` (stderr); URL credentials masked."""

    out: TextIO
    err: TextIO

    def data(self, text: str) -> None:
        print(redact(text), file=self.out, flush=True)

    def note(self, text: str) -> None:
        print(redact(text), file=self.err, flush=True)

    def write(self, text: str) -> None:
        """Data without a newline added (manifests, log chunks)."""
        self.out.write(redact(text))


def _model_arg(trainer_args: Sequence[str]) -> str:
    for i, arg in enumerate(trainer_args):
        if arg == "--model" and i + 1 < len(trainer_args):
            return trainer_args[i + 1]
        if arg.startswith("--model="):
            return arg.split("=", 1)[1]
    return names.DEFAULT_PREFIX


def _name_prefix(trainer_args: Sequence[str]) -> str:
    """Train runs are named after the base model; other verbs after their verb and the trained run."""
    verb, _ = trainer_command.split_verb(trainer_args)
    model = _model_arg(trainer_args)
    if verb == container.DEFAULT_VERB:
        return model
    parts = [p for p in model.rstrip("/").split("/") if p]
    if len(parts) > 1 and parts[-1] == "model":  # a run's model/ folder: name it after the run
        parts = parts[:-1]
    return f"{verb}-{names.sanitize(parts[-1]) if parts else ''}"


def render_run(
    settings: JobSettings, trainer_args: Sequence[str], name: str, namespace: str | None = None
) -> list[manifests.Manifest]:
    """Every manifest of run `name`, in creation order: the Job, or with `--nodes` 2 or more the Indexed Job and
    then its headless Service. Pure: `render` prints exactly what `submit` sends."""
    if settings.nodes > 1:
        return multinode.render(settings, trainer_args, name, namespace)
    return [manifests.build_job(settings, trainer_args, name, namespace)]


def plan(
    settings: JobSettings, trainer_args: Sequence[str], namespace: str | None, validate: bool = True
) -> list[manifests.Manifest]:
    """The manifests of a run; the name is generated from the model when not given. With `validate`, the trainer
    arguments are checked first with the trainer's own settings (see `launcher.trainer_command`)."""
    trainer_command.check(trainer_args, settings.env)
    if validate:
        trainer_command.validate(trainer_args, settings.env, from_secrets=settings.env_from_secret)
    name = settings.name or names.generate(_name_prefix(trainer_args))
    return render_run(settings, trainer_args, name, namespace)


def manifests_text(objects: Sequence[dict[str, Any]], output: str = "yaml") -> str:
    """Manifests as `kubectl create -o yaml|json` prints them: a YAML stream, or one JSON object (several: a
    v1 List)."""
    if output != "json":
        return manifests.to_yaml(objects)
    one = objects[0] if len(objects) == 1 else {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    return json.dumps(one, indent=2) + "\n"


def render(
    settings: JobSettings,
    trainer_args: Sequence[str],
    namespace: str | None,
    io: Io,
    validate: bool = True,
    output: str = "yaml",
) -> int:
    io.write(manifests_text(plan(settings, trainer_args, namespace, validate), output))
    return 0


@dataclass
class SubmitOptions:
    dry_run: str = "none"
    replace: bool = False
    wait: bool = False
    timeout: float | None = None
    poll_interval: float = 5.0
    validate: bool = True
    output: str = "name"
    """name: the Job's name; yaml/json: what was created (with --dry-run: what would be)."""
    gpu_hour_price: float | None = None


def submit(
    settings: JobSettings,
    trainer_args: Sequence[str],
    cluster: Cluster,
    namespace: str | None,
    options: SubmitOptions,
    io: Io,
) -> int:
    """Create the run's manifests (or print them), then optionally follow the Job to its end."""
    planned = plan(settings, trainer_args, namespace, options.validate)
    structured = options.output if options.output in ("yaml", "json") else "yaml"
    if options.dry_run == "client":
        io.write(manifests_text(planned, structured))
        return 0
    name = planned[0]["metadata"]["name"]
    server_dry_run = options.dry_run == "server"
    if options.replace and not server_dry_run:
        timeout = DELETE_TIMEOUT_SECONDS if options.timeout is None else options.timeout
        submission.replace(cluster, name, timeout, options.poll_interval, io.note)
    created = submission.create_run(cluster, planned, dry_run=server_dry_run)
    if server_dry_run:
        io.write(manifests_text(created, structured))
        io.note(f"job {name} validated by the API server (dry run: nothing was created)")
        return 0
    if options.output in ("yaml", "json"):
        io.write(manifests_text(created, options.output))
    else:
        io.data(name)
    io.note(f"job {name} created in namespace {cluster.namespace}")
    if not options.wait:
        io.note(f"follow it with: launcher status {name} / launcher logs {name} --follow")
        return 0
    return wait(cluster, name, options, io)


def wait(cluster: Cluster, name: str, options: SubmitOptions, io: Io) -> int:
    """Follow the run to its end: a line whenever its phase, pods or progress change; exit 8 on failure, with
    what to do when it ran out of memory."""
    final = cluster.wait(
        name,
        options.timeout,
        options.poll_interval,
        on_change=lambda s: io.note(views.wait_line(s)),
        line=views.wait_line,
    )
    gpu_hours = views.usage_text(final.usage, options.gpu_hour_price)
    if final.phase is JobPhase.FAILED:
        found = diagnosis.diagnose(final.pods)
        raise JobFailedError(final.failure_line() + (f"; {found.line()}" if found else ""))
    io.note(f"job {name} succeeded; artifacts: {final.artifact_uri}; GPU-hours: {gpu_hours}")
    return 0


def status(cluster: Cluster, name: str, output: str, io: Io, price: float | None = None) -> int:
    current = cluster.status(name)
    if output in ("json", "yaml"):
        io.data(views.structured(views.status_dict(current, price), output))
    else:
        io.data(views.status_text(current, price=price, wide=output == "wide"))
    return 0


def list_jobs(cluster: Cluster, all_namespaces: bool, output: str, io: Io, price: float | None = None) -> int:
    """The launcher's Jobs; in one namespace with their progress and GPU time (across every namespace that
    would need rights to every namespace's pods and logs: only what the Jobs say)."""
    jobs = cluster.list_jobs(all_namespaces)
    everywhere = [summarize(job) for job in jobs] if all_namespaces else None
    statuses = everywhere if everywhere is not None else cluster.statuses(jobs, labels.selector())
    if output in ("json", "yaml"):
        io.data(views.structured([views.status_dict(s, price) for s in statuses], output))
    elif statuses:
        io.data(views.jobs_table(statuses, all_namespaces, wide=output == "wide", price=price))
    else:
        io.note(
            f"no launcher jobs in {'any namespace' if all_namespaces else 'namespace ' + cluster.namespace}"
        )
    return 0


def logs(cluster: Cluster, name: str, options: pod_logs.LogOptions, io: Io) -> int:
    """Every pod's log, oldest pod first, each line prefixed with its pod; `follow` streams the newest pod."""
    code = pod_logs.show(cluster, name, options, io)
    io.out.flush()
    return code


def delete(cluster: Cluster, names_: Sequence[str], io: Io) -> int:
    for name in names_:
        cluster.delete_job(name)
        io.data(f"job.batch/{name} deleted")
    return 0
