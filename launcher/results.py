"""`launcher results PREFIX`: the published metrics of every run under a prefix (a sweep's `--output`), best first.

Each folder under the prefix is a run (a sweep's trial). Its `metrics.json` (`eval`: loss, accuracy, macro_f1,
...) is read, and its `_SUCCESS` marker tells a complete run from one still training, failed or cut off (the
trainer writes the marker last). Runs without the marker are listed after the complete ones, marked incomplete, and
the command exits 11 so a script can tell. Object storage is reached the way the trainer reaches it: boto3's own
credential chain (AWS_* variables, profile, IAM role) and `--s3-endpoint` or `AWS_ENDPOINT_URL_S3`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from launcher import views
from launcher.errors import (
    INCOMPLETE_RESULTS_EXIT_CODE,
    ClusterConfigError,
    ForbiddenError,
    NotFoundError,
    UsageError,
)

if TYPE_CHECKING:
    from launcher.commands import Io


METRICS_FILE = "metrics.json"
SUCCESS_MARKER = "_SUCCESS"
COLUMNS = ("loss", "accuracy", "macro_f1")
"""Metrics shown by default, besides the one sorted by."""


@dataclass(frozen=True)
class RunResult:
    name: str
    uri: str
    complete: bool
    metrics: dict[str, float] = field(default_factory=dict)


def split_uri(prefix: str) -> tuple[str, str]:
    if not prefix.startswith("s3://") or not prefix[5:].split("/", 1)[0]:
        raise UsageError(f"results takes an s3://bucket/prefix/ (a sweep's --output), not {prefix!r}")
    bucket, _, key = prefix[5:].partition("/")
    return bucket, key.rstrip("/") + "/" if key.strip("/") else ""


def lower_is_better(metric: str) -> bool:
    return "loss" in metric or metric.endswith("error")


def ordered(found: Sequence[RunResult], metric: str) -> list[RunResult]:
    """Complete runs first, each group best first by `metric` (runs without it last), then by name."""
    if found and not any(metric in r.metrics for r in found):
        known = sorted({m for r in found for m in r.metrics})
        raise UsageError(
            f"no run has the metric {metric!r}: --sort-by one of {', '.join(known) or '(none yet)'}"
        )
    sign = 1 if lower_is_better(metric) else -1

    def key(r: RunResult) -> tuple[bool, bool, float, str]:
        value = r.metrics.get(metric)
        return (not r.complete, value is None, sign * value if value is not None else 0.0, r.name)

    return sorted(found, key=key)


def table(found: Sequence[RunResult], metric: str) -> str:
    columns = [metric, *(c for c in COLUMNS if c != metric)]
    rows = [
        [r.name, "complete" if r.complete else "incomplete"]
        + [f"{r.metrics[c]:.4f}" if c in r.metrics else None for c in columns]
        for r in found
    ]
    return views.table(["RUN", "STATE", *(c.upper() for c in columns)], rows)


def _client(endpoint: str | None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, config=Config(retries={"mode": "standard"}))


def _storage_error(e: Exception, what: str) -> Exception:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(e, NoCredentialsError):
        return ClusterConfigError(
            f"no object storage credentials to read {what}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        )
    if isinstance(e, EndpointConnectionError):
        return ClusterConfigError(f"cannot reach object storage for {what}: {e} (check --s3-endpoint)")
    if isinstance(e, ClientError):
        code = e.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket", "404", "NoSuchKey"):
            return NotFoundError(f"{what} does not exist")
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return ForbiddenError(f"access denied to {what} ({code}): check the credentials")
    return e


def read(prefix: str, endpoint: str | None = None) -> list[RunResult]:
    """Every run folder under `prefix`, with its metrics.json's `eval` numbers and whether `_SUCCESS` is there."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_uri(prefix)
    s3 = _client(endpoint)
    try:
        folders = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key, Delimiter="/"):
            folders += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        found = []
        for folder in folders:
            names = {
                o["Key"].rsplit("/", 1)[-1]
                for o in s3.list_objects_v2(Bucket=bucket, Prefix=folder, Delimiter="/").get("Contents", [])
            }
            metrics: dict[str, float] = {}
            if METRICS_FILE in names:
                document = json.loads(s3.get_object(Bucket=bucket, Key=folder + METRICS_FILE)["Body"].read())
                evaluation = document.get("eval", {}) if isinstance(document, dict) else {}
                metrics = {
                    k: float(v)
                    for k, v in evaluation.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                }
            uri = f"s3://{bucket}/{folder}"
            found.append(RunResult(folder[len(key) :].rstrip("/"), uri, SUCCESS_MARKER in names, metrics))
    except (BotoCoreError, ClientError) as e:
        raise _storage_error(e, prefix) from e
    if not found:
        raise NotFoundError(f"no runs under {prefix}: it holds no folders (is it the sweep's --output?)")
    return found


def show(prefix: str, options: Any, io: Io) -> int:
    """Print the table (or `-o json|yaml`); exit 11 when some runs are incomplete."""
    found = ordered(read(prefix, options.s3_endpoint), options.sort_by)
    if options.output_format in ("json", "yaml"):
        data = [{"run": r.name, "uri": r.uri, "complete": r.complete, "metrics": r.metrics} for r in found]
        io.data(views.structured(data, options.output_format))
    else:
        io.data(table(found, options.sort_by))
    incomplete = [r.name for r in found if not r.complete]
    if incomplete:
        io.note(
            f"{len(incomplete)} of {len(found)} runs are incomplete (no {SUCCESS_MARKER}): {', '.join(incomplete)}"
        )
        return INCOMPLETE_RESULTS_EXIT_CODE
    return 0
