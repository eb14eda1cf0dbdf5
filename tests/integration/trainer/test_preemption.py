"""Preemption for real: `trainer train` subprocesses killed with SIGKILL and SIGTERM mid-run, then started again
with the same arguments against the loopback S3 server. They resume, finish the planned steps and publish once."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from trainer_e2e_helpers import Staged, listing, read_json, run_trainer, stage, upload_tree

from support.s3servers import S3Endpoint
from trainer.contract.exit_codes import ExitCode

pytestmark = pytest.mark.slow

EPOCHS = 2
STEPS_PER_EPOCH = 480 // 16  # toy train.csv rows / global batch (1 replica)


@pytest.fixture(scope="module")
def staged(moto_s3: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Staged:
    """The toy task with a dropout-free tiny BERT: training is then a pure function of the data order and weights."""
    from support.tiny_bert import write_tiny_bert
    from support.toy_data import vocabulary

    model = write_tiny_bert(tmp_path_factory.mktemp("tiny-bert-no-dropout"), vocabulary(), dropout=0.0)
    s3 = stage(moto_s3, model, tmp_path_factory.mktemp("toy"))
    upload_tree(moto_s3, model, s3.bucket, "base/tiny-bert")
    return s3


def args(s3: Staged, output: str, *extra: str) -> list[str]:
    return [
        *s3.train_args(output),
        "--epochs",
        str(EPOCHS),
        "--learning-rate",
        "2e-3",
        "--per-replica-batch-size",
        "16",
        "--log-every-steps",
        "10",
        "--no-bf16",  # float32 on any CPU: resumed and uninterrupted weights are compared to 1e-6
        *extra,
    ]


def keys(s3: Staged, output: str) -> set[str]:
    return set(listing(s3.endpoint, output))


def start(s3: Staged, argv: list[str], work: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "trainer", "train", *argv, "--work-dir", str(work)],
        env={**os.environ, **s3.endpoint.env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def freeze(process: subprocess.Popen[str]) -> None:
    """SIGSTOP: a toy run finishes in seconds, so the test looks and signals while the trainer cannot move on."""
    process.send_signal(signal.SIGSTOP)


def interrupt(process: subprocess.Popen[str], signum: int) -> None:
    """Deliver `signum` to a frozen trainer (SIGTERM waits, pending, until SIGCONT)."""
    process.send_signal(signum)
    process.send_signal(signal.SIGCONT)


def wait_for_checkpoint(s3: Staged, output: str, process: subprocess.Popen[str], timeout: float = 180) -> str:
    """The first checkpoint that is complete in storage (its COMPLETE marker landed); the trainer is left frozen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        complete = sorted(k.split("/")[1] for k in keys(s3, output) if k.endswith("/COMPLETE"))
        if complete:
            freeze(process)
            return complete[0]
        assert process.poll() is None, process.communicate()[1][-3000:]
        time.sleep(0.05)
    process.kill()
    raise AssertionError("no checkpoint landed in time")


def weights(s3: Staged, output: str, tmp: Path) -> dict[str, np.ndarray]:
    key = output.removeprefix(f"s3://{s3.bucket}/") + "/model/model.safetensors"
    path = tmp / f"{abs(hash(output))}.safetensors"
    s3.endpoint.client().download_file(s3.bucket, key, str(path))
    return load_file(str(path))


