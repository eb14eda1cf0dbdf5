"""`trainer export`: write the serving folder of a trained artifact (SavedModel, tokenizer, labels) to --output."""

import logging
import shutil
import tempfile
from pathlib import Path

from trainer.data.fetch import load_tokenizer
from trainer.model.inference import fetch_artifact, load_classifier
from trainer.model.serving import write_serving_folder
from trainer.outputs import layout
from trainer.settings.verbs import ExportSettings
from trainer.storage import Location, Storage

log = logging.getLogger(__name__)


def run(settings: ExportSettings, storage: Storage | None = None) -> int:
    """`trainer export`: write the serving folder of a trained artifact to --output, `_SUCCESS` last."""
    storage = storage or Storage()
    output = Location.parse(settings.output)
    if layout.already_published(storage, output, overwrite=settings.overwrite, what="a completed export"):
        return 0
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="export-", dir=settings.work_dir))
    try:
        artifact = fetch_artifact(settings.model, storage, work / "model")
        tokenizer = load_tokenizer(artifact.path)
        model = load_classifier(artifact.path)
        staging = work / "output"
        write_serving_folder(model, tokenizer, artifact.labels.names, staging)
        storage.publish(staging, output, marker=layout.SUCCESS_MARKER)
        log.info("published %s (saved_model, tokenizer, labels) and %s", output, layout.SUCCESS_MARKER)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0
