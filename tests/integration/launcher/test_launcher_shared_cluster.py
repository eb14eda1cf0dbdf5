"""A shared GPU cluster through the launcher: a queue that holds the Job until it has quota, live progress read
from the chief's log, GPU-hours and cost from the pods, an OOM-killed pod said as its fix, kubectl's `-o` and
`logs --tail/--since`."""

import json
from collections.abc import Callable

import yaml
from cli_result import SUBMIT, TRAINER_ARGS, Result
from fake_kube_api import FakeKubeApi

from trainer.contract.progress import Progress, to_line

NS = "ml"
Launcher = Callable[..., Result]

TF_NOISE = (
    "2026-11-30 10:00:01.123456: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.\n"
    "W0000 00:00:1732960801.5 gpu_timer.cc:114] Skipping the delay kernel, measurement accuracy will be reduced\n"
    "2026-11-30 10:00:02 INFO trainer.progress epoch 1/2 step 40/100 loss 0.6931 812 examples/s ETA 2m\n"
)


def progress_log(*progress: Progress) -> str:
    """A trainer log as the container writes it: TensorFlow's noise, the human line, its JSON twin, and a JSON
    line cut off at the end (the tail is read while the trainer writes)."""
    lines = [TF_NOISE]
    for p in progress:
        lines.append(f"2026-11-30 10:01:00 INFO trainer.progress {to_line(p)}\n")
        lines.append(
            "2026-11-30 10:01:00.5: W tensorflow/core/framework/local_rendezvous.cc:404] End of sequence\n"
        )
    lines.append('2026-11-30 10:02:00 INFO trainer.progress progress-json {"v":1,"epoch":2,"ep')
    return "".join(lines)


def submit_running(launcher: Launcher, api: FakeKubeApi, log: str, *flags: str) -> str:
    assert launcher(*SUBMIT, *flags, *TRAINER_ARGS).code == 0
    pod = api.add_pod(NS, "reviews-42")
    api.run_pod(NS, pod, log=log)
    return pod


def test_a_queued_job_waits_suspended_then_runs_when_admitted(launcher: Launcher, api: FakeKubeApi) -> None:
    result = launcher(*SUBMIT, "--queue", "team-a", *TRAINER_ARGS)
    assert result.code == 0, result.err
    job = api.job(NS, "reviews-42")
    assert job["spec"]["suspend"] is True
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"
    queued = launcher("status", "reviews-42")
    assert "Phase:      Queued (waiting for quota)" in queued.out
    assert "Queue:      team-a" in queued.out
    assert json.loads(launcher("status", "reviews-42", "-o", "json").out)["phase"] == "Queued"
    listed = launcher("list").out.splitlines()
    assert listed[1].split()[:3] == ["reviews-42", "Queued", "team-a"]

    api.admit_job(NS, "reviews-42")
    api.run_pod(NS, api.add_pod(NS, "reviews-42"))
    admitted = launcher("status", "reviews-42")
    assert "Phase:      Running" in admitted.out and "Queue:      team-a" in admitted.out


def test_wait_says_when_a_queued_job_is_admitted(launcher: Launcher, api: FakeKubeApi) -> None:
    pod: list[str] = []

    def start(api: FakeKubeApi) -> None:
        api.admit_job(NS, "reviews-42")
        pod.append(api.add_pod(NS, "reviews-42"))
        api.run_pod(NS, pod[0])

    def finish(api: FakeKubeApi) -> None:
        api.terminate_pod(NS, pod[0], 0)
        api.complete_job(NS, "reviews-42")

    api.script(NS, "reviews-42", [lambda _: None, lambda _: None, start, finish])
    result = launcher(*SUBMIT, "--queue", "team-a", "--wait", *TRAINER_ARGS)
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    queued = lines.index("reviews-42: Queued (waiting for quota) (pods: none yet; retries: 0)")
    assert queued < lines.index("reviews-42: Running (pods: 1 running; retries: 0)")


