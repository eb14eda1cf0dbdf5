"""Text, wide, JSON and YAML views of statuses and job lists for the CLI (pure: values in, strings out)."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import yaml

from launcher import diagnosis, durations
from launcher.status import JobStatus
from launcher.usage import GpuUsage
from trainer.contract.progress import Progress

FORMATS = ("text", "wide", "json", "yaml")


def age(created: datetime | None, now: datetime) -> str:
    if created is None:
        return "-"
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(header), *[["-" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def structured(data: Any, output: str) -> str:
    """`data` as `-o json` or `-o yaml` prints it."""
    if output == "yaml":
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip("\n")
    return json.dumps(data, indent=2)


def progress_text(p: Progress) -> str:
    """`epoch 2/3 step 120/187 (54%), loss 0.4123, accuracy 0.8512, 812 examples/s, ETA 3m10s`."""
    parts = [f"epoch {p.epoch}/{p.epochs} step {p.step}/{p.steps} ({p.fraction:.0%})"]
    if p.loss is not None:
        parts.append(f"loss {p.loss:.4f}")
    parts += [f"{name} {value:.4f}" for name, value in sorted(p.metrics.items())]
    if p.examples_per_second is not None:
        parts.append(f"{p.examples_per_second:.0f} examples/s")
    if p.eta_seconds is not None and p.fraction < 1:
        parts.append(f"ETA {durations.describe(p.eta_seconds)}")
    return ", ".join(parts)


def usage_text(usage: GpuUsage, price: float | None) -> str:
    """`1.25 (4 GPUs held now; about 3.13 at 2.5 per GPU-hour)`."""
    notes = [f"{usage.gpus} GPUs held now"] if usage.gpus else []
    cost = usage.cost(price)
    if cost is not None:
        notes.append(f"about {cost:.2f} at {price:g} per GPU-hour")
    return f"{usage.gpu_hours:.2f}" + (f" ({'; '.join(notes)})" if notes else "")


def status_dict(status: JobStatus, price: float | None = None) -> dict[str, Any]:
    """A JSON-ready summary: phase, queue, progress, GPU time and cost, counts, failure reason and exit code, what
    to do about it, artifact URI, pods."""
    found = diagnosis.diagnose(status.pods)
    return {
        "name": status.name,
        "namespace": status.namespace,
        "phase": status.phase.value,
        "queue": status.queue,
        "progress": status.progress.as_dict() if status.progress else None,
        "gpuHours": round(status.usage.gpu_hours, 4),
        "cost": None if price is None else round(status.usage.cost(price) or 0.0, 2),
        "active": status.active,
        "succeeded": status.succeeded,
        "failed": status.failed,
        "reason": status.reason,
        "message": status.message,
        "exitCode": status.exit_code,
        "exitCodeMeaning": _exit_meaning(status),
        "diagnosis": found.line() if found else None,
        "artifactUri": status.artifact_uri,
        **({"sweep": status.sweep, "params": status.params} if status.sweep else {}),
        "pods": [
            {
                "name": pod.name,
                "phase": pod.phase,
                "restarts": pod.restarts,
                "node": pod.node,
                "exitCode": pod.exit_code,
                "reason": pod.reason,
                "message": pod.message,
                "gpus": pod.gpus,
                "gpuHours": round(pod.gpu_seconds / 3600, 4),
            }
            for pod in status.pods
        ],
    }


def _exit_meaning(status: JobStatus) -> str | None:
    failed = [pod for pod in status.pods if pod.exit_code not in (None, 0)]
    if failed and failed[-1].reason == diagnosis.OOM_KILLED:
        return "killed at the memory limit (OOMKilled)"
    return status.exit_description


def status_text(
    status: JobStatus, now: datetime | None = None, price: float | None = None, wide: bool = False
) -> str:
    """What `launcher status` prints: a field list, then one row per pod (`wide`: with GPUs and GPU-hours)."""
    now = now or datetime.now(UTC)
    found = diagnosis.diagnose(status.pods)
    fields = [
        ("Name", status.name),
        ("Namespace", status.namespace),
        ("Phase", status.phase_text),
        ("Queue", status.queue),
        ("Age", age(status.created, now)),
        ("Progress", progress_text(status.progress) if status.progress else None),
        ("GPU-hours", usage_text(status.usage, price) if status.pods else None),
        ("Pods", f"{status.active} active, {status.succeeded} succeeded, {status.failed} failed"),
        ("Reason", status.reason),
        ("Exit code", None if status.exit_code is None else f"{status.exit_code} ({_exit_meaning(status)})"),
        ("Message", status.message),
        ("Diagnosis", found.line() if found else None),
        ("Artifacts", status.artifact_uri),
    ]
    lines = [f"{key + ':':<11} {value}" for key, value in fields if value is not None]
    if status.pods:
        header = ["POD", "PHASE", "RESTARTS", "EXIT", "REASON", "NODE", "AGE"] + ["GPUS", "GPU-HOURS"] * wide
        rows = [
            [pod.name, pod.phase, pod.restarts, pod.exit_code, pod.reason, pod.node, age(pod.created, now)]
            + [pod.gpus, f"{pod.gpu_seconds / 3600:.2f}"] * wide
            for pod in status.pods
        ]
        lines += ["", table(header, rows)]
    return "\n".join(lines)


def short_progress(status: JobStatus) -> tuple[str | None, str | None]:
    """(PROGRESS, ETA) cells of a table row: `2/3 54%`, `3m10s`."""
    p = status.progress
    if p is None:
        return None, None
    eta = durations.describe(p.eta_seconds) if p.eta_seconds is not None and p.fraction < 1 else None
    return f"{p.epoch}/{p.epochs} {p.fraction:.0%}", eta


def jobs_table(
    statuses: Sequence[JobStatus],
    all_namespaces: bool,
    now: datetime | None = None,
    wide: bool = False,
    price: float | None = None,
) -> str:
    """What `launcher list` prints (`wide`: with loss, GPU-hours, cost, retries and artifacts)."""
    now = now or datetime.now(UTC)
    header = ["NAMESPACE"] * all_namespaces + ["NAME", "PHASE", "QUEUE", "PROGRESS", "ETA", "AGE"]
    header += ["LOSS", "GPU-HOURS", *(["COST"] if price else []), "FAILED", "ARTIFACTS"] * wide
    rows = []
    for s in statuses:
        row = [s.namespace] * all_namespaces + [s.name, s.phase.value, s.queue, *short_progress(s)]
        row.append(age(s.created, now))
        if wide:
            loss = f"{s.progress.loss:.4f}" if s.progress and s.progress.loss is not None else None
            cost = [f"{s.usage.cost(price):.2f}"] if price else []
            row += [loss, f"{s.usage.gpu_hours:.2f}", *cost, s.failed, s.artifact_uri]
        rows.append(row)
    return table(header, rows)


def wait_line(status: JobStatus) -> str:
    """One line of `submit --wait`: phase and pods, then the progress once the trainer reports it."""
    line = status.progress_line()
    return f"{line} {progress_text(status.progress)}" if status.progress else line


def sweep_table(found: Sequence[JobStatus]) -> str:
    """What `sweep status` prints: a row per trial, a column per swept flag."""
    flags = list(dict.fromkeys(flag for s in found for flag in s.params))
    header = ["TRIAL", "PHASE", *(f.upper() for f in flags), "PROGRESS", "ETA", "LOSS", "GPU-HOURS"]
    rows = []
    for s in found:
        loss = f"{s.progress.loss:.4f}" if s.progress and s.progress.loss is not None else None
        cells = [s.name, s.phase.value, *(s.params.get(f) for f in flags), *short_progress(s), loss]
        rows.append([*cells, f"{s.usage.gpu_hours:.2f}"])
    return table(header, rows)
