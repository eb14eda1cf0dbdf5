"""Every launcher time setting takes plain seconds or a duration with units, as kubectl does."""

import pytest

from launcher import durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("0.5", 0.5),
        ("90s", 90),
        ("10m", 600),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1d", 86400),
        (45, 45),
    ],
)
def test_seconds_and_durations(text: str | int, seconds: float) -> None:
    assert durations.seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "10x", "h", "1h-5m", "-5", "ten", "1 h"])
def test_anything_else_names_the_forms(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        durations.seconds(text)


def test_whole_seconds() -> None:
    assert durations.whole_seconds("2m") == 120 and durations.whole_seconds(None) is None
    with pytest.raises(ValueError, match="not a whole number of seconds"):
        durations.whole_seconds("1.5")


@pytest.mark.parametrize(("seconds", "text"), [(5400, "1h30m"), (90, "1m30s"), (0.5, "0.5s"), (86400, "1d")])
def test_the_short_form_printed_back(seconds: float, text: str) -> None:
    assert durations.describe(seconds) == text