def test_status_shows_the_newest_progress_line_among_tensorflow_noise(
    launcher: Launcher, api: FakeKubeApi
) -> None:
    older = Progress(1, 2, 100, 100, loss=0.61, examples_per_second=790.0, eta_seconds=130.0, gpus=4)
    newest = Progress(
        2,
        2,
        40,
        100,
        loss=0.4123,
        metrics={"accuracy": 0.8512},
        examples_per_second=812.4,
        eta_seconds=190,
        gpus=4,
    )
    submit_running(launcher, api, progress_log(older, newest))
    result = launcher("status", "reviews-42")
    assert result.code == 0, result.err
    assert (
        "Progress:   epoch 2/2 step 40/100 (70%), loss 0.4123, accuracy 0.8512, 812 examples/s, ETA 3m10s"
        in result.out.splitlines()
    )
    assert any("/log?" in path and "tailLines=" in path for _, path, _ in api.requests)
    as_json = json.loads(launcher("status", "reviews-42", "-o", "json").out)
    assert as_json["progress"] == {"v": 1, **newest.__dict__}
    listed = launcher("list").out.splitlines()[1].split()
    assert listed[:6] == ["reviews-42", "Running", "-", "2/2", "70%", "3m10s"]


def test_status_without_a_progress_line_yet(launcher: Launcher, api: FakeKubeApi) -> None:
    submit_running(launcher, api, TF_NOISE)
    result = launcher("status", "reviews-42")
    assert result.code == 0, result.err
    assert "Progress:" not in result.out
    assert json.loads(launcher("status", "reviews-42", "-o", "json").out)["progress"] is None


def test_wait_prints_progress_as_it_changes(launcher: Launcher, api: FakeKubeApi) -> None:
    pod: list[str] = []
    first = Progress(1, 1, 50, 100, loss=0.5, examples_per_second=100.0, eta_seconds=60, gpus=4)

    def run(api: FakeKubeApi) -> None:
        pod.append(api.add_pod(NS, "reviews-42"))
        api.run_pod(NS, pod[0], log=progress_log(first))

    def finish(api: FakeKubeApi) -> None:
        api.terminate_pod(NS, pod[0], 0, log=to_line(Progress(1, 1, 100, 100, loss=0.4)) + "\n")
        api.complete_job(NS, "reviews-42")

    api.script(NS, "reviews-42", [run, lambda _: None, finish])
    result = launcher(*SUBMIT, "--wait", *TRAINER_ARGS)
    assert result.code == 0, result.err
    assert (
        "reviews-42: Running (pods: 1 running; retries: 0) epoch 1/1 step 50/100 (50%), loss 0.5000, "
        "100 examples/s, ETA 1m" in result.err.splitlines()
    )


def _held(api: FakeKubeApi, pod: str, start: str, end: str) -> None:
    """The pod held its node from `start` to `end` (what the kubelet reports)."""
    status = api.pod(NS, pod)["status"]
    status["startTime"] = start
    status["containerStatuses"][0]["state"]["terminated"]["finishedAt"] = end


def test_gpu_hours_and_cost_cover_every_attempt_of_a_retried_run(
    launcher: Launcher, api: FakeKubeApi
) -> None:
    """4 GPUs for 1h (preempted, exit 75) then 4 GPUs for 30m: 6 GPU-hours; at 2.5 a GPU-hour, 15."""
    assert launcher(*SUBMIT, *TRAINER_ARGS).code == 0
    first = api.add_pod(NS, "reviews-42")
    api.run_pod(NS, first)
    api.terminate_pod(NS, first, 75)
    _held(api, first, "2026-11-30T10:00:00Z", "2026-11-30T11:00:00Z")
    second = api.add_pod(NS, "reviews-42")
    api.run_pod(NS, second)
    api.terminate_pod(NS, second, 0)
    _held(api, second, "2026-11-30T11:05:00Z", "2026-11-30T11:35:00Z")
    api.complete_job(NS, "reviews-42")
    never_scheduled = api.add_pod(NS, "reviews-42")  # pending pods hold no GPU

    result = launcher("status", "reviews-42", "--gpu-hour-price", "2.5")
    assert result.code == 0, result.err
    assert "GPU-hours:  6.00 (about 15.00 at 2.5 per GPU-hour)" in result.out
    as_json = json.loads(launcher("status", "reviews-42", "-o", "json", "--gpu-hour-price", "2.5").out)
    assert (as_json["gpuHours"], as_json["cost"]) == (6.0, 15.0)
    by_pod = {p["name"]: p["gpuHours"] for p in as_json["pods"]}
    assert by_pod == {first: 4.0, second: 2.0, never_scheduled: 0.0}
    wide = launcher("status", "reviews-42", "-o", "wide").out
    assert "GPU-HOURS" in wide.splitlines()[-4]


