"""A run's first lines are the trainer's own: absent GPUs hidden and said so, TensorFlow's start-up noise filtered,
real warnings and errors kept."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from trainer.contract.exit_codes import ExitCode
from trainer.distribute import startup

TRAINER_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d (INFO|WARNING|ERROR) ")


def absl(severity: str, where: str, text: str) -> str:
    return f"{severity}0000 00:00:1796038461.547312    2471 {where}] {text}\n"


ONEDNN = absl("I", "port.cc:153", "oneDNN custom operations are on.")
CUINIT = absl("E", "cuda_platform.cc:52", "failed call to cuInit: INTERNAL: CUDA error: UNKNOWN ERROR (303)")


def test_gpus_are_hidden_only_without_device_files_and_without_a_user_choice(tmp_path: Path) -> None:
    environ: dict[str, str] = {}
    assert startup.hide_absent_gpus(environ, tmp_path) is True
    assert environ == {"CUDA_VISIBLE_DEVICES": ""}
    chosen = {"CUDA_VISIBLE_DEVICES": "1"}
    assert startup.hide_absent_gpus(chosen, tmp_path) is False and chosen == {"CUDA_VISIBLE_DEVICES": "1"}
    (tmp_path / "nvidiactl").touch()
    (tmp_path / "nvidia0").touch()
    environ = {}
    assert startup.hide_absent_gpus(environ, tmp_path) is False and environ == {}
    assert startup.gpu_device_files(tmp_path) == [tmp_path / "nvidia0", tmp_path / "nvidiactl"]


@pytest.mark.parametrize(
    ("line", "min_level", "gpus_hidden", "kept"),
    [
        (startup.ABSL_NOTICE + "\n", 0, False, False),
        (ONEDNN, 0, False, True),
        (ONEDNN, 1, False, False),
        (absl("W", "gpu_device.cc:2342", "Cannot dlopen some GPU libraries."), 1, True, True),
        (absl("W", "gpu_device.cc:2342", "Cannot dlopen some GPU libraries."), 2, True, False),
        (CUINIT, 1, True, False),
        (CUINIT, 1, False, True),
        (absl("E", "cuda_platform.cc:60", "something else went wrong"), 1, True, True),
        (absl("F", "port.cc:10", "fatal"), 3, True, True),
        ("Traceback (most recent call last):\n", 3, True, True),
        ("/x.py:1: UserWarning: careful\n", 2, True, True),
    ],
)
def test_which_start_up_lines_reach_the_user(
    line: str, min_level: int, gpus_hidden: bool, kept: bool
) -> None:
    assert startup.keep_line(line, min_level=min_level, gpus_hidden=gpus_hidden) is kept


def test_the_filter_sits_on_file_descriptor_2_and_keeps_order(capfd: pytest.CaptureFixture[str]) -> None:
    with startup.filtered_stderr(lambda line: "drop" not in line):
        os.write(2, b"first\ndrop me\n")
        os.write(2, b"second\n")
        os.write(2, b"third without newline")
    os.write(2, b"\nafter\n")
    assert capfd.readouterr().err == "first\nsecond\nthird without newline\nafter\n"


def test_min_log_level_reads_tf_cpp_min_log_level() -> None:
    assert startup.min_log_level({}) == 0
    assert startup.min_log_level({"TF_CPP_MIN_LOG_LEVEL": "2"}) == 2
    assert startup.min_log_level({"TF_CPP_MIN_LOG_LEVEL": "loud"}) == 0


@pytest.mark.slow
@pytest.mark.skipif(bool(startup.gpu_device_files()), reason="this machine has GPU device files")
def test_a_verb_on_cpu_starts_with_the_trainer_s_own_lines(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "1"  # the image's setting: warnings stay visible
    missing = tmp_path / "no-model"
    data = tmp_path / "x.csv"  # the data is located first: it must exist for the model to be looked for
    data.write_text("text,label\n")
    command = [sys.executable, "-m", "trainer", "train", "--model", str(missing), "--train-data", str(data)]
    result = subprocess.run(
        [*command, "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    lines = result.stderr.splitlines()
    assert all(TRAINER_LINE.match(line) for line in lines[:-1]), lines[:5]  # no TensorFlow or CUDA noise
    assert any("GPUs hidden" in line for line in lines[:-1]), lines[:5]
    assert "absl::InitializeLog" not in result.stderr and "cuInit" not in result.stderr
    assert lines[-1] == f"trainer: error: model folder {missing} does not exist: fix --model"
    assert result.returncode == ExitCode.NOT_FOUND
