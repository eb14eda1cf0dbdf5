"""The Dockerfile's contract with the Job the launcher renders (no engine here: parsed and linted)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from launcher import manifests
from launcher.settings import JobSettings, load
from trainer.contract import container

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


def test_installs_from_the_lock_file_with_the_gpu_extra(dockerfile: DockerfileParser) -> None:
    syncs = [
        ins["value"]
        for ins in dockerfile.structure
        if ins["instruction"] == "RUN" and "uv sync" in ins["value"]
    ]
    assert len(syncs) == 2  # dependencies layer, then the project
    for command in syncs:
        assert "--frozen" in command and "--no-dev" in command
        assert "--extra trainer" in command and "--extra gpu" in command
    assert "--no-install-project" in syncs[0]
    stages = [ins["value"] for ins in dockerfile.structure if ins["instruction"] == "FROM"]
    assert len(stages) >= 3 and stages[-1].endswith("AS runtime")


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
