"""What every verb's settings share: how flags, `TRAINER_*` variables and the config file are read, and the
output options whose help differs only in what is published."""

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from trainer.contract.container import SETTINGS_ENV_PREFIX

CONFIG_FIELD = "config"
CONFIG_ENV = f"{SETTINGS_ENV_PREFIX}CONFIG"


class ConfigFileArguments(BaseModel):
    config: Path | None = Field(
        default=None,
        description="YAML file of settings: each key a setting's name in snake_case (max_length: 256, "
        "labels: [neg, pos]); flags and TRAINER_* variables win over it. Also TRAINER_CONFIG.",
    )


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
