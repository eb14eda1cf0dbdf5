"""`trainer export`: write the serving folder of a trained artifact (SavedModel, tokenizer, labels) to --output."""

import logging

from trainer.data.fetch import fetch_artifact
from trainer.model.build import load_classifier
from trainer.model.serving import write_serving_folder
from trainer.outputs import layout
from trainer.settings.verbs import ExportSettings
from trainer.storage import Storage
from trainer.verbs.scope import Scope, VerbFrame

log = logging.getLogger(__name__)


def run(settings: ExportSettings, storage: Storage | None = None) -> int:
    """`trainer export`: write the serving folder of a trained artifact to --output, `_SUCCESS` last."""
    frame = VerbFrame(settings, storage, what="a completed export", work_prefix="export-")
    return frame.run(lambda scope: _export(settings, scope))


def _export(settings: ExportSettings, scope: Scope) -> None:
    artifact = fetch_artifact(settings.model, scope.storage, scope.work / "model")
    model = load_classifier(artifact.path)
    staging = scope.work / "output"
    write_serving_folder(model, artifact.tokenizer, artifact.labels.names, staging)
    scope.storage.publish(staging, scope.output, marker=layout.SUCCESS_MARKER)
    log.info("published %s (saved_model, tokenizer, labels) and %s", scope.output, layout.SUCCESS_MARKER)
