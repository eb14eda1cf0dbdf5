"""Every relative link in the project's Markdown resolves, anchors included; `docs/` pages named in code exist."""

import re
from pathlib import Path

import pytest

from support.markdown_docs import INLINE_CODE, ROOT, anchors, doc_pages, links, pages

EXTERNAL = ("http://", "https://", "mailto:")
CODE_DIRS = ("trainer", "launcher", "k8s", "tests", "scripts", "demo", "benchmarks")
DOCS_MENTION = re.compile(r"\bdocs/[\w.-]+\.md\b")


def _broken(page: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for line, target in links(page):
        if target.startswith(EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        where = f"{page.relative_to(root)}:{line}: {target}"
        if not resolved.exists():
            problems.append(f"{where}: {path_part} does not exist")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where}: no heading with anchor #{anchor} in {resolved.relative_to(root)}")
    return problems


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    assert _broken(page) == []


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme_targets = {target.partition("#")[0] for _, target in links(ROOT / "README.md")}
    unlinked = [p.name for p in doc_pages()[1:] if f"docs/{p.name}" not in readme_targets]
    assert unlinked == []


def test_docs_pages_named_in_code_exist() -> None:
    files = [ROOT / "Dockerfile", ROOT / "Makefile"]
    files += [p for d in CODE_DIRS for p in (ROOT / d).rglob("*") if p.is_file() and p.suffix != ".pyc"]
    missing = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        missing += [
            f"{path.relative_to(ROOT)}: {m}" for m in DOCS_MENTION.findall(text) if not (ROOT / m).is_file()
        ]
    assert missing == []


def test_the_checker_catches_a_missing_page_and_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("## Set-up: the `k8s/` folder\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n[a](#title) [b](other.md#set-up-the-k8s-folder) [c](#nowhere) [d](gone.md) [e](https://x.y)\n"
    )
    assert _broken(page, tmp_path) == [
        "page.md:3: #nowhere: no heading with anchor #nowhere in page.md",
        "page.md:3: gone.md: gone.md does not exist",
    ]


REPO_PATH = re.compile(r"^(?:src|trainer|launcher|tests|k8s|benchmarks|demo|scripts|docs)/[\w./-]*$")


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_paths_in_inline_code_exist(page: Path) -> None:
    """`trainer/contract/exit_codes.py` and the like name real files, so a move shows up here."""
    missing = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        for span in INLINE_CODE.finditer(line):
            for token in span.group().strip("`").split():
                if REPO_PATH.match(token) and not (ROOT / token).exists():
                    missing.append(f"{page.relative_to(ROOT)}:{number}: {token}")
    assert missing == []
