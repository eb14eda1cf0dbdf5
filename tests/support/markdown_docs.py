"""Read the project's Markdown pages the way the docs tests need them: links, heading anchors, code blocks and
the shell commands shown in ```console blocks.

The conventions the docs follow (and the tests hold):

- A command is a line of a ```console block that starts with `$ `; a line ending in `\\` continues on the next.
  The other lines of the block are the output it shows.
- `$ echo $?` followed by a number states the exit code of the command before it (a command that fails on
  purpose); every other command is expected to exit 0.
- `<!-- not run here: REASON -->` on the line before a block marks it as not run by the docs test (it needs a
  real cluster, registry, GPU, or runs the test suite itself). Every other ```console block is run.
- `<!-- file: NAME -->` on the line before a block: the docs test writes the block to NAME in the working
  directory before running the page's commands (a config file the commands read).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

NOT_RUN = re.compile(r"^<!--\s*not run here:\s*(?P<reason>.+?)\s*-->$")
FILE = re.compile(r"^<!--\s*file:\s*(?P<name>\S+)\s*-->$")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<info>[^`\s]*)")
HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")


@dataclass
class Command:
    page: Path
    line: int
    text: str
    """The command after `$ `, continuation lines joined with their backslash-newline kept."""
    exit_code: int = 0
    shown_output: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def program(self) -> str:
        return self.text.split(maxsplit=1)[0] if self.text.strip() else ""


@dataclass
class Block:
    page: Path
    line: int
    """Line number of the opening fence (1-based)."""
    info: str
    lines: list[str]
    not_run: str | None = None
    """The reason given in a `<!-- not run here: ... -->` marker, if any."""
    file_name: str | None = None

    def commands(self) -> list[Command]:
        """The `$ ` commands of a console block, with their shown output and expected exit codes."""
        commands: list[Command] = []
        i = 0
        while i < len(self.lines):
            line = self.lines[i]
            if not line.startswith("$ "):
                if commands:
                    commands[-1].shown_output.append(line)
                i += 1
                continue
            start, text = i, line[2:]
            while text.endswith("\\") and i + 1 < len(self.lines):
                i += 1
                text += "\n" + self.lines[i]
            i += 1
            if text.strip() == "echo $?" and commands and i < len(self.lines):
                commands[-1].exit_code = int(self.lines[i].strip())
                i += 1
                continue
            commands.append(Command(self.page, self.line + 1 + start, text))
        return commands


def pages() -> list[Path]:
    """Every committed Markdown page of the project (hidden folders such as .venv left out)."""
    found = []
    for path in sorted(ROOT.rglob("*.md")):
        relative = path.relative_to(ROOT)
        if not any(part.startswith(".") for part in relative.parts):
            found.append(path)
    return found


def doc_pages() -> list[Path]:
    """The user documentation: README.md and docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a page, with the marker comment on the line before each, if any."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        before = lines[i - 1].strip() if i > 0 else ""
        not_run, file_name = NOT_RUN.match(before), FILE.match(before)
        fence, start = m["fence"], i
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        found.append(
            Block(
                page,
                start + 1,
                m["info"],
                body,
                not_run["reason"] if not_run else None,
                file_name["name"] if file_name else None,
            )
        )
        i += 1
    return found


def _outside_fences(page: Path) -> Iterator[tuple[int, str]]:
    fence: str | None = None
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m["fence"]
            continue
        if fence is not None:
            if line.startswith(fence):
                fence = None
            continue
        yield number, line


def prose_lines(page: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line outside fenced code blocks, with inline code spans blanked."""
    for number, line in _outside_fences(page):
        yield number, INLINE_CODE.sub(lambda s: " " * len(s.group()), line)


def links(page: Path) -> Iterator[tuple[int, str]]:
    """(line number, target) of every inline Markdown link outside code."""
    for number, line in prose_lines(page):
        for m in LINK.finditer(line):
            yield number, m["target"]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading anchors on its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a page (repeated headings get -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in _outside_fences(page):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m["text"])
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found
