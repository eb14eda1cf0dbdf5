"""A sweep's trials: the values of each swept trainer flag, a grid or a seeded random sample of it, and each
trial's name, trainer arguments and output. Pure: the same sweep always plans the same trials.

`--params learning-rate=1e-5,3e-5,5e-5 --params epochs=2,3` sweeps two trainer flags: the grid is every
combination (6 trials), in the order given; `--trials 4 --seed 7` draws 4 of them at random, the same 4 for the
same seed. A trial is named from the sweep and a digest of its parameters (`lr-sweep-3f9a1c`), so re-running the
sweep finds its trials again whatever was added to the grid, and writes under `<output>/<trial>/`.
"""

import hashlib
import itertools
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from launcher import names, trainer_command
from launcher.errors import UsageError
from trainer.contract import container

DIGEST_LENGTH = 6
"""Hex digits of a trial's name that come from its parameters (16**6 = 16.7 million per sweep)."""
RESERVED_FLAGS = ("output", "train-data", "eval-data")
"""Flags a sweep does not vary: each trial's --output is the sweep's plus the trial name, and trials are compared
on the same data."""


@dataclass(frozen=True)
class Trial:
    name: str
    params: dict[str, str]
    """Trainer flag (without `--`) to value, in the order of `--params`."""
    trainer_args: list[str]
    output: str


def parse_params(given: Mapping[str, str]) -> dict[str, list[str]]:
    """`{"learning-rate": "1e-5,3e-5", "epochs": "2"}` (what `--params learning-rate=1e-5,3e-5 --params epochs=2`
    gives) as `{"learning-rate": ["1e-5", "3e-5"], "epochs": ["2"]}`."""
    params: dict[str, list[str]] = {}
    for name, values in given.items():
        flag = name.strip().removeprefix("--")
        choices = [v.strip() for v in str(values).split(",") if v.strip()]
        if not flag or not choices:
            raise UsageError(
                f"--params {name}={values} is not FLAG=VALUE[,VALUE...] (e.g. learning-rate=1e-5,3e-5)"
            )
        if flag == "output":
            raise UsageError("--params output cannot be swept: each trial writes under <--output>/<trial>/")
        if flag in RESERVED_FLAGS:
            raise UsageError(f"--params {flag} cannot be swept: the trials are compared on the same data")
        if len(set(choices)) != len(choices):
            raise UsageError(f"--params {flag} lists a value twice: {','.join(choices)}")
        params[flag] = choices
    if not params:
        raise UsageError(
            "a sweep needs --params FLAG=VALUE[,VALUE...] (e.g. --params learning-rate=1e-5,3e-5)"
        )
    return params


def combinations(params: Mapping[str, Sequence[str]], trials: int | None, seed: int) -> list[dict[str, str]]:
    """The grid, or `trials` combinations of it drawn at random (without repeats) with `seed`, in grid order."""
    grid = [dict(zip(params, values, strict=True)) for values in itertools.product(*params.values())]
    if trials is None:
        return grid
    if trials > len(grid):
        raise UsageError(f"--trials {trials} is more than the {len(grid)} combinations of --params: lower it")
    picked = sorted(random.Random(seed).sample(range(len(grid)), trials))
    return [grid[i] for i in picked]


def trial_name(sweep: str, params: Mapping[str, str]) -> str:
    """`<sweep>-<digest of the parameters>`: the same parameters always give the same name."""
    text = json.dumps(sorted(params.items()), separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]
    name = f"{sweep}-{digest}"
    try:
        return names.validate(name)
    except ValueError as e:
        raise UsageError(f"--name {sweep!r} is too long for a sweep: its trials are named {name}") from e


def _without(trainer_args: Sequence[str], flags: Sequence[str]) -> list[str]:
    """The arguments without `--flag value` / `--flag=value` of any of `flags` (a trial sets its own)."""
    drop = {f"--{f}" for f in flags}
    out: list[str] = []
    skip = False
    for arg in trainer_args:
        if skip:
            skip = False
        elif arg in drop:
            skip = True
        elif arg.split("=", 1)[0] not in drop:
            out.append(arg)
    return out


def plan(
    sweep: str,
    params: Mapping[str, Sequence[str]],
    trainer_args: Sequence[str],
    trials: int | None = None,
    seed: int = 0,
) -> list[Trial]:
    """Every trial of the sweep: its trainer arguments are the sweep's with its parameters set and `--output`
    `<output>/<trial>`."""
    output = trainer_command.check(trainer_args)
    verb, _ = trainer_command.split_verb(trainer_args)
    if verb != container.DEFAULT_VERB:
        raise UsageError(f"a sweep runs `train`, not `{verb}`: start the trainer arguments with its flags")
    base = _without(trainer_args, [*params, "output"])
    found = []
    for combination in combinations(params, trials, seed):
        name = trial_name(sweep, combination)
        trial_output = f"{output.rstrip('/')}/{name}"
        args = [*base, *(w for flag, value in combination.items() for w in (f"--{flag}", value))]
        found.append(Trial(name, combination, [*args, container.OUTPUT_FLAG, trial_output], trial_output))
    return found
