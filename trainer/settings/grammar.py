"""One grammar for the settings of both CLIs (`trainer` and `launcher`): names, list values, config files.

Names: the setting `field_name` is the flag `--field-name`, the variable `<PREFIX>FIELD_NAME` (`TRAINER_`,
`LAUNCHER_`) and the config file key `field_name`. Precedence: flag > variable > config file > default.

Lists: a repeatable flag = a comma list in the variable = a YAML list in the config file. Each flag occurrence, the
variable and a config string take one or more items separated by commas; an item in double quotes is a JSON string
and may hold commas (`"a,b"`), and a JSON list adds its items (`["a,b", "c"]`), so `--labels a --labels b`,
`--labels a,b`, `TRAINER_LABELS=a,b`, `TRAINER_LABELS='["a", "b"]'` and `labels: [a, b]` are the same. KEY=VALUE
mappings take the same items; there a comma starts a new pair only before another `KEY=`, so a value may hold
commas (`NCCL_IB_HCA=mlx5_0,mlx5_1`), and a JSON object adds its pairs.

TF-free: the launcher imports it.
"""

import difflib
import json
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator
from pydantic_settings import NoDecode

_DECODER = json.JSONDecoder()
_PAIR_START = re.compile(r"\s*[^,=\s]+=")
"""A segment that starts a new KEY=VALUE pair."""


class SettingsFileError(ValueError):
    """The config file cannot be used; the message is one line naming the fix."""


def flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def env_var(prefix: str, field: str) -> str:
    return f"{prefix}{field.upper()}"


def nearest(name: str, candidates: Iterable[str]) -> str:
    """` (did you mean X?)` for the candidate nearest `name`, or nothing."""
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _segments(text: str) -> list[Any]:
    """The comma-separated items of `text`: plain text, or JSON values (a string, a list, an object)."""
    found: list[Any] = []
    position, end = 0, len(text)
    while position <= end:
        while position < end and text[position].isspace():
            position += 1
        if position < end and text[position] in '["{':
            try:
                value, position = _DECODER.raw_decode(text, position)
            except json.JSONDecodeError as e:
                raise ValueError(
                    f"{text[position:].strip()!r} is not valid JSON ({e.msg}); or write the flag's syntax"
                ) from e
            found.append(value)
            comma = text.find(",", position)
            rest = text[position : end if comma < 0 else comma]
            if rest.strip():
                raise ValueError(
                    f"{text!r}: a JSON value must be followed by a comma or the end, not {rest!r}"
                )
        else:
            comma = text.find(",", position)
            found.append(text[position : end if comma < 0 else comma].strip())
        if comma < 0:
            break
        position = comma + 1
    return found


def items(value: Any) -> Any:
    """A list setting's value as its items (`None`, lists and other non-text values are left to validation)."""
    if not isinstance(value, str):
        return value
    out: list[Any] = []
    for segment in _segments(value):
        if isinstance(segment, list):
            out.extend(segment)
        elif segment != "":
            out.append(segment)
    return out


def key_values(value: Any) -> Any:
    """A KEY=VALUE setting's value as a mapping (a mapping is left as it is)."""
    if not isinstance(value, str | list | tuple):
        return value
    pairs: dict[str, Any] = {}
    last: str | None = None
    segments = _segments(value) if isinstance(value, str) else list(value)
    for segment in segments:
        if isinstance(segment, dict):
            pairs.update(segment)
            last = None
            continue
        text = str(segment)
        if last is not None and isinstance(value, str) and not _PAIR_START.match(text):
            pairs[last] += "," + text  # a comma inside a value: no KEY= follows it
            continue
        key, sep, val = text.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{text!r} is not KEY=VALUE")
        last = key.strip()
        pairs[last] = val
    return pairs


StrList = Annotated[list[str], NoDecode, BeforeValidator(items)]
OptionalStrList = Annotated[list[str] | None, NoDecode, BeforeValidator(items)]
OptionalIntList = Annotated[list[int] | None, NoDecode, BeforeValidator(items)]
"""List settings whose flag, variable and config value follow `items` (NoDecode: pydantic-settings hands the text
over, repeated flags joined by commas, instead of decoding it as JSON; it finds the marker only outside a union,
hence the optional variants)."""


def read_config_file(path: Path, known: Collection[str]) -> dict[str, Any]:
    """The YAML config file as a mapping of setting names to values.

    Raises:
        SettingsFileError: missing, not YAML, not a mapping, or a key that names no setting (nearest suggested).
    """
    if not path.is_file():
        raise SettingsFileError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise SettingsFileError(f"config file {path} is not valid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict):
        raise SettingsFileError(f"config file {path} must be a mapping of setting names to values")
    unknown = sorted(set(map(str, data)) - set(known))
    if unknown:
        raise SettingsFileError(
            f"config file {path}: unknown setting {unknown[0]!r}{nearest(unknown[0], known)}"
        )
    return data


def unknown_variable(environ: Mapping[str, str], prefix: str, known: Collection[str]) -> str | None:
    """One line for the first `<PREFIX>*` variable that names no setting (a typo would be silently ignored)."""
    for name in sorted(environ):
        if name.upper().startswith(prefix) and name.upper() not in known:
            return f"unknown environment variable {name}{nearest(name.upper(), known)}; unset it"
    return None
