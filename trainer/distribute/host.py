"""What the container may use: its memory limit (the cgroup's, else the machine's) and what its CPU can compute
(its feature flags). What fits in the memory is the plan's choice (`plan.keep_in_memory`); what the flags allow,
`precision.native_bf16`'s."""

import contextlib
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPUINFO = Path("/proc/cpuinfo")
CGROUP_V2_LIMIT = "memory.max"
"""cgroup v2 (Kubernetes 1.25+ nodes by default): the pod's resources.limits.memory, or "max" without one."""
CGROUP_V1_LIMIT = "memory/memory.limit_in_bytes"
"""cgroup v1: the same limit; without one, a number near 2**63."""


def memory_limit_bytes(cgroup_root: Path = CGROUP_ROOT) -> int | None:
    """The smaller of the container's memory limit and the machine's memory; None when neither is readable."""
    limits: list[int] = []
    for name in (CGROUP_V2_LIMIT, CGROUP_V1_LIMIT):
        try:
            text = (cgroup_root / name).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limits.append(int(text))
        break
    with contextlib.suppress(OSError, ValueError, AttributeError):
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return min(limits) if limits else None


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The CPU's feature flags (x86 `flags`, Arm `Features`) as Linux lists them; empty where unreadable."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()
