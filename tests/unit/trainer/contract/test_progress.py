"""The progress line both sides share: what the trainer writes is what the launcher reads back, also out of a real
container log full of TensorFlow's own output."""

import json

import pytest

from trainer.contract.progress import TAG, Progress, from_dict, newest, parse_line, to_line

RUNNING = Progress(
    epoch=2,
    epochs=3,
    step=120,
    steps=187,
    loss=0.4123,
    metrics={"accuracy": 0.8512},
    examples_per_second=812.4,
    eta_seconds=190,
    gpus=4,
)

TF_NOISY_LOG = f"""\
2026-03-02 10:00:01.123456: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.
2026-03-02 10:00:02.000001: I external/local_xla/xla/stream_executor/cuda/cuda_executor.cc:1001] successful \
NUMA node read from SysFS had negative value (-1)
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1740909602.118 8 gpu_device.cc:2022] Created device /job:localhost/replica:0/task:0/device:GPU:0 \
with 78 MB memory:  -> device: 0, name: NVIDIA A100-SXM4-80GB, pci bus id: 0000:00:04.0, compute capability: 8.0
2026-03-02T10:00:09 INFO epoch 1/3 step 50/187 accuracy=0.6312 loss=0.8120 examples/s=790.2 eta=0:09:51
2026-03-02T10:00:09 INFO {TAG} {{"v":1,"epoch":1,"epochs":3,"step":50,"steps":187,"loss":0.812,\
"metrics":{{"accuracy":0.6312}},"examples_per_second":790.2,"eta_seconds":591,"gpus":4}}
W0000 00:00:1740909610.5 12 loop_optimizer.cc:933] Skipping loop optimization for Merge node with control input
  50/187 [=======>......................] - ETA: 1:02 - loss: 0.8120\r 60/187 [========>.....] - ETA: 58s
2026-03-02T10:04:11 INFO epoch 2/3 step 120/187 accuracy=0.8512 loss=0.4123 examples/s=812.4 eta=0:03:10
2026-03-02T10:04:11 INFO {to_line(RUNNING)}
2026-03-02 10:04:12.5: W tensorflow/core/framework/local_rendezvous.cc:404] Local rendezvous is aborting with \
status: OUT_OF_RANGE: End of sequence
2026-03-02T10:04:13 INFO {TAG} {{"v":1,"epoch":2,"epochs":3,"step":130,"ste
"""
"""A chief pod's log as `kubectl logs` shows it: C++ and absl lines, a stray progress bar with carriage returns,
human and JSON progress lines, and at the end a JSON line cut off by the tail (or a crash)."""


def test_a_written_line_reads_back_unchanged() -> None:
    line = to_line(RUNNING)
    assert line.startswith(f"{TAG} {{")
    assert "\n" not in line
    assert parse_line(f"2026-03-02T10:04:11 INFO {line}") == RUNNING
    assert json.loads(line.split(" ", 1)[1])["v"] == 1


def test_the_newest_complete_line_wins_in_a_log_full_of_tensorflow_noise() -> None:
    assert newest(TF_NOISY_LOG.splitlines()) == RUNNING


def test_a_log_without_progress_has_none() -> None:
    assert newest(["I0000 gpu_device.cc] Created device", "epoch 1/3 step 5/10 loss=1.0", ""]) is None


@pytest.mark.parametrize(
    "line",
    [
        f"{TAG} not json",
        f"{TAG} {{}}",
        f'{TAG} {{"epoch": 1, "epochs": 3, "step": "x", "steps": 10}}',
        f"{TAG} [1, 2]",
        'INFO {"epoch": 1, "epochs": 3, "step": 1, "steps": 10}',  # no tag: someone else's JSON
    ],
)
def test_anything_but_a_complete_object_under_the_tag_is_no_progress(line: str) -> None:
    assert parse_line(line) is None


def test_unknown_keys_are_ignored_and_optional_ones_may_be_missing() -> None:
    data = {"epoch": 1, "epochs": 2, "step": 3, "steps": 4, "future_key": [1], "metrics": {"acc": "high"}}
    assert from_dict(data) == Progress(epoch=1, epochs=2, step=3, steps=4)


def test_fraction_done() -> None:
    assert RUNNING.fraction == pytest.approx((187 + 120) / (3 * 187))
    assert Progress(epoch=1, epochs=1, step=0, steps=0).fraction == 0.0
