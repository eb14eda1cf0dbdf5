"""The CLI against a loopback API server with the real `kubernetes` client: what a user sees."""

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml
from cli_result import SUBMIT, TRAINER_ARGS, Result
from fake_kube_api import FakeKubeApi, kubeconfig
from fake_rbac import K8S, Rbac

from support.waiting import eventually

NS = "ml"
"""The namespace of the kubeconfig's current context."""

Launcher = Callable[..., Result]
LIST_ALL_NAMESPACES = K8S / "components/list-all-namespaces/clusterrole.yaml"


def test_submit_creates_the_job_in_the_context_namespace(launcher: Launcher, api: FakeKubeApi) -> None:
    result = launcher(*SUBMIT, *TRAINER_ARGS)
    assert result.code == 0, result.err
    assert result.out.strip() == "reviews-42"
    job = api.job(NS, "reviews-42")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:3] == ["train", "--model", "bert-base-cased"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert job["metadata"]["annotations"]["tf-finetune-k8s/output"] == "s3://team-runs/reviews-42"
    assert ("POST", "/apis/batch/v1/namespaces/ml/jobs", "Bearer test-token") in api.requests


def test_submit_dry_run_server_stores_nothing(launcher: Launcher, api: FakeKubeApi) -> None:
    result = launcher(*SUBMIT, "--dry-run=server", *TRAINER_ARGS)
    assert result.code == 0, result.err
    printed = yaml.safe_load(result.out)
    assert printed["metadata"]["uid"]  # the server's answer, defaults filled in
    assert any("dryRun=All" in path for _, path, _ in api.requests)
    assert api.jobs == {}


def test_submit_dry_run_client_needs_no_cluster(launcher: Launcher, api: FakeKubeApi, monkeypatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")
    result = launcher(*SUBMIT, "--dry-run=client", *TRAINER_ARGS)
    assert result.code == 0, result.err
    assert yaml.safe_load(result.out)["kind"] == "Job"
    assert api.requests == []


def test_existing_job_is_a_clear_error(launcher: Launcher) -> None:
    assert launcher(*SUBMIT, *TRAINER_ARGS).code == 0
    result = launcher(*SUBMIT, *TRAINER_ARGS)
    assert result.code == 6
    assert result.error_line == (
        "launcher: error: job reviews-42 already exists in namespace ml; pass --replace or another --name"
    )


def test_replace_deletes_the_old_job_and_its_pods(launcher: Launcher, api: FakeKubeApi) -> None:
    assert launcher(*SUBMIT, *TRAINER_ARGS).code == 0
    old_uid = api.job(NS, "reviews-42")["metadata"]["uid"]
    old_pod = api.add_pod(NS, "reviews-42")
    result = launcher(*SUBMIT, "--replace", *TRAINER_ARGS)
    assert result.code == 0, result.err
    assert api.job(NS, "reviews-42")["metadata"]["uid"] != old_uid
    assert (NS, old_pod) not in api.pods


def _success(name: str) -> list:
    pod: list[str] = []

    def schedule(api: FakeKubeApi) -> None:
        pod.append(api.add_pod(NS, name))
        api.add_event(
            NS, pod[0], "FailedScheduling", "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
        )

    def finish(api: FakeKubeApi) -> None:
        api.terminate_pod(NS, pod[0], 0, log="epoch 2/2 done\n")
        api.complete_job(NS, name)

    return [schedule, lambda api: api.run_pod(NS, pod[0], log="epoch 1/2\n"), finish]


def test_wait_follows_the_job_to_success(launcher: Launcher, api: FakeKubeApi) -> None:
    api.script(NS, "reviews-42", _success("reviews-42"))
    result = launcher(*SUBMIT, "--wait", *TRAINER_ARGS)
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert "reviews-42: Pending (pods: 1 pending; retries: 0)" in lines
    assert "reviews-42: Running (pods: 1 running; retries: 0)" in lines
    assert lines[-1] == "job reviews-42 succeeded; artifacts: s3://team-runs/reviews-42; GPU-hours: 0.00"


def test_wait_fails_at_once_on_bad_input(launcher: Launcher, api: FakeKubeApi) -> None:
    pod: list[str] = []

    def start(api: FakeKubeApi) -> None:
        pod.append(api.add_pod(NS, "reviews-42"))
        api.run_pod(NS, pod[0])

    def data_error(api: FakeKubeApi) -> None:
        api.terminate_pod(NS, pod[0], 3, message="trainer: error: column 'text' not found in train.csv\n")
        api.fail_job(
            NS,
            "reviews-42",
            "PodFailurePolicy",
            "Container trainer for pod ml/x failed with exit code 3 matching FailJob rule at index 0",
        )

    api.script(NS, "reviews-42", [start, data_error])
    result = launcher(*SUBMIT, "--wait", *TRAINER_ARGS)
    assert result.code == 8
    assert result.err.strip().splitlines()[-1] == (
        "launcher: error: job reviews-42 failed: reason PodFailurePolicy, trainer exit code 3 "
        "(the data cannot be used) - trainer: error: column 'text' not found in train.csv"
    )


def test_wait_reports_retries_and_the_last_exit_code(launcher: Launcher, api: FakeKubeApi) -> None:
    pods: list[str] = []

    def attempt(api: FakeKubeApi) -> None:
        pods.append(api.add_pod(NS, "reviews-42"))
        api.run_pod(NS, pods[-1])

    def transient(api: FakeKubeApi) -> None:
        api.terminate_pod(NS, pods[-1], 75, message="S3 endpoint unreachable")

    def give_up(api: FakeKubeApi) -> None:
        transient(api)
        api.fail_job(NS, "reviews-42", "BackoffLimitExceeded", "Job has reached the specified backoff limit")

    api.script(NS, "reviews-42", [attempt, transient, attempt, give_up])
    result = launcher(*SUBMIT, "--backoff-limit", "1", "--wait", *TRAINER_ARGS)
    assert result.code == 8
    assert "reviews-42: Running (pods: 1 failed, 1 running; retries: 1)" in result.err.splitlines()
    assert result.err.strip().splitlines()[-1] == (
        "launcher: error: job reviews-42 failed: reason BackoffLimitExceeded, trainer exit code 75 "
        "(transient infrastructure failure; retrying may succeed) - S3 endpoint unreachable"
    )


def test_wait_timeout(launcher: Launcher, api: FakeKubeApi) -> None:
    result = launcher(*SUBMIT, "--wait", "--timeout", "0.05", *TRAINER_ARGS)
    assert result.code == 9
    assert "job reviews-42 is still Pending after 0.05s" in result.err.strip().splitlines()[-1]


def test_status_shows_failure_reason_exit_code_and_artifacts(launcher: Launcher, api: FakeKubeApi) -> None:
    assert launcher(*SUBMIT, *TRAINER_ARGS).code == 0
    pod = api.add_pod(NS, "reviews-42")
    api.run_pod(NS, pod)
    api.terminate_pod(NS, pod, 137)
    api.fail_job(NS, "reviews-42", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    result = launcher("status", "reviews-42")
    assert result.code == 0, result.err
    assert "Phase:      Failed" in result.out
    assert "Reason:     BackoffLimitExceeded" in result.out
    assert "Exit code:  137 (killed at the memory limit (OOMKilled))" in result.out
    assert (
        f"Diagnosis:  out of memory: pod {pod} was OOMKilled at its 64Gi limit: raise --memory "
        "(e.g. --memory 128Gi) or lower the trainer's --per-replica-batch-size"
    ) in result.out
    assert "Artifacts:  s3://team-runs/reviews-42" in result.out
    as_json = json.loads(launcher("status", "reviews-42", "-o", "json").out)
    assert as_json["phase"] == "Failed" and as_json["exitCode"] == 137
    assert as_json["pods"][0]["reason"] == "OOMKilled"
    assert as_json["diagnosis"].startswith(f"out of memory: pod {pod} was OOMKilled at its 64Gi limit")


def test_status_of_a_pending_run_shows_the_scheduler_reason(launcher: Launcher, api: FakeKubeApi) -> None:
    assert launcher(*SUBMIT, *TRAINER_ARGS).code == 0
    pod = api.add_pod(NS, "reviews-42")
    api.add_event(NS, pod, "FailedScheduling", "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")
    api.add_event(NS, "some-other-pod", "BackOff", "unrelated")
    status = json.loads(launcher("status", "reviews-42", "-o", "json").out)
    assert status["phase"] == "Pending"
    assert status["pods"][0]["reason"] == "FailedScheduling"
    assert "Insufficient nvidia.com/gpu" in status["pods"][0]["message"]


def test_status_of_a_missing_job(launcher: Launcher) -> None:
    result = launcher("status", "nope")
    assert result.code == 4
    assert result.error_line == "launcher: error: job nope not found in namespace ml"


def test_namespace_flag_and_missing_namespace(launcher: Launcher, api: FakeKubeApi) -> None:
    assert launcher(*SUBMIT, "-n", "default", *TRAINER_ARGS).code == 0
    assert ("default", "reviews-42") in api.jobs
    result = launcher(*SUBMIT, "--namespace", "nope", *TRAINER_ARGS)
    assert result.code == 4
    assert result.error_line == "launcher: error: namespace nope does not exist (pass --namespace)"


def test_context_without_namespace_uses_default(launcher: Launcher, api: FakeKubeApi) -> None:
    assert launcher(*SUBMIT, "--context", "no-namespace", *TRAINER_ARGS).code == 0
    assert ("default", "reviews-42") in api.jobs


def test_forbidden_is_one_line(launcher: Launcher, api: FakeKubeApi) -> None:
    api.rbac = api.rbac.without("create", "batch", "jobs")
    result = launcher(*SUBMIT, *TRAINER_ARGS)
    assert result.code == 5
    assert result.error_line.startswith(
        "launcher: error: forbidden: cannot create Job reviews-42 in namespace ml"
    )
    assert 'User "alice" cannot create resource "jobs"' in result.error_line


def test_invalid_manifest_rejected_by_the_server(launcher: Launcher, api: FakeKubeApi) -> None:
    api.invalid = 'spec.template.spec.priorityClassName: Invalid value: "gold": no PriorityClass'
    result = launcher(*SUBMIT, *TRAINER_ARGS)
    assert result.code == 7
    assert result.error_line.startswith("launcher: error: the API server rejected job reviews-42: Job.batch")


def test_unreachable_cluster(launcher: Launcher, tmp_path: Path, api: FakeKubeApi) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    path = tmp_path / "dead"
    path.write_text(kubeconfig(f"http://127.0.0.1:{port}"))
    result = launcher("list", "--kubeconfig", str(path))
    assert result.code == 3
    assert result.error_line == (
        f"launcher: error: cannot reach the Kubernetes API server at http://127.0.0.1:{port} to list jobs: "
        "[Errno 111] Connection refused"
    )


def test_rejected_credentials(launcher: Launcher, api: FakeKubeApi) -> None:
    api.token = "another-token"
    result = launcher("list")
    assert result.code == 3
    assert result.error_line == (
        "launcher: error: cannot list jobs: the API server rejected the credentials (Unauthorized)"
    )


def test_unknown_context(launcher: Launcher, kubeconfig_file: Path) -> None:
    result = launcher("list", "--context", "nope")
    assert result.code == 3
    assert result.error_line == (
        "launcher: error: cannot load the Kubernetes configuration: "
        f"Invalid kube-config file. Expected object with name nope in {kubeconfig_file}/contexts list"
    )


def test_list_selects_by_our_labels(launcher: Launcher, api: FakeKubeApi) -> None:
    assert launcher(*SUBMIT, *TRAINER_ARGS).code == 0
    assert launcher(*SUBMIT[:2], "other-7", *SUBMIT[3:], "-n", "default", *TRAINER_ARGS).code == 0
    foreign = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "not-ours", "labels": {"a": "b"}},
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}
        },
    }
    api.handle("POST", "/apis/batch/v1/namespaces/ml/jobs", {}, foreign)
    result = launcher("list")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].split() == ["NAME", "PHASE", "QUEUE", "PROGRESS", "ETA", "AGE"]
    assert [line.split()[0] for line in result.out.splitlines()[1:]] == ["reviews-42"]
    api.rbac = Rbac.shipped(LIST_ALL_NAMESPACES)
    everywhere = launcher("list", "-A", "-o", "json")
    assert sorted(job["name"] for job in json.loads(everywhere.out)) == ["other-7", "reviews-42"]


