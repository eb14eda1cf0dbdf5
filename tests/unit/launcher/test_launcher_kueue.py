"""The Kueue example in k8s/ (ResourceFlavor, ClusterQueue, LocalQueue) is valid for Kueue's own CRD schemas (one
pinned release, tests/data/kueue/), and fits what the launcher renders for `--queue`."""

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from test_launcher_k8s import VERSIONS, build

from launcher import quantities
from launcher.labels import QUEUE_LABEL
from launcher.manifests import build_job
from launcher.settings import JobSettings, load

CRDS = Path(__file__).resolve().parents[2] / "data" / "kueue"
KINDS = {"ResourceFlavor", "ClusterQueue", "LocalQueue"}


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with unknown fields refused, as the API server's strict field validation does (an object with
    `properties` and no `x-kubernetes-preserve-unknown-fields` takes only those)."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                node.setdefault("additionalProperties", False)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the strict schema of every served version of the pinned CRDs."""
    found = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            if version["served"]:
                key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
                found[key] = strict(version["schema"]["openAPIV3Schema"])
    return found


SCHEMAS = crd_schemas()


def validate(doc: dict[str, Any]) -> None:
    schema = SCHEMAS.get((doc["apiVersion"], doc["kind"]))
    assert schema is not None, f"{doc['apiVersion']} {doc['kind']} is not served by the pinned Kueue"
    jsonschema.validate(doc, schema)


@pytest.fixture(scope="module")
def example() -> dict[str, dict[str, Any]]:
    docs = build("examples/kueue")
    return {doc["kind"]: doc for doc in docs}


def test_the_pinned_crds_are_the_three_kinds() -> None:
    assert {kind for _, kind in SCHEMAS} == KINDS


def test_the_example_validates_against_kueues_crds(example: dict[str, dict[str, Any]]) -> None:
    assert set(example) == KINDS
    for doc in example.values():
        validate(doc)


def test_kubernetes_own_check_does_not_know_kueues_kinds(example: dict[str, dict[str, Any]]) -> None:
    """Why the test above exists: kubernetes-validate has no schema for custom resources."""
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(example["LocalQueue"], VERSIONS[-1], strict=True)


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("ClusterQueue", lambda d: d["spec"].update(resourceGroup=[])),  # a typo of resourceGroups
        ("LocalQueue", lambda d: d["spec"].update(clusterQueue="GPU_Training")),  # not a DNS subdomain
        ("ResourceFlavor", lambda d: d["spec"]["nodeLabels"].update(gpus=8)),  # label values are strings
    ],
)
def test_a_broken_example_is_refused(example: dict[str, dict[str, Any]], kind: str, change: Any) -> None:
    doc = copy.deepcopy(example[kind])
    change(doc)
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_the_queue_links_up_and_its_quota_fits_the_launchers_per_gpu_default(
    example: dict[str, dict[str, Any]],
) -> None:
    """The LocalQueue points at the ClusterQueue, whose flavor exists; its CPU and memory per GPU are the launcher's
    default, so a queued run with the defaults is admitted by its GPUs alone."""
    local, cluster = example["LocalQueue"], example["ClusterQueue"]
    assert local["spec"]["clusterQueue"] == cluster["metadata"]["name"]
    (group,) = cluster["spec"]["resourceGroups"]
    (flavor,) = group["flavors"]
    assert flavor["name"] == example["ResourceFlavor"]["metadata"]["name"]
    quota = {r["name"]: quantities.parse(str(r["nominalQuota"])) for r in flavor["resources"]}
    settings = load(JobSettings, {"image": "i", "gpus": 2, "queue": local["metadata"]["name"]})
    assert quota["cpu"] / quota["nvidia.com/gpu"] == quantities.parse(settings.cpu or "") / 2
    assert quota["memory"] / quota["nvidia.com/gpu"] == quantities.parse(settings.memory or "") / 2
    job = build_job(settings, ["--model", "m", "--train-data", "s3://b/t.csv", "--output", "s3://b/o"], "r-1")
    assert job["metadata"]["labels"][QUEUE_LABEL] == local["metadata"]["name"]
