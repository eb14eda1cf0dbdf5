"""Which build is running: the package version and the git commit, so a user can match a launcher to an image.

`trainer --version` and `launcher --version` print `describe(...)`. In the image the commit comes from the
`GIT_COMMIT` build argument, recorded as the `TF_FINETUNE_K8S_COMMIT` variable (and the image's
`org.opencontainers.image.revision` label); in a source checkout from git; otherwise it is "unknown".
Standard library only, and no git call when the variable is set: it answers at once.
"""

import os
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "tf-finetune-k8s"
"""The project's name on the package index (pyproject.toml)."""

COMMIT_ENV = "TF_FINETUNE_K8S_COMMIT"
"""Set by the Dockerfile from its GIT_COMMIT build argument."""

UNKNOWN = "unknown"

SOURCE_ROOT = Path(__file__).resolve().parents[2]
"""The checkout holding this package when it runs from source (an editable install or the repository)."""


def package_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def _git(args: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False
    )


def source_commit(root: Path = SOURCE_ROOT) -> str:
    """HEAD of the checkout at `root`, with `-dirty` when tracked files differ from it; "unknown" when `root`
    is not a git checkout (an installed wheel) or git is missing."""
    if not (root / ".git").exists():
        return UNKNOWN
    try:
        head = _git(["rev-parse", "HEAD"], root)
        if head.returncode != 0:
            return UNKNOWN
        clean = _git(["diff", "--quiet", "HEAD", "--"], root).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return UNKNOWN
    return head.stdout.strip() + ("" if clean else "-dirty")


def commit(environ: Mapping[str, str] = os.environ, root: Path = SOURCE_ROOT) -> str:
    """The image's recorded commit if there is one, else the source checkout's."""
    return environ.get(COMMIT_ENV) or source_commit(root)


def describe(program: str) -> str:
    """`<program> <version> (commit <sha>)`, the line both command lines print for --version."""
    return f"{program} {package_version()} (commit {commit()})"