def test_list_of_all_namespaces_needs_the_cluster_role(launcher: Launcher) -> None:
    """A namespace's Role cannot grant a cluster-scope list: the shipped base alone refuses `list -A`."""
    result = launcher("list", "-A")
    assert result.code == 5
    assert result.error_line.startswith("launcher: error: forbidden: cannot list jobs in all namespaces (")
    assert result.error_line.endswith("ask for the ClusterRole from k8s/components/list-all-namespaces")


def test_logs_of_every_pod_and_follow(launcher: Launcher, api: FakeKubeApi) -> None:
    assert launcher(*SUBMIT, *TRAINER_ARGS).code == 0
    first = api.add_pod(NS, "reviews-42")
    api.run_pod(NS, first, log="attempt 1\n")
    api.terminate_pod(NS, first, 75, log="S3 timeout\n")
    second = api.add_pod(NS, "reviews-42")
    api.run_pod(NS, second, log="attempt 2\nepoch 1/3\n", restarts=1, previous_log="before restart\n")
    result = launcher("logs", "reviews-42")
    assert result.code == 0, result.err
    assert result.out == (
        f"[{first}] attempt 1\n[{first}] S3 timeout\n[{second}] attempt 2\n[{second}] epoch 1/3\n"
    )
    assert result.err == ""
    followed = launcher("logs", "reviews-42", "--follow")
    assert followed.out.endswith(f"[{second}] attempt 2\n[{second}] epoch 1/3\n")
    assert any("follow=true" in path and second in path for _, path, _ in api.requests)
    previous = launcher("logs", "reviews-42", "-p")
    assert previous.code == 0, previous.err
    assert previous.out == (
        f"[{first}] (no previous container: it never restarted)\n[{second}] before restart\n"
    )


