"""Time settings as kubectl takes them: plain seconds (`90`, `0.5`) or a duration with units (`90s`, `10m`, `2h`,
`1h30m`, `1d`). Every launcher setting about time accepts both; its name keeps saying the unit it stores."""

import re
from typing import Any

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_DURATION = re.compile(rf"^(?:(?:{_NUMBER})[dhms])+$")
_PART = re.compile(rf"({_NUMBER})([dhms])")
EXAMPLES = "e.g. 90, 90s, 10m, 2h, 1h30m"


def seconds(value: Any) -> float:
    """The number of seconds `value` (a number, or text as above) stands for; ValueError naming the forms."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration ({EXAMPLES})")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(_NUMBER, text):
        return float(text)
    if not _DURATION.match(text):
        raise ValueError(
            f"{value!r} is not a duration: seconds or a number with a unit s, m, h or d ({EXAMPLES})"
        )
    return sum(float(number) * UNITS[unit] for number, unit in _PART.findall(text))


def whole_seconds(value: Any) -> Any:
    """`seconds(value)` for a setting that holds whole seconds (`1.5s` is refused); None passes through."""
    if value is None:
        return None
    total = seconds(value)
    if total != int(total):
        raise ValueError(f"{value!r} is not a whole number of seconds")
    return int(total)


def optional_seconds(value: Any) -> Any:
    return None if value is None else seconds(value)


def describe(total: float) -> str:
    """`5400` as `1h30m`, `90` as `1m30s`, `0.5` as `0.5s`: the short form the launcher prints."""
    if total < 1:
        return f"{total:g}s"
    whole, text = round(total), ""
    for unit, size in UNITS.items():
        count, whole = divmod(whole, size)
        if count:
            text += f"{count}{unit}"
    return text or "0s"
