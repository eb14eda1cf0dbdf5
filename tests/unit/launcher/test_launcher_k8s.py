"""The k8s/ Kustomize base and overlay build, validate strictly, and stay in step with the launcher."""

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from launcher import commands
from launcher.settings import JobSettings, load

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "k8s"
VERSIONS = ["1.29", "1.32", "1.35"]


def kubectl() -> str:
    path = shutil.which("kubectl") or str(Path(sys.executable).parent / "kubectl")
    if not Path(path).exists():
        pytest.skip("kubectl is not installed")
    return path


@pytest.fixture(scope="module", params=["base", "overlays/example"])
def built(request: pytest.FixtureRequest) -> list[dict]:
    out = subprocess.run(
        [kubectl(), "kustomize", str(K8S / request.param)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def test_kustomize_output_validates(built: list[dict]) -> None:
    assert {"ServiceAccount", "Role", "RoleBinding", "Job"} <= {doc["kind"] for doc in built}
    for doc in built:
        for version in VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)


def test_role_grants_only_what_the_launcher_uses(built: list[dict]) -> None:
    (role,) = [doc for doc in built if doc["kind"] == "Role"]
    granted = {
        (g, r, v)
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }
    assert granted == {
        ("batch", "jobs", "create"),
        ("batch", "jobs", "get"),
        ("batch", "jobs", "list"),
        ("batch", "jobs", "delete"),
        ("", "pods", "get"),
        ("", "pods", "list"),
        ("", "pods/log", "get"),
        ("", "events", "list"),
    }
    assert not any(r in {"secrets", "*"} for _, r, _ in granted)


def test_overlay_sets_namespace_image_and_secret_reference() -> None:
    out = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays/example")], capture_output=True, text=True, check=True
    ).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    job = next(d for d in docs if d["kind"] == "Job")
    secret = next(d for d in docs if d["kind"] == "Secret")
    assert all(d["metadata"].get("namespace") == "ml-team" for d in docs if d["kind"] != "Namespace")
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "registry.example.com/ml-team/trainer:1.0"
    assert c["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]


def test_secret_template_has_no_real_values() -> None:
    secret = yaml.safe_load((K8S / "base/secret-s3.example.yaml").read_text())
    kubernetes_validate.validate(secret, VERSIONS[-1], strict=True)
    assert set(secret["stringData"].values()) == {"REPLACE_ME"}


def test_example_job_is_what_launcher_renders() -> None:
    """job-example.yaml's header holds the command that produced it; rendering it again gives the same Job."""
    text = (K8S / "base/job-example.yaml").read_text()
    command = " ".join(
        line.lstrip("# ").rstrip("\\ ")
        for line in text.splitlines()
        if line.startswith("#   ") or line.startswith("#     ")
    )
    argv = shlex.split(command)[2:]  # drop `launcher render`
    split = argv.index("--")
    flags, trainer_args = argv[:split], argv[split + 1 :]
    values: dict = {}
    for i in range(0, len(flags), 2):
        key = flags[i].lstrip("-").replace("-", "_")
        key = {"toleration": "tolerations"}.get(key, key)
        values[key] = [flags[i + 1]] if key == "tolerations" else flags[i + 1]
    settings = load(JobSettings, values)
    expected = commands.render_run(settings, trainer_args, settings.name or "x", None)
    assert list(yaml.safe_load_all(text)) == expected
    assert commands.plan(settings, trainer_args, None) == expected
