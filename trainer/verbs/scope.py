"""A verb's frame: what every verb does around its work, in one place.

- An output that already holds `_SUCCESS` is left alone unless --overwrite, and the verb exits 0: a Job retried
  after success never redoes or clobbers published work (`layout.already_published`).
- The work gets a scratch folder under --work-dir for downloads and staging, removed however the verb ends.
- A verb that can stop cleanly (train: it checkpoints first) asks for `Scope.stop_on_sigterm`: from then on
  SIGTERM sets an event the verb polls instead of ending the process, and the previous handler is back when the
  verb ends. The other verbs keep Python's default: SIGTERM ends them at once, and a rerun starts over.
"""

import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from trainer.outputs import layout
from trainer.storage import Location, Storage


class OutputOptions(Protocol):
    """The options every verb's settings have (`OutputArguments`, `VerbOutputArguments`)."""

    output: str
    overwrite: bool
    work_dir: Path


@dataclass
class Scope:
    """What a verb's work runs with: storage, the parsed output, its scratch folder."""

    storage: Storage
    output: Location
    work: Path
    _restore: list[Any] = field(default_factory=list)

    def stop_on_sigterm(self) -> threading.Event:
        """An event SIGTERM sets from now on, instead of ending the process (until the verb ends)."""
        stop = threading.Event()
        self._restore.append(signal.signal(signal.SIGTERM, lambda signum, frame: stop.set()))
        return stop

    def close(self) -> None:
        while self._restore:
            signal.signal(signal.SIGTERM, self._restore.pop())


class VerbFrame:
    """`VerbFrame(settings, storage, what=..., work_prefix=...).run(work)`: parse the output at once (a malformed
    URI fails before anything else), then run `work` inside the frame."""

    def __init__(
        self, settings: OutputOptions, storage: Storage | None, *, what: str, work_prefix: str
    ) -> None:
        self.storage = storage or Storage()
        self.output = Location.parse(settings.output)
        self._settings = settings
        self._what = what
        self._work_prefix = work_prefix

    def run(self, work: Callable[[Scope], None]) -> int:
        """The verb's exit code: 0, also when the output already holds a completed result."""
        settings = self._settings
        if layout.already_published(self.storage, self.output, overwrite=settings.overwrite, what=self._what):
            return 0
        settings.work_dir.mkdir(parents=True, exist_ok=True)
        scope = Scope(
            self.storage, self.output, Path(tempfile.mkdtemp(prefix=self._work_prefix, dir=settings.work_dir))
        )
        try:
            work(scope)
        finally:
            scope.close()
            shutil.rmtree(scope.work, ignore_errors=True)
        return 0
