"""What every verb's settings share: how flags and `TRAINER_*` variables are read, and the output options whose
help differs only in what is published."""

from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from trainer.contract.container import SETTINGS_ENV_PREFIX


def output_field(published: str) -> Any:
    """--output of a verb that publishes `published` ("artifacts", "results")."""
    return Field(
        description=f"Where the {published} are published: an s3:// prefix or a local folder. `_SUCCESS` is "
        "written last."
    )


def overwrite_field(again: str, completed: str) -> Any:
    """--overwrite: `again` ("Train and publish again") even over `completed` ("a completed run")."""
    return Field(
        default=False, description=f"{again} even if the output already holds {completed} (_SUCCESS)."
    )


def settings_config(prog: str) -> SettingsConfigDict:
    """What every verb's settings share: kebab-case flags, `TRAINER_<NAME>` variables, `--flag/--no-flag`."""
    return SettingsConfigDict(
        env_prefix=SETTINGS_ENV_PREFIX,
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_prog_name=prog,
        cli_hide_none_type=True,
        protected_namespaces=(),
        extra="ignore",
    )
