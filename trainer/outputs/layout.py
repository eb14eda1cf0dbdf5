"""The output layout and the JSON records written beside the model.

<output>/
  model/          save_pretrained of model and tokenizer (config holds id2label/label2id)
  labels.json     label names in id order
  metrics.json    final eval metrics, per-epoch history, throughput
  run.json        resolved settings, versions, strategy, data objects, times, status
  _SUCCESS        written last; a consumer that sees it sees a complete run
"""

import json
import logging
import platform
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from trainer.outputs.redaction import scrub
from trainer.storage import Location, Storage

log = logging.getLogger(__name__)

MODEL_DIR = "model"
LABELS_FILE = "labels.json"
METRICS_FILE = "metrics.json"
RUN_FILE = "run.json"
SUCCESS_MARKER = "_SUCCESS"

VERSIONED_PACKAGES = (
    "tf-finetune-k8s",
    "tensorflow",
    "tf-keras",
    "transformers",
    "tokenizers",
    "numpy",
    "pyarrow",
    "boto3",
)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def write_json(path: Path, value: Any) -> Path:
    """Write `value` as JSON, secrets masked (run.json and metrics.json record settings and errors)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scrub(json.dumps(value, indent=2, sort_keys=False)) + "\n", encoding="utf-8")
    return path


@dataclass
class RunRecord:
    """What run.json says about one run; updated as the run progresses and written at its start and end."""

    settings: dict[str, Any]
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    status: str = "running"
    host: str = field(default_factory=socket.gethostname)
    versions: dict[str, str | None] = field(default_factory=package_versions)
    distribution: dict[str, Any] = field(default_factory=dict)
    data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    model_source: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "attempts": self.attempts,
            "host": self.host,
            "settings": self.settings,
            "distribution": self.distribution,
            "model_source": self.model_source,
            "data": self.data,
            "versions": self.versions,
        }


def already_published(storage: Storage, output: Location, *, overwrite: bool, what: str) -> bool:
    """True when `output` holds `_SUCCESS` and no --overwrite: the verb then does nothing and exits 0, so a Job
    retried after success never redoes or clobbers published work. With --overwrite the old marker goes first,
    so it cannot vouch for an output being replaced."""
    success = output.join(SUCCESS_MARKER)
    if not storage.exists(success):
        return False
    if not overwrite:
        log.info(
            "%s already holds %s (%s): nothing to do; pass --overwrite to run again",
            output,
            what,
            SUCCESS_MARKER,
        )
        return True
    log.info("--overwrite: removing %s before running again", success)
    storage.delete_prefix(success)
    return False
