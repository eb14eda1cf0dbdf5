"""The frame every verb runs in: skip a published output, a scratch folder, SIGTERM as a stop event."""

import logging
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from trainer.errors import DataError, UsageError
from trainer.verbs.scope import Scope, VerbFrame


def options(tmp_path: Path, **overrides: object) -> SimpleNamespace:
    values = {"output": str(tmp_path / "out"), "overwrite": False, "work_dir": tmp_path / "scratch"}
    return SimpleNamespace(**(values | overrides))


def test_the_work_runs_in_a_scratch_folder_that_is_removed_however_it_ends(tmp_path: Path) -> None:
    seen: list[Path] = []

    def work(scope: Scope) -> None:
        assert scope.work.is_dir() and scope.work.parent == tmp_path / "scratch"
        assert scope.work.name.startswith("evaluate-") and scope.output.path == tmp_path / "out"
        seen.append(scope.work)

    frame = VerbFrame(options(tmp_path), None, what="a completed evaluation", work_prefix="evaluate-")
    assert frame.run(work) == 0
    assert seen and not seen[0].exists()

    def failing(scope: Scope) -> None:
        seen.append(scope.work)
        raise DataError("no rows")

    with pytest.raises(DataError):
        frame.run(failing)
    assert not seen[-1].exists()


def test_a_published_output_is_left_alone_unless_overwrite(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "_SUCCESS").write_text("")
    ran: list[bool] = []
    caplog.set_level(logging.INFO)
    frame = VerbFrame(options(tmp_path), None, what="a completed run", work_prefix="run-")
    assert frame.run(lambda scope: ran.append(True)) == 0
    assert not ran and "already holds a completed run (_SUCCESS): nothing to do" in caplog.text
    assert not (tmp_path / "scratch").exists()

    def work(scope: Scope) -> None:
        assert not (scope.output.path / "_SUCCESS").exists()  # it cannot vouch for what is being replaced
        ran.append(True)

    again = VerbFrame(options(tmp_path, overwrite=True), None, what="a completed run", work_prefix="run-")
    assert again.run(work) == 0 and ran == [True]


def test_sigterm_sets_the_stop_event_once_asked_and_the_handler_is_restored(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    stopped: list[bool] = []

    def work(scope: Scope) -> None:
        assert signal.getsignal(signal.SIGTERM) is before  # not asked: SIGTERM still ends the process
        stop = scope.stop_on_sigterm()
        signal.raise_signal(signal.SIGTERM)
        stopped.append(stop.is_set())
        raise DataError("stop here")

    with pytest.raises(DataError):
        VerbFrame(options(tmp_path), None, what="a completed run", work_prefix="run-").run(work)
    assert stopped == [True]
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_malformed_output_fails_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        VerbFrame(options(tmp_path, output="s3://"), None, what="x", work_prefix="x-")
    assert not (tmp_path / "scratch").exists()
