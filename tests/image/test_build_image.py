"""`make image` (scripts/build_image.py): the first builder that works, the same arguments for every builder."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_image.py"
_spec = importlib.util.spec_from_file_location("build_image", SCRIPT)
assert _spec and _spec.loader
build_image = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_image)


def test_a_docker_cli_without_a_daemon_does_not_count() -> None:
    probed: list[str] = []

    def works(builder: str) -> bool:
        probed.append(builder)
        return builder == "buildah"

    assert build_image.choose_builder(None, works) == "buildah"
    assert probed == ["docker", "podman", "buildah"]
    assert build_image.choose_builder("podman", works) == "podman"  # IMAGE_BUILDER: no probe
    assert probed == ["docker", "podman", "buildah"]


def test_no_builder_and_an_unknown_builder_are_one_line_errors() -> None:
    with pytest.raises(SystemExit, match="no working image builder"):
        build_image.choose_builder(None, lambda _: False)
    with pytest.raises(SystemExit, match="unknown builder 'kaniko'"):
        build_image.choose_builder("kaniko")


@pytest.mark.parametrize(
    ("builder", "start"),
    [
        ("docker", ["docker", "build"]),
        ("podman", ["podman", "build", "--layers"]),
        ("buildah", ["buildah", "bud", "--layers"]),
    ],
)
def test_every_builder_gets_the_same_arguments(builder: str, start: list[str]) -> None:
    command = build_image.build_command(
        builder,
        tag="registry.example.com/ml/trainer:1.0",
        variant="cpu",
        commit="abc123",
        build_args=["BASE_IMAGE=localhost/python:3.11-slim-bookworm"],
        ca_bundle=Path("/etc/ssl/certs/ca-certificates.crt"),
        context=Path("/src"),
    )
    assert command == [
        *start,
        *("--build-arg", "VARIANT=cpu", "--build-arg", "GIT_COMMIT=abc123"),
        *("--build-arg", "BASE_IMAGE=localhost/python:3.11-slim-bookworm"),
        *("--secret", "id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt"),
        *("--file", "/src/Dockerfile", "--tag", "registry.example.com/ml/trainer:1.0", "/src"),
    ]
    assert ("DOCKER_BUILDKIT" in build_image.build_env(builder, {})) is (builder == "docker")


def test_the_builder_probe_runs_info_and_a_missing_builder_does_not_work(tmp_path: Path) -> None:
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    script = (
        f"import sys; sys.path.insert(0, {str(SCRIPT.parent)!r}); import build_image as b; "
        "print(b.builder_works('docker'), b.builder_works('no-such-builder'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": str(tmp_path)},
        check=True,
    )
    assert result.stdout.split() == ["False", "False"]
