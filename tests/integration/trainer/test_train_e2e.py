"""`trainer train` as a subprocess against real S3-compatible servers on loopback: it learns and publishes."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from trainer_e2e_helpers import (
    LEARNS,
    WELL_ABOVE_CHANCE,
    Staged,
    assert_complete,
    listing,
    read_json,
    run_trainer,
    stage,
)

from support.s3servers import S3Endpoint
from support.toy_data import TOPICS
from trainer.contract import progress as progress_contract
from trainer.distribute.host import cpu_flags
from trainer.distribute.precision import Devices, resolve_precision

pytestmark = pytest.mark.slow


def test_learns_the_toy_task_with_two_replicas_and_publishes_everything(
    staged_moto: Staged, tmp_path: Path
) -> None:
    s3 = staged_moto
    staged_dir = s3.local_dir
    output = s3.output("two-replicas")
    args = [
        *s3.train_args(output),
        "--cpu-replicas",
        "2",
        *LEARNS,
        "--no-bf16",  # float32, as transformers loads the published model: the accuracies are compared below
    ]
    result = run_trainer(args, s3.endpoint, tmp_path / "work")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "strategy=MirroredStrategy replicas=2 global_batch=32 (16 per replica x 2)" in result.stderr
    progress = [line for line in result.stderr.splitlines() if " step " in line and "examples/s=" in line]
    assert progress and all("eta=" in line and "loss=" in line and "accuracy=" in line for line in progress)
    assert "\r" not in result.stderr  # no progress bar in a log
    newest = progress_contract.newest(result.stderr.splitlines())  # what `launcher status` reads
    assert newest is not None and (newest.epoch, newest.step) == (8, newest.steps)
    assert newest.gpus == 0 and newest.loss is not None and "accuracy" in newest.metrics

    objects = listing(s3.endpoint, output)
    assert_complete(objects)
    assert objects["_SUCCESS"]["LastModified"] >= max(o["LastModified"] for o in objects.values())

    metrics = read_json(s3.endpoint, output, "metrics.json")
    assert metrics["eval"]["accuracy"] > WELL_ABOVE_CHANCE
    assert set(metrics["eval"]["per_class"]) == set(TOPICS)
    assert len(metrics["eval"]["confusion_matrix"]["matrix"]) == 3
    assert [row["epoch"] for row in metrics["history"]] == list(range(1, 9))
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "train_examples_per_second"} <= set(
        metrics["history"][0]
    )
    assert metrics["throughput"]["global_batch_size"] == 32

    run = read_json(s3.endpoint, output, "run.json")
    assert run["status"] == "succeeded" and run["finished_at"] >= run["started_at"]
    assert run["distribution"]["strategy"] == "MirroredStrategy"
    assert run["distribution"]["replicas"] == 2 and run["distribution"]["global_batch_size"] == 32
    assert run["data"]["train"] == [
        {
            "uri": s3.train,
            "size": pytest.approx(run["data"]["train"][0]["size"]),
            "etag": run["data"]["train"][0]["etag"],
        }
    ]
    assert run["data"]["train"][0]["size"] > 0 and run["data"]["train"][0]["etag"]
    assert run["versions"]["transformers"] == "4.54.1" and run["versions"]["tensorflow"].startswith("2.")
    assert run["settings"]["output"] == output
    assert run["accelerator"] == {"type": "cpu", "per_worker": 0, "workers": 1}
    (attempt,) = run["attempts"]
    assert attempt["wall_seconds"] > 0 and attempt["gpu_seconds"] == 0.0 == run["gpu_seconds_total"]
    assert {"data_ready", "model_ready", "trained", "evaluated"} <= set(attempt["phase_seconds"])
    assert "AWS_SECRET_ACCESS_KEY" not in json.dumps(run) and s3.endpoint.secret_key not in json.dumps(run)
    assert read_json(s3.endpoint, output, "labels.json") == sorted(TOPICS)

    # The published model loads and predicts with nothing but transformers.
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    bucket, prefix = output.removeprefix("s3://").split("/", 1)
    for key in objects:
        if key.startswith("model/"):
            s3.endpoint.client().download_file(
                bucket, f"{prefix}/{key}", str(model_dir / key.removeprefix("model/"))
            )
    from transformers import AutoTokenizer, TFAutoModelForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = TFAutoModelForSequenceClassification.from_pretrained(model_dir)
    dev = [line.rsplit(",", 1) for line in (staged_dir / "dev.csv").read_text().splitlines()[1:]]
    logits = model(tokenizer([text for text, _ in dev], padding=True, return_tensors="tf")).logits.numpy()
    predicted = [model.config.id2label[i] for i in np.argmax(logits, axis=-1)]
    accuracy = np.mean([p == label for p, (_, label) in zip(predicted, dev, strict=True)])
    assert accuracy == pytest.approx(
        metrics["eval"]["accuracy"], abs=1e-6
    )  # the published model is the trained one

    # A rerun after success is a no-op: nothing retrained, nothing republished.
    again = run_trainer(args, s3.endpoint, tmp_path / "work")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "already holds a completed run (_SUCCESS): nothing to do" in again.stderr
    assert listing(s3.endpoint, output)["run.json"]["ETag"] == objects["run.json"]["ETag"]


def test_seaweedfs_prefix_of_jsonl_shards_with_a_held_out_split_read_per_batch_from_token_files(
    seaweed_s3: S3Endpoint, tiny_bert: Path, tmp_path: Path
) -> None:
    """--no-keep-in-memory (data larger than memory): batches are read from the memory-mapped token files."""
    s3 = stage(seaweed_s3, tiny_bert, tmp_path)
    client = seaweed_s3.client()
    from support.toy_data import sentences

    rows = sentences(400, seed=5)
    for shard in range(4):
        body = "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows[shard::4])
        client.put_object(Bucket=s3.bucket, Key=f"shards/part-{shard:05d}.jsonl", Body=body.encode())
    client.put_object(Bucket=s3.bucket, Key="shards/_SUCCESS", Body=b"")
    output = f"s3://{s3.bucket}/runs/shards"
    result = run_trainer(
        [
            "--model",
            s3.model,
            "--train-data",
            f"s3://{s3.bucket}/shards",
            "--eval-fraction",
            "0.2",
            "--output",
            output,
            "--no-keep-in-memory",
            "--cpu-replicas",
            "2",
            *LEARNS,
        ],
        seaweed_s3,
        tmp_path / "work",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "train data: 400 rows from 4 file(s)" in result.stderr
    split = re.search(r"data: (\d+) training rows, (\d+) evaluation rows, 3 labels", result.stderr)
    assert split is not None
    n_train, n_eval = int(split[1]), int(split[2])
    assert n_train + n_eval == 400 and abs(n_eval - 80) <= 2  # 20% of each label, rounded
    assert re.search(r"token ids: [\d.]+ MB memory-mapped from scratch disk, read per batch", result.stderr)
    assert "strategy=MirroredStrategy replicas=2 global_batch=32" in result.stderr
    assert_complete(listing(seaweed_s3, output))
    metrics = read_json(seaweed_s3, output, "metrics.json")
    assert metrics["rows"] == {"train": n_train, "eval": n_eval}
    assert metrics["eval"]["accuracy"] > WELL_ABOVE_CHANCE
    run = read_json(seaweed_s3, output, "run.json")
    assert len(run["data"]["train"]) == 4
    # --bf16 auto (the default) decided from this host's devices, logged and recorded with the attempt.
    decided = resolve_precision("auto", False, Devices(cpu_flags=cpu_flags()))
    assert run["attempts"][-1]["precision"] == decided.describe()
    assert f"precision: {decided.name} ({decided.reason})" in result.stderr
    assert list((tmp_path / "work").iterdir()) == []  # scratch space is cleaned up


def test_speed_options_still_learn_and_the_run_reports_where_its_time_went(
    staged_moto: Staged, tmp_path: Path
) -> None:
    """bf16, XLA on bucketed lengths, 3 steps per execution, one evaluation at the end."""
    s3 = staged_moto
    output = s3.output("speed")
    args = [*s3.train_args(output), *LEARNS, "--bf16", "--jit-compile", "--steps-per-execution", "3"]
    result = run_trainer([*args, "--eval-strategy", "no"], s3.endpoint, tmp_path / "work")
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(
        r"first training step began [\d.]+s after process start \(tensorflow_loaded=[\d.]+s imports_and_strategy=",
        result.stderr,
    )

    metrics = read_json(s3.endpoint, output, "metrics.json")
    assert metrics["eval"]["accuracy"] > WELL_ABOVE_CHANCE
    assert metrics["throughput"]["optimizer_steps"] == 8 * 30  # 480 rows / 16 per step, every step ran
    history = metrics["history"]
    assert [("val_loss" in row) for row in history] == [False] * 7 + [True]  # --eval-strategy no
    assert history[-1]["val_accuracy"] == pytest.approx(metrics["eval"]["accuracy"])
    timeline = metrics["timeline_seconds"]
    phases = ["tensorflow_loaded", "data_ready", "model_ready", "first_step", "trained", "evaluated"]
    phases.append("serving_exported")
    assert [timeline[p] for p in phases] == sorted(timeline[p] for p in phases)
    assert metrics["throughput"]["startup_seconds"] == timeline["first_step"] > 0
    run = read_json(s3.endpoint, output, "run.json")
    assert run["settings"]["bf16"] is True and run["settings"]["jit_compile"]
    assert run["attempts"][-1]["precision"] == {"policy": "mixed_bfloat16", "reason": "--bf16 true"}
    assert_complete(listing(s3.endpoint, output))