def test_logs_of_a_pending_pod(launcher: Launcher, api: FakeKubeApi) -> None:
    assert launcher(*SUBMIT, *TRAINER_ARGS).code == 0
    pod = api.add_pod(NS, "reviews-42")
    api.wait_pod(NS, pod, "ImagePullBackOff", 'Back-off pulling image "registry.example.com/ml/trainer:1.0"')
    result = launcher("logs", "reviews-42")
    assert result.code == 0
    assert result.out == f"[{pod}] (not started yet: ImagePullBackOff)\n"


def test_delete_removes_the_job_and_its_pods(launcher: Launcher, api: FakeKubeApi) -> None:
    assert launcher(*SUBMIT, *TRAINER_ARGS).code == 0
    pod = api.add_pod(NS, "reviews-42")
    result = launcher("delete", "reviews-42")
    assert result.code == 0, result.err
    assert result.out.strip() == "job.batch/reviews-42 deleted"
    assert api.jobs == {}
    assert eventually(lambda: (NS, pod) not in api.pods)  # the garbage collector removes the pods later
    assert any(
        "propagationPolicy=Background" in path for method, path, _ in api.requests if method == "DELETE"
    )
    missing = launcher("delete", "reviews-42")
    assert missing.code == 4
    assert missing.error_line == "launcher: error: job reviews-42 not found in namespace ml"


def test_console_script_in_a_subprocess(kubeconfig_file: Path, api: FakeKubeApi) -> None:
    """The installed `launcher` executable, as a user runs it: real process, real kubeconfig, exit codes."""
    exe = str(Path(sys.executable).parent / "launcher")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig_file)}
    created = subprocess.run(
        [exe, *SUBMIT, *TRAINER_ARGS], capture_output=True, text=True, env=env, check=False
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "reviews-42"
    again = subprocess.run(
        [exe, *SUBMIT, *TRAINER_ARGS], capture_output=True, text=True, env=env, check=False
    )
    assert again.returncode == 6
    assert again.stderr.strip().splitlines() == [
        "launcher: error: job reviews-42 already exists in namespace ml; pass --replace or another --name"
    ]
    status = subprocess.run(
        [exe, "status", "reviews-42", "-o", "json"], capture_output=True, text=True, env=env
    )
    assert status.returncode == 0
    assert json.loads(status.stdout)["phase"] == "Pending"
