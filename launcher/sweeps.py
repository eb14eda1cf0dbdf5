"""`launcher sweep submit|status|delete`: one Job per trial, tied to its sweep by a label.

Submitting is idempotent: a trial whose Job exists and has not failed is left alone, a failed one is deleted and
created again, a missing one created, so re-running the same `sweep submit` resumes an interrupted sweep and
retries failed trials. With `--max-parallel N` (and no queue) the command stays in the foreground and creates a
trial whenever fewer than N of the sweep's trials are unfinished; with `--queue` every trial is created at once and
the queue decides which run.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from launcher import commands, labels, submission, sweep_plan, views
from launcher.errors import LauncherError, NotFoundError, SubmitInterruptedError, SweepIncompleteError
from launcher.settings import JobSettings
from launcher.status import JobPhase, JobStatus, summarize

if TYPE_CHECKING:
    from launcher.cluster import Cluster


@dataclass(frozen=True)
class SweepOptions:
    params: dict[str, list[str]]
    trials: int | None = None
    seed: int = 0
    max_parallel: int | None = None
    poll_interval: float = 5.0
    timeout: float = 300.0
    """How long to wait for a failed trial's old Job to be deleted."""
    validate: bool = True


def pause(seconds: float) -> None:
    """Between two looks for a free slot (`--max-parallel`)."""
    time.sleep(seconds)


def selector(sweep: str) -> str:
    return f"{labels.selector()},{labels.LABEL_SWEEP}={sweep}"


def trial_settings(settings: JobSettings, sweep: str, trial: sweep_plan.Trial) -> JobSettings:
    """The sweep's Job settings for one trial: its name, the sweep label, its parameters as an annotation."""
    return settings.model_copy(
        update={
            "name": trial.name,
            "labels": {**settings.labels, labels.LABEL_SWEEP: sweep},
            "annotations": {**settings.annotations, labels.ANNOTATION_PARAMS: json.dumps(trial.params)},
        }
    )


def existing(cluster: Cluster, sweep: str) -> dict[str, JobStatus]:
    """The sweep's trials in the cluster, by name (from the Jobs alone: enough to tell the phase)."""
    return {job.metadata.name: summarize(job) for job in cluster.list_jobs(selector=selector(sweep))}


@dataclass(frozen=True)
class PlannedTrial:
    trial: sweep_plan.Trial
    manifests: list[dict[str, Any]]


def plan(
    settings: JobSettings, trainer_args: Sequence[str], options: SweepOptions, namespace: str | None
) -> list[PlannedTrial]:
    """Every trial with its manifests, checked before anything is sent (UsageError as for `submit`)."""
    sweep = settings.name or ""
    trials = sweep_plan.plan(sweep, options.params, trainer_args, options.trials, options.seed)
    return [
        PlannedTrial(
            t, commands.plan(trial_settings(settings, sweep, t), t.trainer_args, namespace, options.validate)
        )
        for t in trials
    ]


def _create(
    cluster: Cluster, planned: PlannedTrial, options: SweepOptions, io: commands.Io, failed_before: bool
) -> None:
    trial = planned.trial
    if failed_before:
        submission.replace(cluster, trial.name, options.timeout, options.poll_interval, io.note)
    submission.create_run(cluster, planned.manifests)
    params = " ".join(f"--{k} {v}" for k, v in trial.params.items())
    io.data(trial.name)
    io.note(f"trial {trial.name} created ({params}); output {trial.output}")


def _free_slots(cluster: Cluster, sweep: str, max_parallel: int | None) -> int:
    if max_parallel is None:
        return 1 << 30
    unfinished = [s for s in existing(cluster, sweep).values() if not s.phase.is_terminal()]
    return max(0, max_parallel - len(unfinished))


def submit(
    cluster: Cluster, sweep: str, trials: Sequence[PlannedTrial], options: SweepOptions, io: commands.Io
) -> int:
    """Create the sweep's missing and failed trials (from `plan`); exit 10 if some could not be created."""
    found = existing(cluster, sweep)
    todo = [t for t in trials if t.trial.name not in found or found[t.trial.name].phase is JobPhase.FAILED]
    io.note(
        f"sweep {sweep}: {len(trials)} trials, {len(trials) - len(todo)} already there, {len(todo)} to create"
    )
    errors: list[str] = []
    done = 0
    try:
        while todo:
            for trial in todo[: _free_slots(cluster, sweep, options.max_parallel)]:
                try:
                    _create(cluster, trial, options, io, trial.trial.name in found)
                except SubmitInterruptedError:
                    raise
                except LauncherError as e:
                    errors.append(f"{trial.trial.name} ({e})")
                todo.remove(trial)
                done += 1
            if todo:
                pause(options.poll_interval)
    except (KeyboardInterrupt, SubmitInterruptedError) as e:
        raise SubmitInterruptedError(
            f"interrupted with {len(todo)} of the sweep's trials not created yet; run the same command again to "
            "resume (the created ones keep running)"
        ) from e
    if errors:
        raise SweepIncompleteError(
            f"{len(errors)} of {done} trials could not be created: {'; '.join(errors)}; run the same command "
            "again to retry them"
        )
    io.note(f"follow it with: launcher sweep status {sweep}")
    return 0


def statuses(cluster: Cluster, sweep: str) -> list[JobStatus]:
    """Every trial's status with its progress; NotFoundError when the sweep has no Jobs here."""
    jobs = cluster.list_jobs(selector=selector(sweep))
    if not jobs:
        raise NotFoundError(
            f"no sweep {sweep} in namespace {cluster.namespace} (no Jobs labelled {labels.LABEL_SWEEP}={sweep})"
        )
    return cluster.statuses(jobs, selector(sweep))


def delete(cluster: Cluster, sweep: str, io: commands.Io) -> int:
    jobs = cluster.list_jobs(selector=selector(sweep))
    if not jobs:
        raise NotFoundError(f"no sweep {sweep} in namespace {cluster.namespace}")
    for job in jobs:
        with contextlib.suppress(NotFoundError):
            cluster.delete("Job", job.metadata.name, uid=job.metadata.uid)
        io.data(f"job.batch/{job.metadata.name} deleted")
    return 0


def show(cluster: Cluster, sweep: str, output: str, io: commands.Io, price: float | None = None) -> int:
    """`sweep status`: a row per trial (`-o json|yaml`: each trial's full status)."""
    found = statuses(cluster, sweep)
    if output in ("json", "yaml"):
        io.data(views.structured([views.status_dict(s, price) for s in found], output))
    else:
        io.data(views.sweep_table(found))
        total = sum(s.usage.gpu_hours for s in found)
        cost = f"; about {total * price:.2f} at {price:g} per GPU-hour" if price else ""
        counts: dict[str, int] = {}
        for s in found:
            counts[s.phase.value] = counts.get(s.phase.value, 0) + 1
        phases = ", ".join(f"{n} {phase.lower()}" for phase, n in sorted(counts.items()))
        io.note(f"sweep {sweep}: {len(found)} trials ({phases}); GPU-hours {total:.2f}{cost}")
    return 0
