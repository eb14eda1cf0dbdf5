"""TF_CONFIG: built from an Indexed Job's index and the worker host list, or adopted from the environment."""

import json

import pytest

from trainer.contract.container import JOB_COMPLETION_INDEX_ENV, WORKER_HOSTS_ENV, WORKER_PORT
from trainer.contract.workers import worker_hosts
from trainer.distribute.cluster import (
    TF_CONFIG_ENV,
    build_tf_config,
    parse_hosts,
    parse_tf_config,
    resolve_cluster,
    split_address,
)
from trainer.errors import UsageError

HOSTS = ["reviews-42-0.reviews-42:2222", "reviews-42-1.reviews-42:2222", "reviews-42-2.reviews-42:2222"]


def test_worker_port_is_tfjobs_default() -> None:
    assert WORKER_PORT == 2222


def test_worker_hosts_name_every_indexed_pod_under_the_service() -> None:
    assert worker_hosts("reviews-42", 3) == HOSTS
    assert worker_hosts("j", 2, port=9999, namespace="ml") == [
        "j-0.j.ml.svc:9999",
        "j-1.j.ml.svc:9999",
    ]
    with pytest.raises(ValueError, match="nodes"):
        worker_hosts("j", 0)


def test_build_tf_config_is_ray_trains_two_key_document() -> None:
    assert build_tf_config(HOSTS, 1) == {
        "cluster": {"worker": HOSTS},
        "task": {"type": "worker", "index": 1},
    }


@pytest.mark.parametrize(
    ("hosts", "index", "message"),
    [
        ([], 0, "empty"),
        (HOSTS, 3, "out of range"),
        (HOSTS, -1, "out of range"),
        (["a:2222", "a:2222"], 0, "repeats"),
        (["a"], 0, "not host:port"),
        (["a:http"], 0, "not host:port"),
    ],
)
def test_build_tf_config_rejects_what_cannot_work(hosts: list[str], index: int, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_tf_config(hosts, index)


def test_parse_hosts_and_addresses() -> None:
    assert parse_hosts(" a:1, b:2 ,,") == ["a:1", "b:2"]
    assert split_address("[::1]:2222") == ("::1", 2222)
    assert split_address("train-0.train.ml.svc:2222") == ("train-0.train.ml.svc", 2222)


def test_resolve_builds_from_the_completion_index_and_the_host_list() -> None:
    env = {JOB_COMPLETION_INDEX_ENV: "2", WORKER_HOSTS_ENV: ",".join(HOSTS)}
    cluster = resolve_cluster(env)
    assert cluster is not None
    assert cluster.source == JOB_COMPLETION_INDEX_ENV
    assert cluster.num_workers == 3
    assert cluster.worker_index == 2
    assert not cluster.is_chief
    assert cluster.peers == tuple(HOSTS[:2])
    assert cluster.tf_config() == build_tf_config(HOSTS, 2)


def test_an_explicit_host_list_wins_over_the_variable() -> None:
    env = {JOB_COMPLETION_INDEX_ENV: "0", WORKER_HOSTS_ENV: "x:1,y:1"}
    cluster = resolve_cluster(env, HOSTS)
    assert cluster is not None and cluster.hosts == tuple(HOSTS) and cluster.is_chief


def test_an_existing_tf_config_wins() -> None:
    config = {"cluster": {"worker": ["w0:1", "w1:1"]}, "task": {"type": "worker", "index": 1}}
    env = {
        TF_CONFIG_ENV: json.dumps(config),
        JOB_COMPLETION_INDEX_ENV: "0",
        WORKER_HOSTS_ENV: ",".join(HOSTS),
    }
    cluster = resolve_cluster(env)
    assert cluster is not None
    assert cluster.source == TF_CONFIG_ENV
    assert cluster.hosts == ("w0:1", "w1:1")
    assert cluster.worker_index == 1
    assert cluster.tf_config() == config


def test_a_tfjob_style_chief_is_the_chief_and_counts_as_a_worker() -> None:
    config = {
        "cluster": {"chief": ["c:2222"], "worker": ["w0:2222", "w1:2222"]},
        "task": {"type": "worker", "index": 0},
        "environment": "cloud",
    }
    cluster = parse_tf_config(json.dumps(config))
    assert cluster.num_workers == 3
    assert not cluster.is_chief
    assert cluster.worker_index == 1
    chief = parse_tf_config(json.dumps({**config, "task": {"type": "chief", "index": 0}}))
    assert chief.is_chief and chief.worker_index == 0


def test_single_node_runs_have_no_cluster() -> None:
    assert resolve_cluster({}) is None
    assert resolve_cluster({JOB_COMPLETION_INDEX_ENV: "0"}) is None
    one = resolve_cluster({WORKER_HOSTS_ENV: "localhost:2222"})
    assert one is not None and one.num_workers == 1 and one.is_chief


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({WORKER_HOSTS_ENV: "a:1,b:1"}, JOB_COMPLETION_INDEX_ENV),
        ({WORKER_HOSTS_ENV: "a:1,b:1", JOB_COMPLETION_INDEX_ENV: "x"}, "not an integer"),
        ({TF_CONFIG_ENV: "{not json"}, "not valid JSON"),
        ({TF_CONFIG_ENV: '{"task": {}}'}, "cluster"),
        (
            {TF_CONFIG_ENV: '{"cluster": {"ps": ["p:1"], "worker": ["w:1"]}, "task": {"type": "worker"}}'},
            "ps",
        ),
        (
            {TF_CONFIG_ENV: '{"cluster": {"worker": ["w:1"]}, "task": {"type": "worker", "index": 1}}'},
            "index",
        ),
        ({TF_CONFIG_ENV: '{"cluster": {"worker": ["w:1"]}, "task": {"type": "evaluator"}}'}, "evaluator"),
    ],
)
def test_unusable_cluster_settings_are_usage_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve_cluster(env)
