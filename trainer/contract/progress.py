"""The trainer's machine-readable progress line, and its parser: a contract between the trainer and the launcher.

At the cadence of its human progress line (every `--log-every-steps` steps and at each epoch's last step) the
trainer also logs one line `progress-json {...}`: a JSON object with the keys of `Progress`. `launcher status`
reads the newest one from the tail of the chief pod's log. Logging may put a timestamp and level before the tag,
and the container log holds TensorFlow's own output too, so the parser looks for the tag anywhere in a line and
skips everything that is not a complete object. Keys are only ever added: a reader ignores keys it does not know.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

TAG = "progress-json"
"""The word before the JSON object; nothing else the trainer logs contains it."""

VERSION = 1
"""Bumped only if a key changes meaning (never for an added key)."""


@dataclass(frozen=True)
class Progress:
    """Where a training run is: 1-based epoch of `epochs`, step of the epoch's `steps`, the latest training loss
    and other metrics, throughput in examples per second, estimated seconds to the end of training, and the
    number of GPUs the run trains on (0 on CPU)."""

    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    examples_per_second: float | None = None
    eta_seconds: float | None = None
    gpus: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"v": VERSION, **asdict(self)}

    @property
    def fraction(self) -> float:
        """How much of the training is done, 0 to 1."""
        total = self.epochs * self.steps
        return min(1.0, ((self.epoch - 1) * self.steps + self.step) / total) if total > 0 else 0.0


def to_line(progress: Progress) -> str:
    """The log message: the tag, then the object on one line."""
    return f"{TAG} {json.dumps(progress.as_dict(), separators=(',', ':'))}"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def from_dict(data: Mapping[str, Any]) -> Progress | None:
    """A `Progress` from a decoded object, or None when a required key is missing or has the wrong type."""
    try:
        counts = {key: int(data[key]) for key in ("epoch", "epochs", "step", "steps")}
    except (KeyError, TypeError, ValueError):
        return None
    metrics = data.get("metrics")
    return Progress(
        **counts,
        loss=_number(data.get("loss")),
        metrics={k: float(v) for k, v in metrics.items() if _number(v) is not None}
        if isinstance(metrics, dict)
        else {},
        examples_per_second=_number(data.get("examples_per_second")),
        eta_seconds=_number(data.get("eta_seconds")),
        gpus=int(_number(data.get("gpus")) or 0),
    )


def parse_line(line: str) -> Progress | None:
    """The progress in one log line, or None if the line holds none (or only a cut-off one)."""
    at = line.rfind(TAG + " {")
    if at < 0:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(line, at + len(TAG) + 1)
    except ValueError:
        return None
    return from_dict(data) if isinstance(data, dict) else None


def newest(lines: Iterable[str]) -> Progress | None:
    """The last progress line among `lines` (a log's text split into lines), or None."""
    found = None
    for line in lines:
        found = parse_line(line) or found
    return found
