"""Storage on local paths: the same operations as for S3, on the real file system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trainer.errors import DataError, NotFoundError, UsageError
from trainer.storage import Location, Storage

FILES = {"train.csv": b"text,label\n", "shards/b.jsonl": b"{}\n", "shards/a.jsonl": b"[]\n"}


@pytest.fixture
def local() -> Storage:
    return Storage()  # no S3 client is ever built for local paths


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for relative, body in FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(body)
    return root


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_list_file_directory_and_missing(local: Storage, tree: Path, tmp_path: Path) -> None:
    [single] = local.list(Location.local(tree / "train.csv"))
    assert (single.relative, single.size, single.etag) == ("train.csv", len(FILES["train.csv"]), None)
    assert [i.relative for i in local.list(Location.local(tree))] == [
        "shards/a.jsonl",
        "shards/b.jsonl",
        "train.csv",
    ]
    with pytest.raises(NotFoundError, match=f"no such file or directory {tmp_path}/missing: check the path"):
        local.list(Location.local(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match="contains no files"):
        local.list(Location.local(tmp_path / "empty"))
    assert local._client is None


def test_download_returns_local_paths_without_copying(local: Storage, tree: Path, tmp_path: Path) -> None:
    pairs = local.download(Location.local(tree), tmp_path / "dest")
    assert [path for _, path in pairs] == [
        tree / "shards/a.jsonl",
        tree / "shards/b.jsonl",
        tree / "train.csv",
    ]
    assert not (tmp_path / "dest").exists()


def test_download_with_copy_preserves_layout(local: Storage, tree: Path, tmp_path: Path) -> None:
    pairs = local.download(Location.local(tree / "shards"), tmp_path / "dest", copy_local=True)
    assert files_under(tmp_path / "dest") == {"a.jsonl": b"[]\n", "b.jsonl": b"{}\n"}
    assert [path for _, path in pairs] == [tmp_path / "dest/a.jsonl", tmp_path / "dest/b.jsonl"]


def test_upload_tree_and_publish_to_a_local_directory(local: Storage, tree: Path, tmp_path: Path) -> None:
    out = Location.local(tmp_path / "out" / "run")
    uploaded = local.upload_tree(tree, out, exclude=("shards/b.*",))
    assert [loc.path for loc in uploaded] == [out.path / "shards/a.jsonl", out.path / "train.csv"]
    assert files_under(out.path) == {"shards/a.jsonl": b"[]\n", "train.csv": b"text,label\n"}
    published = local.publish(tree, Location.local(tmp_path / "published"), marker_body=b"done")
    assert published[-1].path == tmp_path / "published" / "_SUCCESS"
    assert files_under(tmp_path / "published") == {**FILES, "_SUCCESS": b"done"}
    assert not [p for p in (tmp_path / "published").rglob("*.part")]


def test_upload_file_read_write_exists_delete(local: Storage, tree: Path, tmp_path: Path) -> None:
    target = Location.local(tmp_path / "x" / "y" / "copy.csv")
    local.upload_file(tree / "train.csv", target)
    assert local.read_bytes(target) == FILES["train.csv"]
    local.write_bytes(target, b"new")
    assert target.path.read_bytes() == b"new"
    assert local.exists(target) and not local.exists(Location.local(tmp_path / "nope"))
    assert local.delete_prefix(Location.local(tmp_path / "x")) == 1
    assert not (tmp_path / "x").exists()
    assert local.delete_prefix(Location.local(tmp_path / "x")) == 0
    with pytest.raises(UsageError, match="refusing to delete the file system root"):
        local.delete_prefix(Location.local(Path("/")))
    with pytest.raises(NotFoundError, match="no such file or directory"):
        local.read_bytes(Location.local(tmp_path / "nope"))


def test_publish_with_a_broken_file_writes_no_marker(local: Storage, tree: Path, tmp_path: Path) -> None:
    out = Location.local(tmp_path / "out")
    local.write_bytes(out.join("_SUCCESS"), b"from an earlier run")
    (tree / "zz-dangling").symlink_to(tmp_path / "vanished")
    with pytest.raises(NotFoundError, match=r"no such file or directory .*/zz-dangling: check the path"):
        local.publish(tree, out)
    assert not (tmp_path / "out" / "_SUCCESS").exists()


def test_special_files_are_refused_before_any_upload(local: Storage, tree: Path, tmp_path: Path) -> None:
    os.mkfifo(tree / "a-fifo")
    with pytest.raises(DataError, match="is not a regular file"):
        local.upload_tree(tree, Location.local(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
