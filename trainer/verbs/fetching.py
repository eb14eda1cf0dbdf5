"""The training inputs fetched in a background thread, so TensorFlow can load meanwhile (`train_start`).

What the thread read is noted on its own record and copied into the run's record at the handover
(`Fetching.result`), so run.json names the inputs also when fetching them failed.
"""

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from trainer.data.prepare import Prepared, TrainingInputs, prepare_training_data
from trainer.settings.train import TrainSettings
from trainer.verbs.scope import Scope


@dataclass
class InputsRead:
    """What the fetch read (`data.prepare.ReadRecord`), kept apart from the run's record while it is written."""

    model_source: dict[str, Any] = field(default_factory=dict)
    data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class Fetching:
    """`prepare_training_data` running in a daemon thread; `result` waits for it.

    A daemon: a run that fails before it takes the inputs (no peers, a read-only output) exits at once instead of
    waiting for a download it no longer needs. Its errors are kept for `result`, never printed by the thread.
    """

    def __init__(self, settings: TrainSettings, scope: Scope, inputs: TrainingInputs) -> None:
        self.read = InputsRead()
        self._future: Future[Prepared] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(settings, scope, inputs), name="fetch-inputs", daemon=True
        )
        self._thread.start()

    def _run(self, settings: TrainSettings, scope: Scope, inputs: TrainingInputs) -> None:
        try:
            prepared = prepare_training_data(settings, scope.storage, inputs, scope.work, self.read)
        except BaseException as e:  # handed to the main thread by `result`
            self._future.set_exception(e)
        else:
            self._future.set_result(prepared)

    def result(self, record: Any) -> Prepared:
        """The prepared inputs once fetched (or the fetch's error); what was read goes into `record` either way."""
        try:
            return self._future.result()
        finally:
            record.model_source = self.read.model_source
            record.data = self.read.data
