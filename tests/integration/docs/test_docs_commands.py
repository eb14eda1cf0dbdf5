"""Every `trainer` and `launcher` command that README.md and docs/*.md show is run here, and its exit code is
the one the page states (0 unless a `$ echo $?` line after it says otherwise; the conventions are in
`support.markdown_docs`). The world they run in, and the one place where placeholders are replaced
(`PLACEHOLDERS`), are in `doc_shell`. A page's commands run in order in one working directory and cluster, so a
later command sees what an earlier one made.
"""

from pathlib import Path
from typing import Any

import pytest
from doc_shell import (
    ERROR_PREFIXES,
    LOCAL_DATA,
    NAMESPACE,
    PLACEHOLDERS,
    POLL_SECONDS,
    RUNNABLE,
    Session,
    World,
)

import launcher.cli
from integration.launcher.fake_kube_api import FakeKubeApi, kubeconfig
from support.markdown_docs import ROOT, Block, Command, blocks, doc_pages


def run_blocks(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.info == "console" and b.not_run is None]


def runs_trainer(page: Path) -> bool:
    return any(c.program == "trainer" for b in run_blocks(page) for c in b.commands())


def _page_params() -> list[Any]:
    return [
        pytest.param(
            page, marks=[pytest.mark.slow] if runs_trainer(page) else [], id=str(page.relative_to(ROOT))
        )
        for page in doc_pages()
        if run_blocks(page)
    ]


def shown_error(command: Command) -> str | None:
    """The `trainer: error: ...` / `launcher: error: ...` line the page shows for a failing command (joined if
    wrapped), else None."""
    lines = [line.strip() for line in command.shown_output]
    for i, line in enumerate(lines):
        if line.startswith(ERROR_PREFIXES):
            rest = [part for part in lines[i + 1 :] if part and not part.startswith("$")]
            return " ".join([line, *rest])
    return None


@pytest.mark.parametrize("page", _page_params())
def test_page_commands_exit_as_documented(
    page: Path,
    cluster: FakeKubeApi,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    # Only pages that run the trainer need the staged data and model; the others only the endpoint's address.
    world = (
        request.getfixturevalue("world") if runs_trainer(page) else World(request.getfixturevalue("moto_s3"))
    )
    monkeypatch.setattr(launcher.cli, "DEFAULT_POLL_SECONDS", POLL_SECONDS)
    (tmp_path / "kubeconfig").write_text(kubeconfig(cluster.url, namespace=NAMESPACE))
    env = {
        **world.endpoint.env(),
        "KUBECONFIG": str(tmp_path / "kubeconfig"),
        "TRAINER_WORK_DIR": str(tmp_path / "scratch"),
    }
    session = Session(world, tmp_path, env, monkeypatch)
    for block in blocks(page):
        if block.file_name:
            (tmp_path / block.file_name).write_text("\n".join(block.lines) + "\n")
    if world.hf_home is not None:  # the files a user has locally, for the pages' scripts
        for name, write in LOCAL_DATA.items():
            write(tmp_path / name)
    failures = []
    for block in run_blocks(page):
        for command in block.commands():
            outcome = session.run(command)
            if outcome.code != command.exit_code:
                failures.append(
                    f"{command.where}: `{command.text}` exited {outcome.code}, the page says "
                    f"{command.exit_code}\n{outcome.err[-2000:]}"
                )
                continue
            expected = shown_error(command)
            if expected is not None:
                expected = " ".join(world.substitute(expected).split())
                printed = [line for line in outcome.err.splitlines() if line.startswith(ERROR_PREFIXES)]
                if printed != [expected]:
                    failures.append(
                        f"{command.where}: the page shows\n  {expected}\nbut it printed\n  {printed}"
                    )
    assert not failures, "\n\n".join(failures)
    assert session.ran, f"{page}: no command ran"


def test_every_console_block_runs_or_is_marked() -> None:
    """A console block either runs (trainer, launcher, export only) or says why not; nothing is skipped
    silently, and commands appear only in console blocks."""
    problems = []
    for page in doc_pages():
        for block in blocks(page):
            where = f"{page.relative_to(ROOT)}:{block.line}"
            if block.info != "console":
                if any(line.startswith("$ ") for line in block.lines):
                    problems.append(f"{where}: `$ ` commands belong in a ```console block")
                continue
            commands = block.commands()
            if not commands:
                problems.append(f"{where}: a console block without a `$ ` command")
            if block.not_run is None:
                problems += [
                    f"{c.where}: `{c.program}` cannot run in the docs test; add <!-- not run here: REASON -->"
                    for c in commands
                    if c.program not in RUNNABLE
                ]
    assert not problems, "\n".join(problems)


def test_placeholders_are_used() -> None:
    """Every placeholder the test replaces still appears in a command (no stale entries)."""
    texts = [c.text for page in doc_pages() for b in run_blocks(page) for c in b.commands()]
    unused = [p for p in PLACEHOLDERS if not any(p in text for text in texts)]
    assert not unused


def test_documented_failures_show_their_error() -> None:
    """A command documented to fail shows the error line a user will see."""
    failing = [c for page in doc_pages() for b in run_blocks(page) for c in b.commands() if c.exit_code]
    assert failing, "the docs show no failing command"
    assert all(shown_error(c) for c in failing), [c.where for c in failing if not shown_error(c)]
