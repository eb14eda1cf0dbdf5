"""What went wrong with a run, said as its fix: an out-of-memory pod is not a generic failure.

Two kinds of "out of memory" look alike from afar and have different fixes:

- the kernel killed the container at its memory limit (`OOMKilled`, exit 137): the host memory (tokenized data,
  tf.data buffers, the model on CPU) needs more `--memory`, or a smaller batch uses less;
- the trainer ran out of GPU memory: TensorFlow's ResourceExhaustedError, which the trainer turns into exit 2 and
  a line naming the smaller batch or length that fits (`trainer.training.loop`).

Pure: it reads `PodSummary` values.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from launcher import quantities
from launcher.status import PodSummary
from trainer.contract.exit_codes import ExitCode

OOM_KILLED = "OOMKilled"
SIGKILL_EXIT = 128 + 9
TRAINER_OOM_TEXT = "out of memory"
"""How the trainer's own message starts when the accelerator ran out of memory."""


@dataclass(frozen=True)
class Diagnosis:
    problem: str
    fix: str

    def line(self) -> str:
        return f"{self.problem}: {self.fix}"


def _doubled(memory: str) -> str:
    """A memory quantity twice as big, in Gi (what to try next)."""
    gib = quantities.parse(memory) / 2**30
    return f"{int(gib * 2) if gib * 2 == int(gib * 2) else round(float(gib * 2), 1)}Gi"


def out_of_memory(pod: PodSummary) -> Diagnosis | None:
    """The diagnosis of one pod's end, if it ran out of memory."""
    if pod.reason == OOM_KILLED:
        limit = f" at its {pod.memory_limit} limit" if pod.memory_limit else ""
        bigger = f" (e.g. --memory {_doubled(pod.memory_limit)})" if pod.memory_limit else ""
        return Diagnosis(
            f"out of memory: pod {pod.name} was OOMKilled{limit}",
            f"raise --memory{bigger} or lower the trainer's --per-replica-batch-size",
        )
    if pod.exit_code == ExitCode.USAGE and TRAINER_OOM_TEXT in (pod.message or ""):
        return Diagnosis(
            f"out of GPU memory in pod {pod.name}",
            "lower the trainer's --per-replica-batch-size or --max-length (more --memory does not help)",
        )
    return None


def diagnose(pods: Sequence[PodSummary]) -> Diagnosis | None:
    """The newest pod's out-of-memory end among `pods` (oldest first), else None."""
    for pod in reversed(pods):
        found = out_of_memory(pod)
        if found is not None:
            return found
    return None
