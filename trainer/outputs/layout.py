"""The output layout: the names of what a run publishes, JSON files, and the `_SUCCESS` rule.

<output>/
  model/          save_pretrained of model and tokenizer (config holds id2label/label2id)
  labels.json     label names in id order
  metrics.json    final eval metrics, per-epoch history, throughput (`metrics`)
  run.json        settings as given, versions, strategy and plan, data objects, times, status (`run_record`)
  _SUCCESS        written last; a consumer that sees it sees a complete run
"""

import json
import logging
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


def write_json(path: Path, value: Any) -> Path:
    """Write `value` as JSON, secrets masked (run.json and metrics.json record settings and errors)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scrub(json.dumps(value, indent=2, sort_keys=False)) + "\n", encoding="utf-8")
    return path


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