def test_sigkill_after_a_checkpoint_resumes_and_ends_where_an_uninterrupted_run_ends(
    staged: Staged, tmp_path: Path
) -> None:
    s3 = staged
    reference = s3.output("uninterrupted")
    done = run_trainer(args(s3, reference, "--checkpoint-every-steps", "0"), s3.endpoint, tmp_path / "w0")
    assert done.returncode == 0, done.stderr[-3000:]

    output = s3.output("killed")
    argv = args(s3, output, "--checkpoint-every-steps", "0")  # epoch-end checkpoints only
    process = start(s3, argv, tmp_path / "w1")
    first = wait_for_checkpoint(s3, output, process)
    interrupt(process, signal.SIGKILL)
    process.wait(timeout=30)
    assert first == f"ckpt-{STEPS_PER_EPOCH:010d}"  # the end of epoch 1
    assert "_SUCCESS" not in keys(s3, output)

    resumed = run_trainer(argv, s3.endpoint, tmp_path / "w2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from checkpoint" in resumed.stderr

    run = read_json(s3.endpoint, output, "run.json")
    assert [a["status"] for a in run["attempts"]] == ["interrupted", "succeeded"]
    assert run["attempts"][0]["resumed_from"] is None
    resumed_from = run["attempts"][1]["resumed_from"]
    assert resumed_from["optimizer_step"] >= STEPS_PER_EPOCH and resumed_from["step"] == 0
    metrics = read_json(s3.endpoint, output, "metrics.json")
    assert metrics["throughput"]["optimizer_steps"] == EPOCHS * STEPS_PER_EPOCH  # the planned steps, in total
    assert [row["epoch"] for row in metrics["history"]] == [1, 2]
    published = keys(s3, output)
    assert "_SUCCESS" in published and not any(k.startswith("checkpoints/") for k in published)

    # Same seed, one replica, no dropout, resumed at an epoch boundary: the same final weights.
    expected, actual = weights(s3, reference, tmp_path), weights(s3, output, tmp_path)
    assert expected.keys() == actual.keys()
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_sigterm_checkpoints_gracefully_and_resumes_ignoring_a_cut_off_upload(
    staged: Staged, tmp_path: Path
) -> None:
    s3 = staged
    output = s3.output("terminated")
    argv = args(s3, output, "--checkpoint-every-steps", "7")
    process = start(s3, argv, tmp_path / "w1")
    wait_for_checkpoint(s3, output, process)
    interrupt(process, signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == ExitCode.RETRYABLE, stderr[-3000:]
    last_line = stderr.strip().splitlines()[-1]
    assert last_line.startswith("trainer: error: stopped by SIGTERM at epoch ")
    assert "run the same command again to resume" in last_line
    run = read_json(s3.endpoint, output, "run.json")
    assert run["status"] == "preempted" and run["attempts"][-1]["status"] == "preempted"

    # A checkpoint whose upload was cut off (files, no COMPLETE marker) and newer than any real one is ignored.
    prefix = output.removeprefix(f"s3://{s3.bucket}/")
    s3.endpoint.client().put_object(
        Bucket=s3.bucket, Key=f"{prefix}/checkpoints/ckpt-9999999999/state.index", Body=b"half"
    )

    # Settings that change the checkpoint's meaning are refused, naming --restart.
    changed = run_trainer([*argv, "--per-replica-batch-size", "8"], s3.endpoint, tmp_path / "w2")
    assert changed.returncode == ExitCode.USAGE
    assert "global_batch_size 16 -> 8" in changed.stderr and "--restart" in changed.stderr

    resumed = run_trainer(argv, s3.endpoint, tmp_path / "w3")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "ignoring incomplete checkpoint" in resumed.stderr and "ckpt-9999999999" in resumed.stderr
    run = read_json(s3.endpoint, output, "run.json")
    resumed_from = run["attempts"][-1]["resumed_from"]
    assert resumed_from is not None and resumed_from["checkpoint"].endswith(
        f"ckpt-{resumed_from['optimizer_step']:010d}"
    )
    assert (
        read_json(s3.endpoint, output, "metrics.json")["throughput"]["optimizer_steps"]
        == EPOCHS * STEPS_PER_EPOCH
    )

    # A run after _SUCCESS is a no-op, and --restart with --overwrite trains from scratch.
    again = run_trainer(argv, s3.endpoint, tmp_path / "w4")
    assert again.returncode == 0 and "nothing to do" in again.stderr


def test_sigkill_with_gradient_accumulation_resumes_at_an_optimizer_step_and_ends_as_uninterrupted(
    staged: Staged, tmp_path: Path
) -> None:
    s3 = staged
    steps_per_epoch = 480 // (16 * 2)  # optimizer steps of 2 micro-batches of 16
    epochs = 6  # a toy epoch takes a fraction of a second: several may end and upload between two looks
    accumulate = ("--gradient-accumulation-steps", "2", "--save-strategy", "epoch", "--epochs", str(epochs))
    reference = s3.output("accumulated-uninterrupted")
    done = run_trainer(args(s3, reference, *accumulate), s3.endpoint, tmp_path / "w0")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "effective_batch=32 (x 2 accumulation steps)" in done.stderr

    output = s3.output("accumulated-killed")
    argv = args(s3, output, *accumulate)
    process = start(s3, argv, tmp_path / "w1")
    first = wait_for_checkpoint(s3, output, process)
    interrupt(process, signal.SIGKILL)
    process.wait(timeout=30)
    epoch_ends = tuple(epoch * steps_per_epoch for epoch in range(1, epochs))  # any but the last
    assert first in [f"ckpt-{step:010d}" for step in epoch_ends]

    resumed = run_trainer(argv, s3.endpoint, tmp_path / "w2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run = read_json(s3.endpoint, output, "run.json")
    resumed_from = run["attempts"][1]["resumed_from"]
    assert resumed_from["optimizer_step"] in epoch_ends
    # Named by the optimizer step (not the micro-batch, twice as many), which is where it resumed.
    assert resumed_from["checkpoint"].endswith(f"/ckpt-{resumed_from['optimizer_step']:010d}")
    assert resumed_from["optimizer_step"] == (resumed_from["epoch"] - 1) * steps_per_epoch
    distribution = run["distribution"]
    assert (distribution["global_batch_size"], distribution["effective_batch_size"]) == (16, 32)
    assert distribution["gradient_accumulation_steps"] == 2
    metrics = read_json(s3.endpoint, output, "metrics.json")
    assert metrics["throughput"]["optimizer_steps"] == epochs * steps_per_epoch
    expected, actual = weights(s3, reference, tmp_path), weights(s3, output, tmp_path)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=1e-6, atol=1e-7, err_msg=name)


def wait_for_step(
    s3: Staged, output: str, process: subprocess.Popen[str], step: int, timeout: float = 180
) -> None:
    """Until a complete checkpoint at `step` or later is in storage; the trainer is left frozen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = [int(k.split("/")[1][5:]) for k in keys(s3, output) if re.search(r"/ckpt-\d+/COMPLETE$", k)]
        if any(s >= step for s in steps):
            freeze(process)
            return
        assert process.poll() is None, process.communicate()[1][-3000:]
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"no checkpoint at step {step} or later landed in time")


def test_sigkill_keeps_the_best_so_far_and_the_patience_count(staged: Staged, tmp_path: Path) -> None:
    """ "Higher loss is better" on a task whose loss falls: the evaluation at step 10 stays the best, and with
    patience 3 the run stops at step 40, also when it was killed after step 20 and resumed."""
    s3 = staged
    best = (
        *("--eval-strategy", "steps", "--eval-steps", "10", "--save-steps", "10", "--load-best-model-at-end"),
        *("--metric-for-best-model", "loss", "--greater-is-better", "--early-stopping-patience", "3"),
    )
    reference = s3.output("best-uninterrupted")
    done = run_trainer(args(s3, reference, *best), s3.endpoint, tmp_path / "w0")
    assert done.returncode == 0, done.stderr[-3000:]

    output = s3.output("best-killed")
    argv = args(s3, output, *best)
    process = start(s3, argv, tmp_path / "w1")
    wait_for_step(s3, output, process, 20)
    interrupt(process, signal.SIGKILL)
    process.wait(timeout=30)
    assert any(k.startswith("checkpoints/best-0000000010/") for k in keys(s3, output))

    resumed = run_trainer(argv, s3.endpoint, tmp_path / "w2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert read_json(s3.endpoint, output, "run.json")["attempts"][1]["resumed_from"]["optimizer_step"] >= 20
    expected, actual = (read_json(s3.endpoint, o, "metrics.json") for o in (reference, output))
    assert actual["best_model"] == expected["best_model"]
    assert (actual["best_model"]["global_step"], actual["best_model"]["stopped_early"]) == (10, True)
    assert actual["throughput"]["optimizer_steps"] == expected["throughput"]["optimizer_steps"] == 40
    reference_weights, published = weights(s3, reference, tmp_path), weights(s3, output, tmp_path)
    for name in reference_weights:  # both published the weights of step 10
        np.testing.assert_allclose(
            published[name], reference_weights[name], rtol=1e-6, atol=1e-7, err_msg=name
        )
