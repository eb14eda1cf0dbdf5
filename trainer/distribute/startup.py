"""Load TensorFlow so that a run's first lines are the trainer's own.

Measured with TensorFlow 2.21 on a node without GPUs, `import tensorflow` and the first device listing write to
file descriptor 2, before anything the trainer logs:

- absl's notice "All log messages before absl::InitializeLog() is called are written to STDERR", twice: two of
  TensorFlow's shared libraries (libtensorflow_framework.so.2 and _pywrap_profiler_plugin.so) each carry their
  own copy of absl, and nothing in TensorFlow initializes it;
- INFO lines from those libraries' static initializers (oneDNN, "Could not find cuda drivers"), twice; absl
  writes pre-initialization lines whatever TF_CPP_MIN_LOG_LEVEL says;
- `E... cuda_platform.cc] failed call to cuInit: ... (303)`: without a driver, TensorFlow's CUDA stub fails
  cuInit, and hiding the GPUs (CUDA_VISIBLE_DEVICES) does not prevent the call.

So the entry point hides the GPUs when the node has no GPU device files (and says so in one line), and passes
what TensorFlow writes while it loads through `keep_line`: the notice goes, absl lines below TF_CPP_MIN_LOG_LEVEL
go (as they would once absl is initialized), the cuInit failure goes only when there is no GPU to find. Every
other line (warnings, errors, Python's own output) is forwarded as it arrives.
"""

import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path

log = logging.getLogger("trainer")

CUDA_VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"
GPU_DEVICE_PATTERNS = ("nvidia*", "dxg")
"""Device files a GPU shows up as in a container: NVIDIA's (`/dev/nvidia0`, `/dev/nvidiactl`, ... injected by the
NVIDIA container toolkit) and WSL2's `/dev/dxg`."""

ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
ABSL_LINE = re.compile(r"^(?P<severity>[IWEF])\d{4} [\d:.]+\s+\d+ (?P<file>[^:\]\s]+):\d+\] (?P<text>.*)")
"""absl's prefix: severity letter, mmdd, time, thread id, file:line]."""
SEVERITY_LEVELS = {"I": 0, "W": 1, "E": 2, "F": 3}
CUINIT_FAILURE = ("cuda_platform.cc", "failed call to cuInit")
FORWARD_JOIN_SECONDS = 5.0


def gpu_device_files(dev: Path = Path("/dev")) -> list[Path]:
    return sorted(path for pattern in GPU_DEVICE_PATTERNS for path in dev.glob(pattern))


def hide_absent_gpus(environ: MutableMapping[str, str], dev: Path = Path("/dev")) -> bool:
    """Set CUDA_VISIBLE_DEVICES="" when no GPU device file exists and the user has not chosen; True if it did."""
    if CUDA_VISIBLE_DEVICES in environ or gpu_device_files(dev):
        return False
    environ[CUDA_VISIBLE_DEVICES] = ""
    return True


def min_log_level(environ: MutableMapping[str, str]) -> int:
    """TF_CPP_MIN_LOG_LEVEL as TensorFlow reads it (0 when unset or not a number)."""
    value = environ.get("TF_CPP_MIN_LOG_LEVEL", "0").strip()
    return int(value) if value.isdigit() else 0


def keep_line(line: str, *, min_level: int, gpus_hidden: bool) -> bool:
    """Whether a line TensorFlow wrote while loading reaches the user (module docstring)."""
    if line.rstrip("\r\n") == ABSL_NOTICE:
        return False
    match = ABSL_LINE.match(line)
    if not match:
        return True
    severity = SEVERITY_LEVELS[match["severity"]]
    if severity == SEVERITY_LEVELS["F"]:
        return True
    if severity < min_level:
        return False
    cuinit_failure = (match["file"], match["text"][: len(CUINIT_FAILURE[1])]) == CUINIT_FAILURE
    return not (gpus_hidden and cuinit_failure)


def _forward(read_end: int, out: int, keep: Callable[[str], bool]) -> None:
    with os.fdopen(read_end, "rb") as pipe:
        for raw in pipe:
            if keep(raw.decode(errors="replace")):
                os.write(out, raw)


@contextmanager
def filtered_stderr(keep: Callable[[str], bool]) -> Iterator[None]:
    """Route file descriptor 2 (where native libraries write) through `keep`, line by line, while the block runs."""
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    forwarder = threading.Thread(target=_forward, args=(read_end, saved, keep), daemon=True)
    forwarder.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # drops the pipe's last write end: the forwarder reads to the end and stops
        forwarder.join(FORWARD_JOIN_SECONDS)
        if not forwarder.is_alive():
            os.close(saved)


def load_tensorflow(environ: MutableMapping[str, str] = os.environ, dev: Path = Path("/dev")) -> None:
    """Hide absent GPUs, then import TensorFlow and list its devices with the start-up noise filtered out."""
    hidden = hide_absent_gpus(environ, dev)
    if hidden:
        log.info("no GPU device files (/dev/nvidia*) on this node: GPUs hidden, running on CPU")
    keep = partial(keep_line, min_level=min_log_level(environ), gpus_hidden=hidden)
    with filtered_stderr(keep):
        import tensorflow as tf

        tf.config.list_physical_devices()
