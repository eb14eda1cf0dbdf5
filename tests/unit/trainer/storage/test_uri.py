"""Parsing and building storage locations: pure, no I/O."""

from pathlib import Path

import pytest

from trainer.errors import UsageError
from trainer.storage import Location


@pytest.mark.parametrize(
    ("uri", "bucket", "key", "canonical"),
    [
        ("s3://team-data/train.csv", "team-data", "train.csv", "s3://team-data/train.csv"),
        ("s3://team-data/shards/", "team-data", "shards", "s3://team-data/shards"),
        ("s3://team-data/a/b/c.parquet", "team-data", "a/b/c.parquet", "s3://team-data/a/b/c.parquet"),
        ("s3://team-data", "team-data", "", "s3://team-data"),
        ("s3://team-data/", "team-data", "", "s3://team-data"),
        ("S3://team.data-1/x", "team.data-1", "x", "s3://team.data-1/x"),
        ("  s3://abc/with space/é.txt ", "abc", "with space/é.txt", "s3://abc/with space/é.txt"),
        ("s3://abc/q?x=1#frag", "abc", "q?x=1#frag", "s3://abc/q?x=1#frag"),
    ],
)
def test_s3_uris_parse_to_bucket_and_key(uri: str, bucket: str, key: str, canonical: str) -> None:
    loc = Location.parse(uri)
    assert (loc.is_s3, loc.bucket, loc.key, str(loc)) == (True, bucket, key, canonical)
    assert Location.parse(str(loc)) == loc


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("", "empty storage location"),
        ("   ", "empty storage location"),
        ("s3://", "missing bucket name"),
        ("s3:///key", "missing bucket name"),
        ("s3://ab/key", "3 to 63 characters"),
        ("s3://" + "a" * 64, "3 to 63 characters"),
        ("s3://Team-Data/key", "may contain only"),
        ("s3://team_data/key", "may contain only"),
        ("s3://-team/key", "may contain only"),
        ("s3://team-/key", "may contain only"),
        ("s3://team..data/key", "two adjacent periods"),
        ("s3://192.168.5.4/key", "IP address"),
        ("s3://xn--team/key", "reserved"),
        ("s3://team-s3alias/key", "reserved"),
        ("s3://team/a//b", "empty, '.' or '..'"),
        ("s3://team/a/../b", "empty, '.' or '..'"),
        ("s3://team/./b", "empty, '.' or '..'"),
        ("s3://team/" + "k" * 1025, "longer than 1024 bytes"),
        ("gs://bucket/key", "unsupported storage scheme 'gs'"),
        ("http://host/bucket/key", "unsupported storage scheme 'http'"),
        ("s3a://bucket/key", "unsupported storage scheme 's3a'"),
        ("file://otherhost/data", "names host 'otherhost'"),
        ("file://localhost", "has no path"),
    ],
)
def test_malformed_uris_are_usage_errors_naming_the_problem(uri: str, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        Location.parse(uri)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message


def test_local_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = Location.parse("data/../data/train.csv")
    assert not relative.is_s3
    assert relative.path == tmp_path / "data" / "train.csv"
    assert relative.bucket == ""
    assert str(relative) == (tmp_path / "data" / "train.csv").as_uri()
    assert Location.parse(tmp_path / "x") == Location.local(tmp_path / "x")


def test_file_uris_and_home_expansion(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Location.parse("file:///data/my%20set/a.csv").path == Path("/data/my set/a.csv")
    assert Location.parse("file://localhost/data").path == Path("/data")
    assert Location.parse("~/models").path == tmp_path / "models"
    spaced = Location.parse("/data/my set")
    assert Location.parse(str(spaced)) == spaced


def test_path_is_only_for_local_locations() -> None:
    with pytest.raises(ValueError, match="S3 location"):
        _ = Location.parse("s3://bucket/key").path


@pytest.mark.parametrize(
    ("base", "parts", "expected"),
    [
        ("s3://bucket", ("a",), "s3://bucket/a"),
        ("s3://bucket/run", ("checkpoints", "epoch-1"), "s3://bucket/run/checkpoints/epoch-1"),
        ("s3://bucket/run", ("metrics/eval.json",), "s3://bucket/run/metrics/eval.json"),
        ("s3://bucket/run", ("/x/", "y/"), "s3://bucket/run/x/y"),
        ("s3://bucket/run", (), "s3://bucket/run"),
        ("/out", ("a/b", "c"), "file:///out/a/b/c"),
    ],
)
def test_join(base: str, parts: tuple[str, ...], expected: str) -> None:
    assert str(Location.parse(base).join(*parts)) == expected


@pytest.mark.parametrize("part", ["..", "a/../b", "./a"])
def test_join_rejects_dot_segments(part: str) -> None:
    with pytest.raises(UsageError, match=r"'\.' and '\.\.'"):
        Location.parse("s3://bucket/run").join(part)


@pytest.mark.parametrize(
    ("uri", "name"),
    [("s3://bucket", "bucket"), ("s3://bucket/a/b.csv", "b.csv"), ("s3://bucket/dir/", "dir"), ("/x/y", "y")],
)
def test_name_is_the_last_component(uri: str, name: str) -> None:
    assert Location.parse(uri).name == name


def test_locations_are_frozen_and_hashable() -> None:
    loc = Location.parse("s3://bucket/key")
    assert {loc, Location.parse("s3://bucket/key/")} == {loc}
    with pytest.raises(AttributeError):
        loc.key = "other"  # type: ignore[misc]


def test_importing_storage_imports_no_tensorflow() -> None:
    import subprocess
    import sys

    code = "import sys, trainer.storage; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
