"""Multi-node submit, `--replace` and delete against an API server that enforces the shipped RBAC and collects
garbage the way kube-apiserver does: all or nothing, one line when a verb is missing, nothing left behind."""

from collections.abc import Callable

import pytest
from cli_result import SUBMIT, TRAINER_ARGS, Result
from fake_kube_api import FakeKubeApi
from fake_rbac import Rbac

from support.waiting import eventually

NS = "ml"
NAME = "reviews-42"
Launcher = Callable[..., Result]
MULTI = (*SUBMIT, "--nodes", "2")


def _run_objects(api: FakeKubeApi) -> dict[str, object]:
    """What of run NAME exists, by kind."""
    return {
        kind: found
        for kind, found in (
            ("job", api.jobs.get((NS, NAME))),
            ("service", api.services.get((NS, NAME))),
            ("networkpolicy", api.network_policies.get((NS, NAME))),
        )
        if found is not None
    }


def _taken_service(api: FakeKubeApi, name: str) -> None:
    """A Service left by `kubectl apply` of an earlier render (owned by nothing): it blocks the name."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"clusterIP": "None"},
    }
    api.objects[("services", NS, name)] = api._create("services", NS, {}, service)[1]


def flows(launcher: Launcher, api: FakeKubeApi) -> Result:
    """Every verb a user runs, on a multi-node run, and a submit that must roll back; stops at the first step
    that does not end as it should and returns its result."""
    other = ("--name", "other-7")
    steps: list[tuple[Callable[[], Result], int]] = [
        (lambda: launcher(*MULTI, "--dry-run=server", *TRAINER_ARGS), 0),
        (lambda: launcher(*MULTI, *TRAINER_ARGS), 0),
        (lambda: launcher("status", NAME), 0),
        (lambda: launcher("logs", NAME), 0),
        (lambda: launcher("list"), 0),
        (lambda: launcher(*MULTI, "--replace", *TRAINER_ARGS), 0),
        (lambda: launcher(*MULTI, *other, *TRAINER_ARGS), 6),  # the Service name is taken: roll back
        (lambda: launcher("delete", NAME), 0),
    ]
    pods: list[str] = []

    def between_steps() -> None:
        if not pods and (NS, NAME) in api.jobs:
            pods.extend(api.add_pod(NS, NAME) for _ in range(2))
            api.add_event(
                NS, pods[0], "FailedScheduling", "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
            )
            api.run_pod(NS, pods[1], log="worker 1 waiting for peers\n")
        if ("services", NS, "other-7") not in api.objects:
            _taken_service(api, "other-7")

    result = Result(0, "", "")
    for step, expected in steps:
        between_steps()
        result = step()
        if result.code != expected or "could not roll back" in result.err:
            return result
    return Result(0, result.out, result.err)


def test_the_flows_pass_with_the_shipped_role_and_use_every_verb_it_grants(
    launcher: Launcher, api: FakeKubeApi
) -> None:
    result = flows(launcher, api)
    assert result.code == 0, result.err
    assert api.rbac.used() == api.rbac.granted(), "the Role must grant exactly what the launcher uses"
    assert eventually(lambda: not _run_objects(api) and not api.pods)
    assert list(api.jobs) == []


GRANTED = sorted(Rbac.shipped().granted())


@pytest.mark.parametrize(("verb", "group", "resource"), GRANTED, ids=["/".join(g) for g in GRANTED])
def test_a_verb_missing_from_the_role_fails_one_line_and_leaves_no_partial_run(
    launcher: Launcher, api: FakeKubeApi, verb: str, group: str, resource: str
) -> None:
    api.rbac = api.rbac.without(verb, group, resource)
    result = flows(launcher, api)
    line = result.last_error_line
    assert f'cannot {verb} resource "{resource}" in API group "{group}"' in line
    assert "ask for the launcher Role from k8s/base" in line
    # 5 (forbidden), unless the forbidden call was the rollback of another error, whose code the line keeps.
    assert result.code == (6 if "could not roll back" in line else 5), result.err
    if verb == "create":  # a failed submit rolls back what it created
        assert eventually(lambda: not _run_objects(api)), _run_objects(api)


def test_multinode_submit_creates_the_job_then_its_owned_policy_and_service(
    launcher: Launcher, api: FakeKubeApi
) -> None:
    result = launcher(*MULTI, *TRAINER_ARGS)
    assert result.code == 0, result.err
    objects = _run_objects(api)
    job = objects["job"]
    for kind in ("service", "networkpolicy"):
        (owner,) = objects[kind]["metadata"]["ownerReferences"]  # type: ignore[index]
        assert owner["uid"] == job["metadata"]["uid"] and owner["blockOwnerDeletion"] is False  # type: ignore[index]
    posts = [path.split("?")[0] for method, path, _ in api.requests if method == "POST"]
    assert posts == [
        "/apis/batch/v1/namespaces/ml/jobs",
        "/apis/networking.k8s.io/v1/namespaces/ml/networkpolicies",
        "/api/v1/namespaces/ml/services",
    ]


def test_a_failed_create_rolls_back_what_was_created_and_says_so(
    launcher: Launcher, api: FakeKubeApi
) -> None:
    api.rbac = api.rbac.without("create", "", "services")
    result = launcher(*MULTI, *TRAINER_ARGS)
    assert result.code == 5
    assert result.error_line.startswith(
        "launcher: error: forbidden: cannot create Service reviews-42 in namespace ml"
    )
    assert result.error_line.endswith("; rolled back: deleted networkpolicy reviews-42, job reviews-42")
    assert eventually(lambda: not _run_objects(api))


def test_a_taken_service_name_rolls_back_the_job(launcher: Launcher, api: FakeKubeApi) -> None:
    _taken_service(api, NAME)
    result = launcher(*MULTI, *TRAINER_ARGS)
    assert result.code == 6
    assert result.error_line == (
        "launcher: error: service reviews-42 already exists in namespace ml and is not this run's: delete it "
        "(kubectl delete service/reviews-42 -n ml) or pass another --name; rolled back: deleted networkpolicy "
        "reviews-42, job reviews-42"
    )
    assert set(_run_objects(api)) == {"service"}


def test_if_the_rollback_fails_too_the_line_says_what_is_left(launcher: Launcher, api: FakeKubeApi) -> None:
    api.rbac = api.rbac.without("create", "", "services").without("delete", "batch", "jobs")
    result = launcher(*MULTI, *TRAINER_ARGS)
    assert result.code == 5
    assert (
        "rolled back: deleted networkpolicy reviews-42; could not roll back job reviews-42 (forbidden:"
        in (result.error_line)
    )
    assert result.error_line.endswith(": run `launcher delete reviews-42`")


def test_replace_waits_for_everything_the_old_run_owned(launcher: Launcher, api: FakeKubeApi) -> None:
    api.gc_delay = 0.5
    assert launcher(*MULTI, *TRAINER_ARGS).code == 0
    old = {kind: obj["metadata"]["uid"] for kind, obj in _run_objects(api).items()}  # type: ignore[index]
    old_pods = [api.add_pod(NS, NAME) for _ in range(2)]
    result = launcher(*MULTI, "--replace", *TRAINER_ARGS)
    assert result.code == 0, result.err
    assert "deleting the existing job reviews-42 and everything it owns ..." in result.err
    new = _run_objects(api)
    assert set(new) == set(old)
    for kind, obj in new.items():
        assert obj["metadata"]["uid"] != old[kind]  # type: ignore[index]
    assert not any((NS, pod) in api.pods for pod in old_pods)


def test_replace_gives_up_with_what_is_left_when_the_old_run_lingers(
    launcher: Launcher, api: FakeKubeApi
) -> None:
    api.gc_delay = 60.0  # the garbage collector is stuck
    assert launcher(*MULTI, *TRAINER_ARGS).code == 0
    pod = api.add_pod(NS, NAME)
    result = launcher(*MULTI, "--replace", "--timeout", "0.3", *TRAINER_ARGS)
    assert result.code == 9
    assert result.err.strip().splitlines()[-1] == (
        f"launcher: error: the old run reviews-42 was still being deleted after 0.3s (pod/{pod}, "
        "service/reviews-42, networkpolicy/reviews-42 left); try again later"
    )
    assert (NS, NAME) not in api.jobs


def test_delete_leaves_the_rest_to_the_garbage_collector(launcher: Launcher, api: FakeKubeApi) -> None:
    assert launcher(*MULTI, *TRAINER_ARGS).code == 0
    pod = api.add_pod(NS, NAME)
    result = launcher("delete", NAME)
    assert result.code == 0, result.err
    assert (NS, NAME) not in api.jobs
    assert eventually(lambda: not _run_objects(api) and (NS, pod) not in api.pods)


def test_server_dry_run_of_a_multinode_run_stores_nothing(launcher: Launcher, api: FakeKubeApi) -> None:
    result = launcher(*MULTI, "--dry-run=server", *TRAINER_ARGS)
    assert result.code == 0, result.err
    assert result.out.count("kind: ") >= 3
    assert not _run_objects(api)
