"""The image test's pure parts, in the normal suite: the single-host changes to rendered pods, the engine's
configuration files, the Debian mirror it bootstraps from."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from image.base_images import debian_mirror
from image.engine import containers_conf, storage_conf
from image.single_host import single_host_pods
from launcher.cli import main
from trainer.contract.container import JOB_COMPLETION_INDEX_ENV, WORKER_HOSTS_ENV

ARGS = ["--", "train", "--model", "s3://m/tiny", "--train-data", "s3://d/t.csv", "--output", "s3://o/run"]


def rendered(capsys: pytest.CaptureFixture[str], *flags: str) -> list[dict[str, Any]]:
    code = main(
        [
            "render",
            "--image",
            "localhost/t:1",
            "--name",
            "run",
            "--gpus",
            "0",
            "--s3-secret",
            "s3",
            *flags,
            *ARGS,
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    return list(yaml.safe_load_all(out))


def without_shm(spec: dict[str, Any]) -> dict[str, Any]:
    """The pod spec with the rendered memory-backed /dev/shm volume and its mount taken out, by hand."""
    spec = copy.deepcopy(spec)
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] != "dshm"]
    container = spec["containers"][0]
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["mountPath"] != "/dev/shm"]
    return spec


def test_one_node_is_one_pod_the_job_template_without_the_memory_shm(
    capsys: pytest.CaptureFixture[str],
) -> None:
    documents = rendered(capsys)
    original = copy.deepcopy(documents)
    (pod,) = single_host_pods(documents)
    template = documents[0]["spec"]["template"]
    assert (pod["apiVersion"], pod["kind"], pod["metadata"]["name"]) == ("v1", "Pod", "run-0")
    assert pod["metadata"]["labels"] == template["metadata"]["labels"]
    assert pod["spec"] == without_shm(template["spec"])
    container = pod["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "s3"}}]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp"}
    assert documents == original


def test_two_nodes_are_two_pods_with_an_index_and_loopback_workers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    documents = rendered(capsys, "--nodes", "2")
    assert [d["kind"] for d in documents] == ["Job", "NetworkPolicy", "Service"]
    pods = single_host_pods(documents, [41000, 41001])
    template = documents[0]["spec"]["template"]["spec"]
    assert [p["metadata"]["name"] for p in pods] == ["run-0", "run-1"]
    for index, pod in enumerate(pods):
        container = pod["spec"]["containers"][0]
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert env[JOB_COMPLETION_INDEX_ENV] == str(index)
        assert env[WORKER_HOSTS_ENV] == "127.0.0.1:41000,127.0.0.1:41001"
        assert "ports" not in container
        assert pod["spec"]["subdomain"] == "run"
        # Nothing else differs from the rendered template.
        expected = without_shm(template)
        expected_container = expected["containers"][0]
        expected_container.pop("ports")
        expected_container["env"] = [
            *(e for e in expected_container["env"] if e["name"] != WORKER_HOSTS_ENV),
            {"name": JOB_COMPLETION_INDEX_ENV, "value": str(index)},
            {"name": WORKER_HOSTS_ENV, "value": "127.0.0.1:41000,127.0.0.1:41001"},
        ]
        assert pod["spec"] == expected


def test_a_worker_needs_one_port_each_and_a_job_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    documents = rendered(capsys, "--nodes", "2")
    with pytest.raises(ValueError, match="needs 2 ports, got 1"):
        single_host_pods(documents, [41000])
    with pytest.raises(ValueError, match="exactly one Job"):
        single_host_pods(documents[1:])


def test_containers_conf_adds_paths_to_existing_and_new_tables() -> None:
    template = '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n'
    conf = containers_conf(
        template, {"engine": {"tmp_dir": "/r/libpod"}, "network": {"network_config_dir": "/r/n"}}
    )
    assert conf == (
        '[containers]\ndefault_ulimits = []\n\n[engine]\ntmp_dir = "/r/libpod"\nruntime = "runc"\n'
        '\n[network]\nnetwork_config_dir = "/r/n"\n'
    )
    assert 'graphroot = "/r/storage"' in storage_conf(Path("/r"))


def test_debian_mirror_is_the_main_archive_of_the_sources_file() -> None:
    sources = (
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n"
    )
    assert debian_mirror(sources) == "http://mirror.example/debian"
    assert debian_mirror("") == "http://deb.debian.org/debian"
