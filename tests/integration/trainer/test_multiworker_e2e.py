"""Two `trainer train` processes on 127.0.0.1 train one model under MultiWorkerMirroredStrategy (TF_CONFIG on free
loopback ports, one CPU replica each): only the chief publishes, both agree on the final metrics; a worker whose
peer never comes up exits 75 naming it.

TensorFlow ignores SIGTERM while it waits for peers, so every process here is bounded by a hard kill.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from trainer_e2e_helpers import LEARNS, WELL_ABOVE_CHANCE, Staged, stage

from support.s3servers import S3Endpoint
from trainer.distribute.cluster import build_tf_config

pytestmark = pytest.mark.slow

RUN_SECONDS = 420
"""Hard limit of the two-worker run (it takes about a minute on 2 cores)."""


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_worker(
    args: list[str], endpoint: S3Endpoint, hosts: list[str], index: int, work: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    work.mkdir(parents=True, exist_ok=True)
    log = work / "stderr.log"
    env = {**os.environ, **endpoint.env(), "TF_CONFIG": json.dumps(build_tf_config(hosts, index))}
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "trainer", "train", *args, "--work-dir", str(work / "scratch")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    return process, log


def finish(processes: list[subprocess.Popen[bytes]], timeout: float) -> list[int]:
    """Exit codes; SIGKILL for whatever outlives the timeout (SIGTERM is not enough)."""
    codes = []
    try:
        for process in processes:
            codes.append(process.wait(timeout=timeout))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return codes


def versions(endpoint: S3Endpoint, bucket: str, prefix: str) -> dict[str, int]:
    """How many times each key under `prefix` was written (the bucket is versioned)."""
    listed = endpoint.client().list_object_versions(Bucket=bucket, Prefix=prefix + "/")
    counts: dict[str, int] = {}
    for version in listed.get("Versions", []):
        key = version["Key"].removeprefix(prefix + "/")
        counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.fixture(scope="module")
def versioned(moto_s3: S3Endpoint, tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Staged:
    """The toy task in its own bucket with versioning on, so every write to the output can be counted."""
    staged = stage(moto_s3, tiny_bert, tmp_path_factory.mktemp("toy-mw"))
    moto_s3.client().put_bucket_versioning(
        Bucket=staged.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    return staged


def trainer_args(s3: Staged, output: str) -> list[str]:
    return [
        *s3.train_args(output),
        "--cpu-replicas",
        "1",
        "--progress",
        "lines",
        "--peer-timeout-seconds",
        "120",
        *LEARNS,
    ]


def eval_line(text: str) -> str:
    lines = re.findall(r"eval:? loss=[0-9.]+ accuracy=[0-9.]+", text)
    assert lines, text[-3000:]
    loss, accuracy = re.findall(r"loss=([0-9.]+) accuracy=([0-9.]+)", lines[-1])[0]
    return f"loss={loss} accuracy={accuracy}"


def test_two_workers_train_together_and_only_the_chief_publishes(versioned: Staged, tmp_path: Path) -> None:
    s3 = versioned
    output = s3.output("two-workers")
    hosts = [f"127.0.0.1:{port}" for port in free_ports(2)]
    # The non-chief starts first: workers may start in any order.
    # bfloat16 on any CPU: the workers' bfloat16 logits are gathered for every evaluation (`--bf16 auto` picks it
    # on CPUs with AMX or AVX512-BF16, where the gather once failed).
    args = [*trainer_args(s3, output), "--bf16"]
    worker, worker_log = start_worker(args, s3.endpoint, hosts, 1, tmp_path / "w1")
    chief, chief_log = start_worker(args, s3.endpoint, hosts, 0, tmp_path / "w0")
    codes = finish([chief, worker], RUN_SECONDS)
    chief_err, worker_err = chief_log.read_text(), worker_log.read_text()
    assert codes == [0, 0], f"chief:\n{chief_err[-3000:]}\nworker 1:\n{worker_err[-3000:]}"

    for text in (chief_err, worker_err):
        assert "strategy=MultiWorkerMirroredStrategy replicas=2 global_batch=32 (16 per replica x 2)" in text
        assert "input sharding=DATA across 2 workers" in text
    assert "the chief publishes" in worker_err and "published s3://" not in worker_err
    assert "published s3://" in chief_err
    assert eval_line(chief_err) == eval_line(worker_err)

    bucket, prefix = output.removeprefix("s3://").split("/", 1)
    written = versions(s3.endpoint, bucket, prefix)
    assert {"_SUCCESS", "run.json", "metrics.json", "model/model.safetensors"} <= set(written)
    assert written["_SUCCESS"] == 1 and written["metrics.json"] == 1
    # The chief's alone: "running" at the start, again once the precision is decided (the attempt records it),
    # and the final one.
    assert written["run.json"] == 3

    client = s3.endpoint.client()
    run = json.loads(client.get_object(Bucket=bucket, Key=f"{prefix}/run.json")["Body"].read())
    assert run["status"] == "succeeded"
    assert run["distribution"]["strategy"] == "MultiWorkerMirroredStrategy"
    assert run["distribution"]["workers"] == 2 and run["distribution"]["replicas"] == 2
    assert run["distribution"]["global_batch_size"] == 32
    assert run["attempts"][-1]["precision"] == {"policy": "mixed_bfloat16", "reason": "--bf16 true"}
    metrics = json.loads(client.get_object(Bucket=bucket, Key=f"{prefix}/metrics.json")["Body"].read())
    assert metrics["eval"]["accuracy"] > WELL_ABOVE_CHANCE
    assert f"accuracy={metrics['eval']['accuracy']:.4f}" in eval_line(chief_err)
    assert sum(metrics["eval"]["per_class"][label]["support"] for label in metrics["eval"]["per_class"]) == 90


def test_a_peer_that_never_comes_up_is_a_retryable_error_naming_it(
    moto_s3: S3Endpoint, tmp_path: Path
) -> None:
    hosts = [f"127.0.0.1:{port}" for port in free_ports(2)]
    args = [
        "--model",
        "s3://nowhere/model",
        "--train-data",
        "s3://nowhere/train.csv",
        "--output",
        str(tmp_path / "out"),
        "--peer-timeout-seconds",
        "3",
    ]
    process, log = start_worker(args, moto_s3, hosts, 0, tmp_path / "w0")
    codes = finish([process], 120)
    err = log.read_text()
    assert codes == [75], err[-3000:]
    assert f"no answer from {hosts[1]}" in err
    assert "trainer: error: gave up after 3s waiting for the other workers" in err
    assert not (tmp_path / "out").exists()  # nothing is written before the workers have met


def test_the_group_restarts_together_and_resumes_from_the_checkpoint(
    versioned: Staged, tmp_path: Path
) -> None:
    s3 = versioned
    output = s3.output("restart")
    args = trainer_args(s3, output)
    hosts = [f"127.0.0.1:{port}" for port in free_ports(2)]
    chief, chief_log = start_worker(args, s3.endpoint, hosts, 0, tmp_path / "a0")
    worker, worker_log = start_worker(args, s3.endpoint, hosts, 1, tmp_path / "a1")
    try:
        deadline = RUN_SECONDS
        while "epoch 2/8 done" not in chief_log.read_text() and deadline > 0 and chief.poll() is None:
            deadline -= 0.5
            time.sleep(0.5)
        assert "epoch 2/8 done" in chief_log.read_text(), chief_log.read_text()[-3000:]
        chief.kill()  # the node is gone: no SIGTERM, no last checkpoint
        # The survivor's collectives are aborted (connection reset / missed heartbeats); it exits retryable.
        assert finish([worker], 120) == [75], worker_log.read_text()[-3000:]
        assert "left the group" in worker_log.read_text()
    finally:
        finish([chief, worker], 1)

    # The Job recreates both indexes: they meet again and resume from the chief's newest checkpoint.
    hosts = [f"127.0.0.1:{port}" for port in free_ports(2)]
    worker, worker_log = start_worker(args, s3.endpoint, hosts, 1, tmp_path / "b1")
    chief, chief_log = start_worker(args, s3.endpoint, hosts, 0, tmp_path / "b0")
    codes = finish([chief, worker], RUN_SECONDS)
    chief_err, worker_err = chief_log.read_text(), worker_log.read_text()
    assert codes == [0, 0], f"chief:\n{chief_err[-3000:]}\nworker 1:\n{worker_err[-3000:]}"
    resumed = [
        re.findall(r"resumed from checkpoint (\S+): epoch (\d+)", text) for text in (chief_err, worker_err)
    ]
    assert resumed[0] and resumed[0] == resumed[1]
    assert int(resumed[0][0][1]) >= 2
    assert eval_line(chief_err) == eval_line(worker_err)
