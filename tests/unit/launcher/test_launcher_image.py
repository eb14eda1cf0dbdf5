"""The Dockerfile's contract with the Job the launcher renders (no engine here: parsed and linted)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from launcher import manifests
from launcher.settings import JobSettings, load
from trainer.contract import container, version

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE))


def _runtime(parser: DockerfileParser) -> list[dict]:
    """Instructions of the last stage."""
    instructions = parser.structure
    last_from = max(i for i, ins in enumerate(instructions) if ins["instruction"] == "FROM")
    return instructions[last_from:]


def test_entrypoint_is_the_command_the_job_runs(dockerfile: DockerfileParser) -> None:
    entrypoint = [ins for ins in _runtime(dockerfile) if ins["instruction"] == "ENTRYPOINT"]
    assert json.loads(entrypoint[-1]["value"]) == [container.TRAINER_EXECUTABLE]
    job = manifests.build_job(load(JobSettings, {"image": "i"}), ["--output", "s3://o"], "r")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [container.TRAINER_EXECUTABLE]


def test_runs_as_the_contract_user(dockerfile: DockerfileParser) -> None:
    users = [ins["value"] for ins in _runtime(dockerfile) if ins["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] == str(container.CONTAINER_USER_ID)


def test_caches_live_in_the_scratch_dir(dockerfile: DockerfileParser) -> None:
    env = dockerfile.envs  # the last stage's environment
    assert env["TF_USE_LEGACY_KERAS"] == "1"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    for name in ("HOME", "HF_HOME", "MPLCONFIGDIR", "XDG_CACHE_HOME", "PIP_CACHE_DIR"):
        assert env[name].startswith(container.SCRATCH_DIR), name


def _runs(parser: DockerfileParser) -> list[str]:
    return [ins["value"] for ins in parser.structure if ins["instruction"] == "RUN"]


def test_installs_exactly_the_lock_file_hash_checked_from_any_index(dockerfile: DockerfileParser) -> None:
    (deps,) = [run for run in _runs(dockerfile) if "uv export" in run]
    assert "uv export --frozen --no-dev --no-emit-project" in deps
    assert "set -- --extra trainer --extra gpu" in deps and "set -- --extra trainer ;;" in deps
    assert "--no-deps --require-hashes --no-build" in deps and '--default-index "$PYPI_INDEX_URL"' in deps
    assert not [
        run for run in _runs(dockerfile) if "uv sync" in run
    ]  # fetches uv.lock's URLs, ignores the index
    (app,) = [run for run in _runs(dockerfile) if "--prefix /layers/app" in run]
    assert "--no-deps" in app
    args = {
        ins["value"].split("=", 1)[0]: ins["value"]
        for ins in dockerfile.structure
        if ins["instruction"] == "ARG"
    }
    assert (
        args["VARIANT"] == "VARIANT=gpu"
        and args["PYPI_INDEX_URL"] == "PYPI_INDEX_URL=https://pypi.org/simple"
    )


def test_base_images_are_build_arguments_defaulting_to_the_public_images(
    dockerfile: DockerfileParser,
) -> None:
    head = dockerfile.content.split("\nFROM ", 1)[0]
    assert "\nARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm\n" in head
    assert "\nARG UV_IMAGE=ghcr.io/astral-sh/uv:" in head
    froms = [ins["value"] for ins in dockerfile.structure if ins["instruction"] == "FROM"]
    assert froms == ["${UV_IMAGE} AS uv", "${BASE_IMAGE} AS deps", "deps AS app", "${BASE_IMAGE} AS runtime"]
    assert not dockerfile.content.startswith("# syntax=")  # BuildKit would pull its frontend: not air-gapped


def test_every_mount_target_is_absolute(dockerfile: DockerfileParser) -> None:
    """buildah and podman reject relative targets ("invalid container path"); BuildKit accepts both."""
    targets = re.findall(r"--mount=\S*?target=([^,\s]+)", dockerfile.content)
    assert targets and all(target.startswith("/") for target in targets), targets


def test_a_ca_bundle_comes_in_as_a_build_secret_never_a_layer(dockerfile: DockerfileParser) -> None:
    network_runs = [run for run in _runs(dockerfile) if "uv pip install" in run]
    assert len(network_runs) == 2
    for run in network_runs:
        assert "--mount=type=secret,id=ca-bundle,target=/run/secrets/ca-bundle" in run
        assert "export SSL_CERT_FILE=/run/secrets/ca-bundle" in run
    copies = [ins["value"] for ins in dockerfile.structure if ins["instruction"] in ("COPY", "ADD")]
    assert not [c for c in copies if "ca" in c.split() or ".crt" in c or ".pem" in c]


def test_the_code_layer_comes_last_after_the_dependency_layers(dockerfile: DockerfileParser) -> None:
    runtime = _runtime(dockerfile)
    adds_files = [ins for ins in runtime if ins["instruction"] in ("COPY", "ADD", "RUN")]
    assert [ins["value"] for ins in adds_files[-3:]] == [
        "--from=deps /layers/cuda/ /",
        "--from=deps /opt/venv /opt/venv",
        "--from=app /layers/app/ /",
    ]
    after = runtime[runtime.index(adds_files[-1]) + 1 :]
    assert {ins["instruction"] for ins in after} <= {
        "COMMENT",
        "ARG",
        "LABEL",
        "ENV",
        "USER",
        "ENTRYPOINT",
        "CMD",
    }


def test_the_image_records_the_commit_it_was_built_from(dockerfile: DockerfileParser) -> None:
    labels = dockerfile.labels  # the last stage's, with ARG defaults substituted
    assert labels["org.opencontainers.image.revision"] == "unknown"
    assert dockerfile.envs[version.COMMIT_ENV] == "unknown"
    assert "ARG GIT_COMMIT=unknown" in dockerfile.content


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert lines[lines.index("*")] == "*"
    assert {"!uv.lock", "!pyproject.toml", "!trainer/", "!launcher/"} <= set(lines)


def test_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed")
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
