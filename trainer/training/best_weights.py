"""The best evaluation's weights (--load-best-model-at-end), kept in object storage beside the checkpoints.

Each improving evaluation writes the model's weights (not the optimizer's state) and uploads them under
`<output>/checkpoints/best-<optimizer step>/`, `COMPLETE` last, before training goes on: a checkpoint saved after
it, whose meta.json names that step as the best, can then always find them. Older best weights are deleted once
the newest complete checkpoint names a newer best (a resume starts from that checkpoint, never an older one).
They go with the other checkpoints when the run is published. Each worker writes (saving takes every worker);
only the publishing one uploads, and every one reads them back from storage at the end.
"""

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import tensorflow as tf

from trainer.storage import Location, Storage
from trainer.training.best_model import BestModel
from trainer.training.checkpoints import CHECKPOINTS_DIR, COMPLETE_MARKER, META_FILE, find_complete

log = logging.getLogger(__name__)

WEIGHTS_PREFIX = "weights"
_NAME = re.compile(r"^best-(\d{10})$")


def best_name(global_step: int) -> str:
    return f"best-{global_step:010d}"


class BestWeights:
    """Saves the model's weights at an optimizer step and loads them back."""

    def __init__(
        self, storage: Storage, output: Location, local_dir: Path, *, model: Any, publish: bool
    ) -> None:
        self._storage = storage
        self._root = output.join(CHECKPOINTS_DIR)
        self._local = local_dir
        self._publish = publish
        # The variables alone: a Checkpoint of the model would take its optimizer along (and rewind its step).
        self._checkpoint = tf.train.Checkpoint(weights=list(model.weights))

    def save(self, global_step: int) -> None:
        """Write and (publishing worker) upload the weights now; then drop best weights no resume can need."""
        name = best_name(global_step)
        folder = self._local / name
        shutil.rmtree(folder, ignore_errors=True)
        self._checkpoint.write(str(folder / WEIGHTS_PREFIX))
        try:
            if self._publish:
                destination = self._root.join(name)
                self._storage.delete_prefix(destination)  # a run resumed before this step may have left one
                self._storage.publish(folder, destination, marker=COMPLETE_MARKER)
                log.info("best weights so far uploaded to %s", destination)
                self._prune(global_step)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def load(self, global_step: int) -> Location:
        """Read the weights saved at `global_step` into the model; where they came from."""
        source = self._root.join(best_name(global_step))
        target = self._local / "restore" / best_name(global_step)
        self._storage.download(source, target, copy_local=True)
        self._checkpoint.read(str(target / WEIGHTS_PREFIX)).expect_partial()
        shutil.rmtree(target, ignore_errors=True)
        return source

    def _prune(self, newest: int) -> None:
        complete = find_complete(self._storage, self._root)
        if not complete:
            return
        meta = json.loads(self._storage.read_bytes(self._root.join(complete[-1], META_FILE)))
        needed = (meta.get("extra", {}).get("best") or {}).get("global_step")
        if needed is None:
            return
        names = {info.relative.partition("/")[0] for info in self._storage.list(self._root)}
        for name in sorted(names):
            match = _NAME.match(name)
            if match and int(match[1]) < min(needed, newest):
                self._storage.delete_prefix(self._root.join(name))


def finish(
    best: BestModel, store: BestWeights | None, final: dict[str, Any], *, global_step: int, epoch: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """After the final evaluation (`final`, of the model after `global_step` steps): count it, and with a `store`
    (--load-best-model-at-end) put the best weights back into the model when they are not the final ones.
    Returns the evaluation of the weights that will be published and metrics.json's "best_model"."""
    best.observe(final, global_step=global_step, epoch=epoch)
    if (
        store is None
        or best.global_step == global_step
        or best.global_step is None
        or best.evaluation is None
    ):
        return final, best.summary(loaded=store is not None)
    source = store.load(best.global_step)
    log.info(
        "loaded the best weights (%s=%.4f at optimizer step %d, epoch %d) from %s: they are published as model/",
        best.metric,
        best.value,
        best.global_step,
        best.epoch,
        source,
    )
    return best.evaluation, best.summary(loaded=True)
