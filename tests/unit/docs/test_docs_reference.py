"""The reference pages cannot drift from the code: every flag, variable and exit code is documented."""

import argparse
import re

import pytest
from pydantic_settings import BaseSettings

from launcher import errors as launcher_errors
from launcher.cli import build_parser
from launcher.settings import ENV_PREFIX, ConnectionSettings, JobSettings, flag
from support.markdown_docs import ROOT
from trainer.contract.exit_codes import ExitCode
from trainer.settings.train import TrainSettings
from trainer.settings.verbs import EvaluateSettings, ExportSettings, PredictSettings

TRAINER_PAGE = ROOT / "docs" / "trainer.md"
LAUNCHER_PAGE = ROOT / "docs" / "launcher.md"
OPERATIONS_PAGE = ROOT / "docs" / "operations.md"


def mentions(text: str, name: str) -> bool:
    """`name` appears as a whole flag or variable (not as the start of a longer one)."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def section(text: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    m = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.MULTILINE)
    assert m, f"no heading {heading!r}"
    level = len(m[1])
    end = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE).search(text, m.end())
    return text[m.end() : end.start() if end else len(text)]


def table_codes(text: str) -> set[int]:
    return {int(m) for m in re.findall(r"^\| (\d+) \|", text, re.MULTILINE)}


@pytest.mark.parametrize("settings", [TrainSettings, EvaluateSettings, PredictSettings, ExportSettings])
def test_every_trainer_flag_is_in_the_trainer_page(settings: type[BaseSettings]) -> None:
    text = TRAINER_PAGE.read_text()
    flags = ["--" + name.replace("_", "-") for name in settings.model_fields]
    assert [f for f in flags if not mentions(text, f)] == []


def test_every_launcher_flag_is_in_the_launcher_page() -> None:
    text = LAUNCHER_PAGE.read_text()
    verbs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    options = {
        option
        for parser in verbs.choices.values()
        for action in parser._actions
        if action.help != argparse.SUPPRESS
        for option in action.option_strings
        if option not in ("-h", "--help")
    }
    assert len(options) > 30
    assert sorted(o for o in options if not mentions(text, o)) == []


def test_every_launcher_setting_has_its_flag_and_variable_in_the_launcher_page() -> None:
    text = LAUNCHER_PAGE.read_text()
    fields = [*ConnectionSettings.model_fields, *JobSettings.model_fields]
    missing = [f for f in fields if not (mentions(text, flag(f)) and mentions(text, ENV_PREFIX + f.upper()))]
    assert missing == []


def test_every_trainer_exit_code_is_in_the_operations_page() -> None:
    table = section(OPERATIONS_PAGE.read_text(), "Exit codes of the trainer")
    assert table_codes(table) == {int(code) for code in ExitCode}


def test_every_launcher_exit_code_is_in_the_operations_page() -> None:
    table = section(OPERATIONS_PAGE.read_text(), "Exit codes of the launcher")
    codes = {
        cls.exit_code
        for cls in vars(launcher_errors).values()
        if isinstance(cls, type) and issubclass(cls, launcher_errors.LauncherError)
    }
    special = {launcher_errors.INTERRUPTED_EXIT_CODE, launcher_errors.INCOMPLETE_RESULTS_EXIT_CODE}
    assert table_codes(table) == {0, *special, *codes}
