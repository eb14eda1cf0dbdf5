"""Local file system helpers for `Storage`: sorted tree walks, atomic writes, deletes."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from trainer.errors import UsageError

MIB = 1024 * 1024
COPY_BUFFER_BYTES = 1 * MIB
"""Buffer for local copies."""


def walk_files(root: Path) -> list[tuple[Path, str]]:
    """Every non-directory entry under `root` with its '/'-separated relative path, sorted by that path."""
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            found.append((path, path.relative_to(root).as_posix()))
    return sorted(found, key=lambda pair: pair[1])


def write_atomic(dest: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write through a temporary sibling and rename it into place; the file appears only when complete."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
    try:
        with temp.open("xb") as out:
            write(out)
        temp.replace(dest)
    except BaseException:
        with suppress(FileNotFoundError):
            temp.unlink()
        raise


def delete_local(path: Path) -> int:
    if path == Path(path.anchor):
        raise UsageError(f"refusing to delete the file system root {path}: name a directory inside it")
    if path.is_dir() and not path.is_symlink():
        count = sum(1 for _ in walk_files(path))
        shutil.rmtree(path)
        return count
    if path.exists() or path.is_symlink():
        path.unlink()
        return 1
    return 0