def test_the_price_may_come_from_the_config_file(launcher: Launcher, api: FakeKubeApi, tmp_path) -> None:
    config = tmp_path / "team.yaml"
    config.write_text("gpu_hour_price: 4\n")
    assert launcher(*SUBMIT, *TRAINER_ARGS).code == 0
    pod = api.add_pod(NS, "reviews-42")
    api.run_pod(NS, pod)
    api.terminate_pod(NS, pod, 0)
    _held(api, pod, "2026-11-30T10:00:00Z", "2026-11-30T10:15:00Z")
    result = launcher("status", "reviews-42", "--config", str(config))
    assert "GPU-hours:  1.00 (about 4.00 at 4 per GPU-hour)" in result.out


def test_an_oom_killed_run_fails_wait_with_the_fix(launcher: Launcher, api: FakeKubeApi) -> None:
    pod: list[str] = []

    def start(api: FakeKubeApi) -> None:
        pod.append(api.add_pod(NS, "reviews-42"))
        api.run_pod(NS, pod[0])

    def killed(api: FakeKubeApi) -> None:
        api.terminate_pod(NS, pod[0], 137)
        api.fail_job(NS, "reviews-42", "BackoffLimitExceeded", "Job has reached the specified backoff limit")

    api.script(NS, "reviews-42", [start, killed])
    result = launcher(*SUBMIT, "--memory", "24Gi", "--backoff-limit", "0", "--wait", *TRAINER_ARGS)
    assert result.code == 8
    assert result.last_error_line.endswith(
        f"out of memory: pod {pod[0]} was OOMKilled at its 24Gi limit: raise --memory (e.g. --memory 48Gi) "
        "or lower the trainer's --per-replica-batch-size"
    )


def test_logs_tail_and_since_per_pod_prefixed_on_stdout(launcher: Launcher, api: FakeKubeApi) -> None:
    pod = submit_running(launcher, api, "one\ntwo\nthree\n")
    api.clock()  # time passes
    api.write_log(NS, pod, "four\nfive\n")
    tail = launcher("logs", "reviews-42", "--tail", "2")
    assert (tail.code, tail.out, tail.err) == (0, f"[{pod}] four\n[{pod}] five\n", "")
    since = launcher("logs", "reviews-42", "--since", "1s")
    assert since.out == f"[{pod}] four\n[{pod}] five\n"
    assert any("sinceSeconds=1" in path for _, path, _ in api.requests)
    everything = launcher("logs", "reviews-42", "--since", "10m")
    assert everything.out.count(f"[{pod}]") == 5


def test_time_flags_take_durations(launcher: Launcher, api: FakeKubeApi) -> None:
    result = launcher(
        *SUBMIT, "--active-deadline-seconds", "2h", "--ttl-seconds-after-finished", "1d", *TRAINER_ARGS
    )
    assert result.code == 0, result.err
    spec = api.job(NS, "reviews-42")["spec"]
    assert (spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (7200, 86400)
    bad = launcher("logs", "reviews-42", "--since", "10 minutes")
    assert bad.code == 2
    assert bad.error_line.startswith("launcher: error: invalid --since: '10 minutes' is not a duration")


def test_kubectl_output_formats(launcher: Launcher, api: FakeKubeApi) -> None:
    created = launcher(*SUBMIT, "-o", "json", *TRAINER_ARGS)
    assert created.code == 0, created.err
    assert json.loads(created.out)["metadata"]["uid"]  # what the server stored
    status = yaml.safe_load(launcher("status", "reviews-42", "-o", "yaml").out)
    assert status["name"] == "reviews-42" and status["phase"] == "Pending"
    listed = yaml.safe_load(launcher("list", "-o", "yaml").out)
    assert [job["name"] for job in listed] == ["reviews-42"]
    wide = launcher("list", "-o", "wide").out.splitlines()[0].split()
    assert wide == [
        "NAME",
        "PHASE",
        "QUEUE",
        "PROGRESS",
        "ETA",
        "AGE",
        "LOSS",
        "GPU-HOURS",
        "FAILED",
        "ARTIFACTS",
    ]
    old = launcher("status", "reviews-42", "--output", "json")
    assert json.loads(old.out)["name"] == "reviews-42"
    assert "--output is deprecated: use --output-format" in old.err
