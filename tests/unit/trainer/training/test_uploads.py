"""Checkpoint uploads: one in flight, one waiting, the waiting one replaced by a newer checkpoint, failures
re-raised by `wait`."""

import threading
from pathlib import Path

import pytest

from trainer.training.uploads import UploadQueue


class SlowStorage:
    """An upload that blocks until released, recording what was shipped and what was discarded."""

    def __init__(self) -> None:
        self.shipped: list[str] = []
        self.discarded: list[Path] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail: set[str] = set()

    def upload(self, name: str, folder: Path) -> None:
        self.started.set()
        assert self.release.wait(10)
        if name in self.fail:
            raise OSError(f"upload of {name} failed")
        self.shipped.append(name)

    def discard(self, folder: Path) -> None:
        self.discarded.append(folder)


def test_a_newer_checkpoint_replaces_the_waiting_one_and_the_one_in_flight_finishes(tmp_path: Path) -> None:
    storage = SlowStorage()
    queue = UploadQueue(storage.upload, storage.discard)
    queue.submit("ckpt-1", tmp_path / "1")
    assert storage.started.wait(10)  # ckpt-1 is in flight
    queue.submit("ckpt-2", tmp_path / "2")  # waits
    queue.submit("ckpt-3", tmp_path / "3")  # replaces ckpt-2, whose folder goes
    assert storage.discarded == [tmp_path / "2"]
    assert queue.busy
    storage.release.set()
    queue.wait()
    assert storage.shipped == ["ckpt-1", "ckpt-3"]
    assert not queue.busy
    queue.close()


def test_wait_reraises_the_first_failure_once_and_the_queue_goes_on(tmp_path: Path) -> None:
    storage = SlowStorage()
    storage.fail = {"ckpt-1"}
    storage.release.set()
    queue = UploadQueue(storage.upload, storage.discard)
    queue.submit("ckpt-1", tmp_path / "1")
    with pytest.raises(OSError, match="upload of ckpt-1 failed"):
        queue.wait()
    queue.submit("ckpt-2", tmp_path / "2")
    queue.wait()
    assert storage.shipped == ["ckpt-2"]
    queue.close()
    with pytest.raises(RuntimeError, match="closed"):
        queue.submit("ckpt-3", tmp_path / "3")


def test_close_finishes_what_was_handed_over(tmp_path: Path) -> None:
    storage = SlowStorage()
    queue = UploadQueue(storage.upload, storage.discard)
    queue.submit("ckpt-1", tmp_path / "1")
    assert storage.started.wait(10)
    queue.submit("ckpt-2", tmp_path / "2")
    storage.release.set()
    queue.close()
    assert storage.shipped == ["ckpt-1", "ckpt-2"]
