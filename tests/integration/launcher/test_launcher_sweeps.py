"""`launcher sweep submit|status|delete` against the loopback API server: one Job per trial, resubmission of
missing and failed trials only, the foreground --max-parallel loop and its Ctrl-C, and `launcher results` against
a loopback S3 server."""

import json
from collections.abc import Callable

import cli_result
import pytest
from cli_result import Result
from fake_kube_api import FakeKubeApi

from launcher import sweeps as sweeps_module
from support.s3servers import S3Endpoint

NS = "ml"
Launcher = Callable[..., Result]
SWEEP = (
    "sweep",
    "submit",
    "--name",
    "lr-sweep",
    "--image",
    "registry.example.com/ml/trainer:1.0",
    "--poll-interval",
    "0.01",
    "--params",
    "learning-rate=1e-5,3e-5,5e-5",
    "--params",
    "epochs=2,3",
)
TRAINER_ARGS = (*cli_result.TRAINER_ARGS[:-1], "s3://team-runs/lr-sweep")
"""The flow tests' trainer arguments, with the sweep's output prefix."""


def trials(api: FakeKubeApi) -> dict[str, dict]:
    return {name: job for (ns, name), job in api.jobs.items() if ns == NS}


def test_a_grid_sweep_creates_one_labelled_job_per_trial(launcher: Launcher, api: FakeKubeApi) -> None:
    result = launcher(*SWEEP, *TRAINER_ARGS)
    assert result.code == 0, result.err
    created = trials(api)
    assert sorted(result.out.split()) == sorted(created) and len(created) == 6
    for name, job in created.items():
        assert job["metadata"]["labels"]["tf-finetune-k8s/sweep"] == "lr-sweep"
        params = json.loads(job["metadata"]["annotations"]["tf-finetune-k8s/params"])
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[args.index("--learning-rate") + 1] == params["learning-rate"]
        assert args[args.index("--output") + 1] == f"s3://team-runs/lr-sweep/{name}"
    assert "sweep lr-sweep: 6 trials, 0 already there, 6 to create" in result.err


