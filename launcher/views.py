"""Text and JSON views of statuses and job lists for the CLI (pure: values in, strings out)."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from launcher.status import JobStatus


def _age(created: datetime | None, now: datetime) -> str:
    if created is None:
        return "-"
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(header), *[["-" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def status_dict(status: JobStatus) -> dict[str, Any]:
    """A JSON-ready summary: phase, counts, failure reason and exit code, artifact URI, pods."""
    return {
        "name": status.name,
        "namespace": status.namespace,
        "phase": status.phase.value,
        "active": status.active,
        "succeeded": status.succeeded,
        "failed": status.failed,
        "reason": status.reason,
        "message": status.message,
        "exitCode": status.exit_code,
        "exitCodeMeaning": status.exit_description,
        "artifactUri": status.artifact_uri,
        "pods": [
            {
                "name": pod.name,
                "phase": pod.phase,
                "restarts": pod.restarts,
                "node": pod.node,
                "exitCode": pod.exit_code,
                "reason": pod.reason,
                "message": pod.message,
            }
            for pod in status.pods
        ],
    }


def status_json(status: JobStatus) -> str:
    return json.dumps(status_dict(status), indent=2)


def status_text(status: JobStatus, now: datetime | None = None) -> str:
    """What `launcher status` prints: a field list, then one row per pod."""
    now = now or datetime.now(UTC)
    fields = [
        ("Name", status.name),
        ("Namespace", status.namespace),
        ("Phase", status.phase.value),
        ("Age", _age(status.created, now)),
        ("Pods", f"{status.active} active, {status.succeeded} succeeded, {status.failed} failed"),
        ("Reason", status.reason),
        (
            "Exit code",
            None if status.exit_code is None else f"{status.exit_code} ({status.exit_description})",
        ),
        ("Message", status.message),
        ("Artifacts", status.artifact_uri),
    ]
    lines = [f"{key + ':':<11} {value}" for key, value in fields if value is not None]
    if status.pods:
        rows = [
            (pod.name, pod.phase, pod.restarts, pod.exit_code, pod.reason, pod.node, _age(pod.created, now))
            for pod in status.pods
        ]
        lines += ["", _table(("POD", "PHASE", "RESTARTS", "EXIT", "REASON", "NODE", "AGE"), rows)]
    return "\n".join(lines)


def jobs_table(statuses: Sequence[JobStatus], all_namespaces: bool, now: datetime | None = None) -> str:
    """What `launcher list` prints."""
    now = now or datetime.now(UTC)
    header = ("NAMESPACE",) * all_namespaces + ("NAME", "PHASE", "FAILED", "AGE", "ARTIFACTS")
    rows = [
        (s.namespace,) * all_namespaces
        + (s.name, s.phase.value, s.failed, _age(s.created, now), s.artifact_uri)
        for s in statuses
    ]
    return _table(header, rows)
