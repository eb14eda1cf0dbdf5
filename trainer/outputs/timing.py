"""Where a run's wall time goes: seconds from process start to each phase's end, for metrics.json and the log;
and the UTC timestamps the records carry.

Process start is read from the kernel (/proc), so interpreter start-up and imports are counted; elsewhere it
falls back to when this module was imported.
"""

import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

_IMPORTED_AT = time.time()

log = logging.getLogger(__name__)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def process_started_at() -> float:
    """The wall-clock time this process started (Linux: from /proc; else when this module was imported)."""
    try:
        stat = Path("/proc/self/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime: clock ticks after boot
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return _IMPORTED_AT
    return min(time.time() - age, _IMPORTED_AT)


class Timeline:
    """Phase marks in seconds since process start: `mark("data")` when the data is ready, and so on."""

    def __init__(self, started_at: float | None = None) -> None:
        self.started_at = process_started_at() if started_at is None else started_at
        self.marks: dict[str, float] = {}

    def mark(self, phase: str) -> float:
        seconds = round(time.time() - self.started_at, 3)
        self.marks.setdefault(phase, seconds)
        return seconds

    def as_dict(self) -> dict[str, float]:
        return dict(self.marks)

    def log_first_step(self) -> None:
        seconds = self.mark("first_step")
        phases = " ".join(f"{name}={at:.1f}s" for name, at in self.marks.items())
        log.info("first training step began %.1fs after process start (%s)", seconds, phases)