def test_running_it_again_creates_only_missing_and_failed_trials(
    launcher: Launcher, api: FakeKubeApi
) -> None:
    assert launcher(*SWEEP, "--trials", "3", "--seed", "1", *TRAINER_ARGS).code == 0
    first = trials(api)
    assert len(first) == 3
    failed, succeeded, deleted = sorted(first)
    api.fail_job(NS, failed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    api.complete_job(NS, succeeded)
    api.handle("DELETE", f"/apis/batch/v1/namespaces/{NS}/jobs/{deleted}", {}, {})
    api.collect_garbage()
    old_uids = {name: job["metadata"]["uid"] for name, job in trials(api).items()}

    again = launcher(*SWEEP, "--trials", "3", "--seed", "1", *TRAINER_ARGS)
    assert again.code == 0, again.err
    assert sorted(again.out.split()) == sorted([failed, deleted])
    assert "3 trials, 1 already there, 2 to create" in again.err
    now = trials(api)
    assert set(now) == set(first)
    assert now[succeeded]["metadata"]["uid"] == old_uids[succeeded]
    assert now[failed]["metadata"]["uid"] != old_uids[failed]


def test_max_parallel_creates_trials_as_others_finish(
    launcher: Launcher, api: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[int] = []

    def finish_one(_: float) -> None:
        """Between polls: the oldest unfinished trial completes."""
        waits.append(len(trials(api)))
        running = [n for n, j in sorted(trials(api).items()) if not j["status"].get("conditions")]
        api.complete_job(NS, running[0])

    monkeypatch.setattr(sweeps_module, "pause", finish_one)
    result = launcher(*SWEEP, "--trials", "4", "--max-parallel", "2", *TRAINER_ARGS)
    assert result.code == 0, result.err
    assert len(trials(api)) == 4
    assert waits == [2, 3]  # never more than 2 unfinished


def test_ctrl_c_exits_130_and_running_it_again_resumes(
    launcher: Launcher, api: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sweeps_module, "pause", interrupt)
    stopped = launcher(*SWEEP, "--max-parallel", "2", *TRAINER_ARGS)
    assert stopped.code == 130
    assert stopped.last_error_line == (
        "launcher: error: interrupted with 4 of the sweep's trials not created yet; run the same command again "
        "to resume (the created ones keep running)"
    )
    assert len(trials(api)) == 2
    resumed = launcher(*SWEEP, *TRAINER_ARGS)  # no --max-parallel: the rest at once
    assert resumed.code == 0, resumed.err
    assert len(trials(api)) == 6 and len(resumed.out.split()) == 4


def test_with_a_queue_every_trial_is_created_suspended_at_once(launcher: Launcher, api: FakeKubeApi) -> None:
    result = launcher(*SWEEP, "--queue", "team-a", "--max-parallel", "1", *TRAINER_ARGS)
    assert result.code == 0, result.err
    assert len(trials(api)) == 6
    assert all(job["spec"]["suspend"] for job in trials(api).values())


def test_trials_that_cannot_be_created_exit_10_and_the_others_are(
    launcher: Launcher, api: FakeKubeApi
) -> None:
    assert launcher(*SWEEP, "--trials", "1", *TRAINER_ARGS).code == 0
    (taken,) = trials(api)
    job = api.job(NS, taken)
    del job["metadata"]["labels"]["tf-finetune-k8s/sweep"]  # a Job of that name that is not the sweep's
    result = launcher(*SWEEP, *TRAINER_ARGS)
    assert result.code == 10
    assert result.last_error_line.startswith(
        f"launcher: error: 1 of 6 trials could not be created: {taken} ("
    )
    assert result.last_error_line.endswith("run the same command again to retry them")
    assert len(trials(api)) == 6


def test_sweep_status_and_delete(launcher: Launcher, api: FakeKubeApi) -> None:
    assert launcher(*SWEEP, "--params", "epochs=2", *TRAINER_ARGS).code == 0
    names = sorted(trials(api))
    api.complete_job(NS, names[0])
    status = launcher("sweep", "status", "lr-sweep")
    assert status.code == 0, status.err
    header, *rows = status.out.splitlines()
    assert header.split() == [
        "TRIAL",
        "PHASE",
        "LEARNING-RATE",
        "EPOCHS",
        "PROGRESS",
        "ETA",
        "LOSS",
        "GPU-HOURS",
    ]
    assert {row.split()[0] for row in rows} == set(names)
    assert "sweep lr-sweep: 3 trials (2 pending, 1 succeeded); GPU-hours 0.00" in status.err
    as_json = json.loads(launcher("sweep", "status", "lr-sweep", "-o", "json").out)
    assert {t["params"]["learning-rate"] for t in as_json} == {"1e-5", "3e-5", "5e-5"}

    deleted = launcher("sweep", "delete", "lr-sweep")
    assert deleted.code == 0, deleted.err
    assert sorted(deleted.out.splitlines()) == [f"job.batch/{n} deleted" for n in names]
    assert trials(api) == {}
    gone = launcher("sweep", "status", "lr-sweep")
    assert gone.code == 4
    assert gone.error_line == (
        "launcher: error: no sweep lr-sweep in namespace ml (no Jobs labelled tf-finetune-k8s/sweep=lr-sweep)"
    )


def _publish(s3, run: str, metrics: dict | None, success: bool) -> None:
    if metrics is not None:
        s3.put_object(
            Bucket="team-runs", Key=f"lr-sweep/{run}/metrics.json", Body=json.dumps({"eval": metrics})
        )
    if success:
        s3.put_object(Bucket="team-runs", Key=f"lr-sweep/{run}/_SUCCESS", Body=b"")
    if metrics is None:  # started: a checkpoint, no metrics yet
        s3.put_object(Bucket="team-runs", Key=f"lr-sweep/{run}/checkpoints/ckpt-1.index", Body=b"x")


def test_results_sorts_by_a_metric_and_marks_incomplete_runs(
    launcher: Launcher, moto_s3: S3Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in moto_s3.env().items():
        monkeypatch.setenv(name, value)
    s3 = moto_s3.client()
    s3.create_bucket(Bucket="team-runs")
    _publish(s3, "lr-sweep-aaaaaa", {"loss": 0.41, "accuracy": 0.86, "macro_f1": 0.85}, success=True)
    _publish(s3, "lr-sweep-bbbbbb", {"loss": 0.35, "accuracy": 0.89, "macro_f1": 0.88}, success=True)
    _publish(s3, "lr-sweep-cccccc", {"loss": 0.30, "accuracy": 0.91, "macro_f1": 0.90}, success=False)
    _publish(s3, "lr-sweep-dddddd", None, success=False)

    result = launcher("results", "s3://team-runs/lr-sweep/")
    assert result.code == 11
    assert result.out.splitlines() == [
        "RUN              STATE       ACCURACY  LOSS    MACRO_F1",
        "lr-sweep-bbbbbb  complete    0.8900    0.3500  0.8800",
        "lr-sweep-aaaaaa  complete    0.8600    0.4100  0.8500",
        "lr-sweep-cccccc  incomplete  0.9100    0.3000  0.9000",
        "lr-sweep-dddddd  incomplete  -         -       -",
    ]
    assert result.err.strip() == "2 of 4 runs are incomplete (no _SUCCESS): lr-sweep-cccccc, lr-sweep-dddddd"
    by_loss = json.loads(
        launcher("results", "s3://team-runs/lr-sweep", "--sort-by", "loss", "-o", "json").out
    )
    assert [r["run"] for r in by_loss][:2] == ["lr-sweep-bbbbbb", "lr-sweep-aaaaaa"]
    assert by_loss[0] == {
        "run": "lr-sweep-bbbbbb",
        "uri": "s3://team-runs/lr-sweep/lr-sweep-bbbbbb/",
        "complete": True,
        "metrics": {"loss": 0.35, "accuracy": 0.89, "macro_f1": 0.88},
    }
    unknown = launcher("results", "s3://team-runs/lr-sweep/", "--sort-by", "f1")
    assert unknown.code == 2
    assert (
        unknown.error_line
        == "launcher: error: no run has the metric 'f1': --sort-by one of accuracy, loss, macro_f1"
    )
    missing = launcher("results", "s3://team-runs/nothing-here/")
    assert missing.code == 4
