"""Fixtures for driving the launcher CLI against the loopback Kubernetes API in `fake_kube_api`."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_result import Result
from fake_kube_api import FakeKubeApi, kubeconfig

from launcher.cli import main


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as server:
        yield server


@pytest.fixture
def kubeconfig_file(api: FakeKubeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real kubeconfig for the fake server, found through $KUBECONFIG as kubectl would."""
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig(api.url))
    for name in ("LAUNCHER_CONFIG", "LAUNCHER_NAMESPACE", "LAUNCHER_IMAGE", "LAUNCHER_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


@pytest.fixture
def launcher(kubeconfig_file: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run `launcher ARGS...` in-process; returns its exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
