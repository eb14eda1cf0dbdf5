"""Start-up is measured from process start, so interpreter start-up and imports count too."""

import subprocess
import sys

from trainer.outputs.timing import Timeline


def test_marks_count_from_process_start_not_from_import() -> None:
    code = "import time; time.sleep(0.6); from trainer.outputs.timing import Timeline; print(Timeline().mark('ready'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert 0.6 <= float(out) < 5.0


def test_a_phase_keeps_its_first_mark() -> None:
    timeline = Timeline(started_at=0.0)
    first = timeline.mark("first_step")
    timeline.mark("first_step")
    assert timeline.as_dict() == {"first_step": first} and first > 1e9  # seconds since the given start
