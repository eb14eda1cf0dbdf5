"""`trainer --version` / `launcher --version`: the package version and the commit, from the image or from git."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.contract import version

ROOT = Path(__file__).resolve().parents[3]


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    (tmp_path / "f.txt").write_text("one\n")
    git(tmp_path, "add", "f.txt")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "one")
    return tmp_path


def test_a_clean_checkout_is_its_head_and_a_changed_one_is_dirty(checkout: Path) -> None:
    head = git(checkout, "rev-parse", "HEAD")
    assert version.source_commit(checkout) == head
    (checkout / "f.txt").write_text("two\n")
    assert version.source_commit(checkout) == f"{head}-dirty"


def test_without_git_the_commit_is_unknown_and_the_image_variable_wins(
    checkout: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    installed = tmp_path_factory.mktemp("site-packages")
    assert version.source_commit(installed) == "unknown"
    assert version.commit({}, installed) == "unknown"
    assert version.commit({version.COMMIT_ENV: "abc123"}, checkout) == "abc123"


@pytest.mark.parametrize("program", ["trainer", "launcher"])
def test_both_command_lines_print_version_and_commit_at_once(program: str) -> None:
    env = {"PATH": "/usr/bin:/bin", version.COMMIT_ENV: "0123abcd"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", program, "--version"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{program} {version.package_version()} (commit 0123abcd)\n"
    assert version.package_version() == "0.1.0"
    assert time.monotonic() - started < 5  # no TensorFlow, no kubernetes client


def test_from_the_checkout_the_commit_is_this_repository_s() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "--version"], capture_output=True, text=True, cwd="/", check=True
    )
    assert git(ROOT, "rev-parse", "HEAD") in result.stdout
