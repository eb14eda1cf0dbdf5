"""The fake API server itself behaves as kube-apiserver does where the launcher's correctness depends on it:
RBAC from k8s/, garbage collection by owner uid with each propagation policy, resourceVersion conflicts."""

import json
from collections.abc import Iterator

import pytest
from fake_kube_api import FakeKubeApi
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from support.waiting import eventually

NS = "ml"


@pytest.fixture
def kube(api: FakeKubeApi) -> Iterator[tuple[client.BatchV1Api, client.CoreV1Api]]:
    configuration = client.Configuration(host=api.url)
    configuration.api_key = {"authorization": "Bearer test-token"}
    with client.ApiClient(configuration) as api_client:
        yield client.BatchV1Api(api_client), client.CoreV1Api(api_client)


JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "j"},
    "spec": {
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "trainer", "image": "i"}]}}
    },
}


def _owned_service(owner: client.V1Job, block: bool = False) -> dict:
    ref = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": "j",
        "uid": owner.metadata.uid,
        "blockOwnerDeletion": block,
    }
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "ownerReferences": [ref]},
        "spec": {},
    }


def test_a_verb_the_role_does_not_grant_is_403(kube: tuple, api: FakeKubeApi) -> None:
    batch, core = kube
    with pytest.raises(ApiException) as denied:
        core.list_namespaced_secret(NS)
    assert denied.value.status == 403
    message = json.loads(denied.value.body)["message"]
    assert (
        message
        == 'secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "ml"'
    )
    with pytest.raises(ApiException) as cluster_scope:
        batch.list_job_for_all_namespaces()
    assert cluster_scope.value.status == 403
    assert json.loads(cluster_scope.value.body)["message"].endswith(
        'in API group "batch" at the cluster scope'
    )


def test_background_deletion_collects_dependents_later(kube: tuple, api: FakeKubeApi) -> None:
    batch, core = kube
    api.gc_delay = 0.3
    job = batch.create_namespaced_job(NS, JOB)
    core.create_namespaced_service(NS, _owned_service(job))
    pod = api.add_pod(NS, "j")
    batch.delete_namespaced_job("j", NS, propagation_policy="Background")
    assert (NS, "j") not in api.jobs
    assert (NS, "s") in api.services and (NS, pod) in api.pods  # not yet: the collector runs later
    assert eventually(lambda: not api.services and not api.pods)


def test_foreground_deletion_keeps_the_owner_until_its_dependents_are_gone(
    kube: tuple, api: FakeKubeApi
) -> None:
    batch, _ = kube
    api.gc_delay = 0.3
    batch.create_namespaced_job(NS, JOB)
    api.add_pod(NS, "j")
    batch.delete_namespaced_job("j", NS, propagation_policy="Foreground")
    marked = batch.read_namespaced_job("j", NS)
    assert marked.metadata.deletion_timestamp is not None and marked.metadata.finalizers == [
        "foregroundDeletion"
    ]
    assert eventually(lambda: not api.jobs and not api.pods)


def test_jobs_orphan_their_pods_by_default_over_rest(kube: tuple, api: FakeKubeApi) -> None:
    batch, _ = kube
    batch.create_namespaced_job(NS, JOB)
    pod = api.add_pod(NS, "j")
    batch.delete_namespaced_job("j", NS)
    api.collect_garbage()
    assert api.pods[(NS, pod)]["metadata"]["ownerReferences"] == []


def test_conflicts_are_409(kube: tuple, api: FakeKubeApi) -> None:
    batch, _ = kube
    job = batch.create_namespaced_job(NS, JOB)
    with pytest.raises(ApiException) as exists:
        batch.create_namespaced_job(NS, JOB)
    assert exists.value.status == 409 and "AlreadyExists" in exists.value.body
    api.add_pod(NS, "j")  # the controller writes the Job's status: a new resourceVersion
    assert api.job(NS, "j")["metadata"]["resourceVersion"] != job.metadata.resource_version
    stale = client.V1DeleteOptions(
        preconditions=client.V1Preconditions(resource_version=job.metadata.resource_version)
    )
    with pytest.raises(ApiException) as conflict:
        batch.delete_namespaced_job("j", NS, body=stale)
    assert conflict.value.status == 409 and "Conflict" in conflict.value.body


def test_blocking_an_owners_deletion_needs_its_finalizers(kube: tuple, api: FakeKubeApi) -> None:
    batch, core = kube
    job = batch.create_namespaced_job(NS, JOB)
    with pytest.raises(ApiException) as denied:
        core.create_namespaced_service(NS, _owned_service(job, block=True))
    assert denied.value.status == 403 and "blockOwnerDeletion" in denied.value.body
