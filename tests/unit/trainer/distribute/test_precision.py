"""`--bf16 auto` decides from the device descriptions alone: bfloat16 exactly where the hardware runs it natively."""

import pytest

from trainer.distribute.plan import Facts, plan_training
from trainer.distribute.precision import Devices, native_bf16, resolve_precision
from trainer.settings.train import TrainSettings

SAPPHIRE_RAPIDS = frozenset({"sse4_2", "avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"})
COOPER_LAKE_OR_ZEN4 = frozenset({"avx2", "avx512f", "avx512_bf16"})
SKYLAKE = frozenset({"sse4_2", "avx2", "avx512f", "avx512bw"})
GRAVITON = frozenset({"fp", "asimd", "bf16", "i8mm"})


@pytest.mark.parametrize(
    ("devices", "native", "named"),
    [
        (Devices(cpu_flags=SAPPHIRE_RAPIDS), True, "amx_bf16 and avx512_bf16"),
        (Devices(cpu_flags=COOPER_LAKE_OR_ZEN4), True, "avx512_bf16"),
        (Devices(cpu_flags=SKYLAKE), False, "neither amx_bf16 nor avx512_bf16"),
        (Devices(cpu_flags=GRAVITON), False, "neither"),  # Arm's bf16 is not counted: not measured here
        (Devices(), False, "neither"),
        (Devices(gpu_compute_capabilities=((8, 0),)), True, "8.0 (Ampere or later)"),  # A100
        (Devices(gpu_compute_capabilities=((9, 0),) * 8), True, "9.0"),  # 8 x H100
        (Devices(gpu_compute_capabilities=((8, 9),)), True, "8.9"),  # L4, Ada
        (Devices(gpu_compute_capabilities=((7, 0),)), False, "7.0 has no bfloat16 tensor cores"),  # V100
        (Devices(gpu_compute_capabilities=((7, 5),)), False, "--fp16"),  # T4
        (Devices(gpu_compute_capabilities=((8, 0), (7, 5))), False, "7.5"),  # the oldest GPU decides
        (Devices(gpu_compute_capabilities=(None,)), False, "unknown"),
        # With GPUs the GPUs decide: an AMX host with a T4 trains on the T4.
        (Devices(gpu_compute_capabilities=((7, 5),), cpu_flags=SAPPHIRE_RAPIDS), False, "7.5"),
        (Devices(gpu_compute_capabilities=((8, 0),), cpu_flags=SKYLAKE), True, "8.0"),
    ],
)
def test_native_bf16_from_gpu_compute_capabilities_or_cpu_flags(
    devices: Devices, native: bool, named: str
) -> None:
    decided, reason = native_bf16(devices)
    assert decided is native
    assert named in reason


def test_auto_follows_the_hardware_true_and_false_are_taken_as_given_and_fp16_overrides_auto() -> None:
    amx, old_cpu = Devices(cpu_flags=SAPPHIRE_RAPIDS), Devices(cpu_flags=SKYLAKE)
    assert resolve_precision("auto", False, amx).policy == "mixed_bfloat16"
    assert resolve_precision("auto", False, old_cpu).policy is None
    assert resolve_precision("auto", False, old_cpu).name == "float32"
    assert resolve_precision(True, False, old_cpu).policy == "mixed_bfloat16"
    assert resolve_precision(False, False, amx).policy is None
    fp16 = resolve_precision("auto", True, amx)
    assert fp16.policy == "mixed_float16" and fp16.reason == "--fp16 (over --bf16 auto)"
    assert resolve_precision(False, True, amx).policy == "mixed_float16"
    assert resolve_precision("auto", False, amx).describe() == {
        "policy": "mixed_bfloat16",
        "reason": "--bf16 auto: the CPU has amx_bf16 and avx512_bf16: bfloat16 runs natively",
    }


def test_the_training_plan_carries_the_resolved_precision() -> None:
    settings = TrainSettings(model="m", train_data="s3://b/t.csv", output="s3://b/o")
    facts = {"replicas": 1, "gpus": False, "max_length": 128, "pad_token_id": 0, "rows": 64}
    assert plan_training(
        settings, Facts(**facts, devices=Devices(cpu_flags=SAPPHIRE_RAPIDS))
    ).precision.name == ("mixed_bfloat16")
    assert plan_training(settings, Facts(**facts)).precision.name == "float32"  # no device facts: float32
