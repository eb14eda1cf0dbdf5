"""The trainer command line a Job runs: its verb, its flags, where it publishes, and whether it would parse.

The check uses the trainer's own settings models (TF-free), with the arguments after `--` and the `TRAINER_*`
variables the pod will get from `--env`/the config file, never the launcher's own environment. Variables the pod
gets from a Secret are unknown here, so their fields are not checked. `--no-validate` skips the check when the
image's trainer is newer than this launcher.
"""

from collections.abc import Collection, Mapping, Sequence

from launcher.errors import UsageError
from trainer.contract import container
from trainer.settings.parse import InvalidSettings, check_settings

TRAINER_OUTPUT_ENV = f"{container.SETTINGS_ENV_PREFIX}OUTPUT"


def output_uri(trainer_args: Sequence[str], env: Mapping[str, str] | None = None) -> str | None:
    """The value of the trainer's `--output` in its arguments (or `TRAINER_OUTPUT` in `env`), if any."""
    for i, arg in enumerate(trainer_args):
        if arg == container.OUTPUT_FLAG and i + 1 < len(trainer_args):
            return trainer_args[i + 1]
        if arg.startswith(container.OUTPUT_FLAG + "="):
            return arg.split("=", 1)[1]
    return (env or {}).get(TRAINER_OUTPUT_ENV)


def split_verb(trainer_args: Sequence[str]) -> tuple[str, list[str]]:
    """The trainer verb and its flags: a first argument naming a verb selects it, else `train`."""
    if trainer_args and trainer_args[0] in container.VERBS:
        return trainer_args[0], list(trainer_args[1:])
    return container.DEFAULT_VERB, list(trainer_args)


def check(trainer_args: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """Return the artifact URI; UsageError if the trainer arguments cannot work."""
    if trainer_args and trainer_args[0] == container.TRAINER_EXECUTABLE:
        raise UsageError(
            f"trainer arguments start with {trainer_args[0]!r}: pass only the verb and flags after `--` "
            f"(the Job runs `{container.TRAINER_EXECUTABLE}` itself)"
        )
    if trainer_args and not trainer_args[0].startswith("-") and trainer_args[0] not in container.VERBS:
        raise UsageError(
            f"unknown trainer verb {trainer_args[0]!r}: start the trainer arguments with one of "
            f"{', '.join(container.VERBS)} (default {container.DEFAULT_VERB}) or with a flag"
        )
    uri = output_uri(trainer_args, env)
    if not uri:
        raise UsageError(
            f"trainer arguments need {container.OUTPUT_FLAG} URI (where the artifacts go), "
            f"e.g. `-- --model bert-base-cased ... {container.OUTPUT_FLAG} s3://bucket/runs/reviews-42`"
        )
    return uri


def validate(trainer_args: Sequence[str], env: Mapping[str, str], from_secrets: Collection[str] = ()) -> None:
    """UsageError with the trainer's own one-line message if the pod's `trainer` would refuse these arguments.

    `env` is the pod's plain environment (only `TRAINER_*` names matter); `from_secrets` the names it gets from
    Secrets, whose values are not known here.
    """
    verb, flags = split_verb(trainer_args)
    trainer_env = {k: v for k, v in env.items() if k.startswith(container.SETTINGS_ENV_PREFIX)}
    try:
        check_settings(verb, flags, trainer_env, unknown=from_secrets)
    except InvalidSettings as e:
        raise UsageError(f"trainer {verb}: {e} (--no-validate skips this check)") from e
