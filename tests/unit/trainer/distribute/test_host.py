"""The host facts the plan uses: the CPU's feature flags as Linux lists them."""

from pathlib import Path

from trainer.distribute.host import cpu_flags

X86 = """processor\t: 0
vendor_id\t: GenuineIntel
flags\t\t: fpu sse4_2 avx512f avx512_bf16 amx_bf16 amx_tile
bogomips\t: 4200.00

processor\t: 1
flags\t\t: fpu sse4_2 avx512f avx512_bf16 amx_bf16 amx_tile
"""
ARM = "processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\nCPU implementer\t: 0x41\n"


def test_cpu_flags_from_x86_and_arm_cpuinfo(tmp_path: Path) -> None:
    (tmp_path / "x86").write_text(X86)
    (tmp_path / "arm").write_text(ARM)
    assert cpu_flags(tmp_path / "x86") == {"fpu", "sse4_2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}
    assert "bf16" in cpu_flags(tmp_path / "arm")
    assert cpu_flags(tmp_path / "missing") == frozenset()
