"""The launcher's verbs.

Each takes parsed settings, calls the library and writes data to stdout and diagnostics to stderr; errors are
raised for `launcher.cli` to print.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from launcher import manifests, multinode, names, submission, trainer_command, views
from launcher.errors import JobFailedError, WaitTimeoutError
from launcher.settings import JobSettings
from launcher.status import JobPhase, pod_summary, summarize
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


def render(
    settings: JobSettings, trainer_args: Sequence[str], namespace: str | None, io: Io, validate: bool = True
) -> int:
    io.write(manifests.to_yaml(plan(settings, trainer_args, namespace, validate)))
    return 0


@dataclass
class SubmitOptions:
    dry_run: str = "none"
    replace: bool = False
    wait: bool = False
    timeout: float | None = None
    poll_interval: float = 5.0
    validate: bool = True


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
    if options.dry_run == "client":
        io.write(manifests.to_yaml(planned))
        return 0
    name = planned[0]["metadata"]["name"]
    server_dry_run = options.dry_run == "server"
    if options.replace and not server_dry_run:
        timeout = DELETE_TIMEOUT_SECONDS if options.timeout is None else options.timeout
        submission.replace(cluster, name, timeout, options.poll_interval, io.note)
    created = submission.create_run(cluster, planned, dry_run=server_dry_run)
    if server_dry_run:
        io.write(manifests.to_yaml(created))
        io.note(f"job {name} validated by the API server (dry run: nothing was created)")
        return 0
    io.data(name)
    io.note(f"job {name} created in namespace {cluster.namespace}")
    if not options.wait:
        io.note(f"follow it with: launcher status {name} / launcher logs {name} --follow")
        return 0
    return wait(cluster, name, options.timeout, options.poll_interval, io)


def wait(cluster: Cluster, name: str, timeout: float | None, poll_interval: float, io: Io) -> int:
    final = cluster.wait(name, timeout, poll_interval, on_change=lambda s: io.note(s.progress_line()))
    if final.phase is JobPhase.FAILED:
        raise JobFailedError(final.failure_line())
    io.note(f"job {name} succeeded; artifacts: {final.artifact_uri}")
    return 0


def status(cluster: Cluster, name: str, output: str, io: Io) -> int:
    current = cluster.status(name)
    io.data(views.status_json(current) if output == "json" else views.status_text(current))
    return 0


def list_jobs(cluster: Cluster, all_namespaces: bool, output: str, io: Io) -> int:
    jobs = cluster.list_jobs(all_namespaces)
    statuses = [summarize(job) for job in jobs]
    if output == "json":
        io.data(json.dumps([views.status_dict(s) for s in statuses], indent=2))
    elif statuses:
        io.data(views.jobs_table(statuses, all_namespaces))
    else:
        io.note(
            f"no launcher jobs in {'any namespace' if all_namespaces else 'namespace ' + cluster.namespace}"
        )
    return 0


def logs(
    cluster: Cluster, name: str, follow: bool, previous: bool, timeout: float | None, poll: float, io: Io
) -> int:
    """Every pod's log, oldest pod first; with `follow`, stream the newest pod until it ends."""
    cluster.get_job(name)  # a clear "not found" before anything else
    pods = cluster.list_pods(name)
    deadline = None if timeout is None else time.monotonic() + timeout
    while follow and (not pods or _pending(pods[-1])):
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeoutError(
                f"no pod of job {name} started within {timeout:g}s (see `launcher status {name}`)"
            )
        time.sleep(poll)
        pods = cluster.list_pods(name)
    if not pods:
        io.note(f"job {name} has no pods yet")
        return 0
    pods = sorted(pods, key=lambda p: (p.metadata.creation_timestamp, p.metadata.name))
    for i, pod in enumerate(pods):
        pod_name = pod.metadata.name
        io.note(f"==> pod {pod_name} ({pod.status.phase if pod.status else 'Pending'}) <==")
        if _pending(pod):
            io.note(f"(not started yet: {pod_summary(pod).reason or 'Pending'})")
            continue
        if previous and pod_summary(pod).restarts == 0:
            io.note("(no previous container: it never restarted)")
            continue
        for chunk in cluster.read_log(pod_name, previous=previous, follow=follow and i == len(pods) - 1):
            io.write(chunk.decode("utf-8", errors="replace"))
        io.out.flush()
    return 0


def _pending(pod: Any) -> bool:
    return pod.status is None or pod.status.phase in (None, "Pending")


def delete(cluster: Cluster, names_: Sequence[str], io: Io) -> int:
    for name in names_:
        cluster.delete_job(name)
        io.data(f"job.batch/{name} deleted")
    return 0
