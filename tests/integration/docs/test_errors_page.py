"""docs/errors.md lists every bad input tried on both CLIs with its exit code and line; each row is run here."""

import shlex
from pathlib import Path

import pytest

from support.bad_inputs import TERMINATION_LOG, Row, parse_rows, run_row

ROOT = Path(__file__).resolve().parents[3]
ROWS = parse_rows((ROOT / "docs" / "errors.md").read_text())


def test_the_page_lists_enough_bad_inputs_of_both_clis() -> None:
    assert len(ROWS) >= 30
    assert [r.number for r in ROWS] == list(range(1, len(ROWS) + 1))
    programs = {next(word for word in shlex.split(row.command) if "=" not in word) for row in ROWS}
    assert programs == {"launcher", "trainer"}


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.number}" for r in ROWS])
def test_each_bad_input_gives_the_documented_line_and_exit_code(
    row: Row, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_row(row, tmp_path, monkeypatch, capsys)
    assert (code, out) == (row.exit_code, "")
    assert err.splitlines() == [row.stderr]  # one line, no traceback, no usage
    if row.stderr.startswith("trainer: error: "):  # in a pod it is also the termination message
        message = row.stderr.removeprefix("trainer: error: ")
        assert (tmp_path / TERMINATION_LOG).read_text() == f"exit {row.exit_code}: {message}\n"
