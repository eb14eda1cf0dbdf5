"""The k8s/ Kustomize base, components and overlay build, validate strictly, start nothing, and stay in step with
the launcher."""

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
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}


def kubectl() -> str:
    path = shutil.which("kubectl") or str(Path(sys.executable).parent / "kubectl")
    if not Path(path).exists():
        pytest.skip("kubectl is not installed")
    return path


def build(path: str) -> list[dict]:
    out = subprocess.run(
        [kubectl(), "kustomize", str(K8S / path)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module", params=["base", "overlays/example"])
def built(request: pytest.FixtureRequest) -> list[dict]:
    return build(request.param)


def test_kustomize_output_validates(built: list[dict]) -> None:
    assert {"ServiceAccount", "Role", "RoleBinding"} <= {doc["kind"] for doc in built}
    for doc in built:
        for version in VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)


def test_applying_k8s_starts_nothing_and_holds_no_credentials(built: list[dict]) -> None:
    kinds = {doc["kind"] for doc in built}
    assert kinds.isdisjoint({"Job", "CronJob", "Pod", "Deployment", "Secret"}), kinds


def test_role_never_reads_secrets_nor_uses_wildcards(built: list[dict]) -> None:
    """What the Role must grant is derived from the launcher's requests (tests/integration/launcher); here only
    what it must never grant."""
    (role,) = [doc for doc in built if doc["kind"] == "Role"]
    for rule in role["rules"]:
        assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"]
        assert "secrets" not in rule["resources"]


def test_overlay_shows_one_way_to_credentials_an_iam_role() -> None:
    docs = build("overlays/example")
    assert all(d["metadata"].get("namespace") == "ml-team" for d in docs if d["kind"] not in CLUSTER_SCOPED)
    trainer = next(d for d in docs if d["kind"] == "ServiceAccount" and d["metadata"]["name"] == "trainer")
    assert "eks.amazonaws.com/role-arn" in trainer["metadata"]["annotations"]
    assert "REPLACE_ME" not in yaml.safe_dump_all(docs)
    binding = next(d for d in docs if d["kind"] == "ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "launcher", "namespace": "ml-team"}]


def test_default_deny_component_denies_ingress_only() -> None:
    """Opt-in (not in the base): every pod isolated for ingress; egress (S3, DNS, the Hub) never blocked."""
    assert "NetworkPolicy" not in {d["kind"] for d in build("base")}
    (policy,) = yaml.safe_load_all((K8S / "components/default-deny-ingress/networkpolicy.yaml").read_text())
    assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    overlay = [d for d in build("overlays/example") if d["kind"] == "NetworkPolicy"]
    assert [d["spec"] for d in overlay] == [policy["spec"]]


def test_secret_template_has_no_real_values() -> None:
    secret = yaml.safe_load((K8S / "base/secret-s3.example.yaml").read_text())
    kubernetes_validate.validate(secret, VERSIONS[-1], strict=True)
    assert set(secret["stringData"].values()) == {"REPLACE_ME"}


def test_example_job_is_what_launcher_renders() -> None:
    """job-example.yaml's header holds the command that produced it; rendering it again gives the same Job."""
    text = (K8S / "examples/job-example.yaml").read_text()
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
