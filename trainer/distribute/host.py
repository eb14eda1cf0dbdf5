"""What the container may use: its memory limit (the cgroup's, else the machine's), and what fits in it."""

import contextlib
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
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


IN_MEMORY_SHARE = 4
"""By default token ids are held in memory when they take at most 1/4 of the memory limit: the rest is for the
model, optimizer state, TensorFlow's copy of the ids and the input pipeline's buffers."""


def keep_in_memory(requested: bool | None, token_bytes: int, memory_limit: int | None) -> bool:
    """--keep-in-memory when given, else whether `token_bytes` of ids fit the memory limit's share (in memory
    when the limit is unknown)."""
    if requested is not None:
        return requested
    return memory_limit is None or token_bytes * IN_MEMORY_SHARE <= memory_limit
