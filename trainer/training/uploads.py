"""Checkpoint uploads in one background thread: at most one in flight and one waiting.

A checkpoint supersedes every older one, so when a new one is handed over while another still waits, the waiting
one is dropped (its local folder discarded) and the new one waits in its place: the queue never grows with the
training speed, and what reaches storage is always the newest state the uploader could take. The one in flight is
never interrupted. `wait` blocks until nothing is in flight or waiting and re-raises the first failure.
"""

import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

Upload = Callable[[str, Path], None]
"""Ships the folder under the name (and removes it afterwards, whatever happened)."""


class UploadQueue:
    """`submit(name, folder)` hands a written checkpoint over; `upload(name, folder)` runs in the thread."""

    def __init__(
        self, upload: Upload, discard: Callable[[Path], None], *, name: str = "checkpoint-upload"
    ) -> None:
        self._upload = upload
        self._discard = discard
        self._changed = threading.Condition()
        self._waiting: tuple[str, Path] | None = None
        self._in_flight: str | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, name: str, folder: Path) -> None:
        with self._changed:
            if self._closed:
                raise RuntimeError("the upload queue is closed")
            dropped, self._waiting = self._waiting, (name, folder)
            self._changed.notify_all()
        if dropped is not None:
            log.info("checkpoint %s not uploaded: %s supersedes it before its upload began", dropped[0], name)
            self._discard(dropped[1])

    def _work(self) -> None:
        while True:
            with self._changed:
                while self._waiting is None and not self._closed:
                    self._changed.wait()
                if self._waiting is None:
                    return
                (name, folder), self._waiting = self._waiting, None
                self._in_flight = name
            try:
                self._upload(name, folder)
            except BaseException as e:  # kept for `wait`, which re-raises it in the training thread
                with self._changed:
                    self._error = self._error or e
            finally:
                with self._changed:
                    self._in_flight = None
                    self._changed.notify_all()

    @property
    def busy(self) -> bool:
        with self._changed:
            return self._in_flight is not None or self._waiting is not None

    def wait(self) -> None:
        """Block until every handed-over checkpoint is uploaded (or dropped); re-raise the first failure."""
        with self._changed:
            while self._in_flight is not None or self._waiting is not None:
                self._changed.wait()
            error, self._error = self._error, None
        if error is not None:
            raise error

    def close(self) -> None:
        """Finish what is in flight and waiting, then stop the thread."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join()
