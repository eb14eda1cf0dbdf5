"""The numeric precision a training run computes in: `--bf16 auto|true|false` and `--fp16` resolved against the
devices the run has. Pure: device descriptions in, a decision out (`host.cpu_flags` and
`strategy.gpu_compute_capabilities` gather them).

mixed_bfloat16 computes in bfloat16 and keeps the variables in float32. bfloat16 has float32's exponent range, so
it needs no loss scaling, and on SST-2 and MRPC it trained to the same accuracy within seed noise
(benchmarks/README.md). It is faster only where the hardware computes bfloat16 natively:

- NVIDIA GPUs of compute capability 8.0 or later (Ampere, Ada, Hopper, Blackwell): bfloat16 tensor cores. On
  paper here: no GPU was available to measure it;
- x86 CPUs with AMX-BF16 or AVX512-BF16 (Intel Cooper Lake and Sapphire Rapids on, AMD Zen 4 on): oneDNN's
  bfloat16 kernels. Measured on a 2-core Xeon with AMX.

Elsewhere bfloat16 is emulated and slower than float32, so `auto` keeps float32 there. With GPUs, the GPUs decide
(every one must qualify: replicas step together). `--fp16` (float16 with dynamic loss scaling, for V100 and T4)
overrides `auto`; `--bf16 true` with it is refused by the settings.
"""

from dataclasses import dataclass
from typing import Literal

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
"""The /proc/cpuinfo flags of x86 CPUs that compute bfloat16 natively (AMX tiles, AVX512 dot products)."""

AMPERE = (8, 0)
"""The first NVIDIA compute capability with bfloat16 tensor cores (A100)."""

MIXED_BFLOAT16 = "mixed_bfloat16"
MIXED_FLOAT16 = "mixed_float16"


@dataclass(frozen=True)
class Devices:
    """What decides `auto`: each visible GPU's compute capability (None: unknown) and the CPU's feature flags."""

    gpu_compute_capabilities: tuple[tuple[int, int] | None, ...] = ()
    cpu_flags: frozenset[str] = frozenset()


NO_DEVICE_FACTS = Devices()
"""No GPU, no CPU flag known: `auto` keeps float32."""


@dataclass(frozen=True)
class Precision:
    """The Keras mixed-precision policy a run trains with (None: float32) and why."""

    policy: str | None
    reason: str

    @property
    def name(self) -> str:
        return self.policy or "float32"

    def describe(self) -> dict[str, str]:
        """For the log and run.json."""
        return {"policy": self.name, "reason": self.reason}


FLOAT32 = Precision(None, "float32")


def _capability(value: tuple[int, int] | None) -> str:
    return "unknown" if value is None else f"{value[0]}.{value[1]}"


def native_bf16(devices: Devices) -> tuple[bool, str]:
    """Whether these devices compute bfloat16 natively, and a short reason naming what decided it."""
    capabilities = devices.gpu_compute_capabilities
    if capabilities:
        oldest = min(capabilities, key=lambda c: (-1, -1) if c is None else c)
        if oldest is not None and oldest >= AMPERE:
            return (
                True,
                f"GPU compute capability {_capability(oldest)} (Ampere or later) runs bfloat16 natively",
            )
        return False, (
            f"GPU compute capability {_capability(oldest)} has no bfloat16 tensor cores (8.0+, Ampere or later, "
            "do); --fp16 gives float16 with loss scaling"
        )
    found = [flag for flag in BF16_CPU_FLAGS if flag in devices.cpu_flags]
    if found:
        return True, f"the CPU has {' and '.join(found)}: bfloat16 runs natively"
    return False, f"the CPU has neither {' nor '.join(BF16_CPU_FLAGS)}: bfloat16 would be emulated, slower"


def resolve_precision(bf16: Literal["auto"] | bool, fp16: bool, devices: Devices) -> Precision:
    """The precision of a training run: `--fp16` wins over `auto`; `--bf16 true|false` is taken as given;
    `auto` is bfloat16 exactly where the devices run it natively (`native_bf16`)."""
    if fp16:
        return Precision(MIXED_FLOAT16, "--fp16" + (" (over --bf16 auto)" if bf16 == "auto" else ""))
    if bf16 is True:
        return Precision(MIXED_BFLOAT16, "--bf16 true")
    if bf16 is False:
        return Precision(None, "--bf16 false")
    native, why = native_bf16(devices)
    return Precision(MIXED_BFLOAT16 if native else None, f"--bf16 auto: {why}")
