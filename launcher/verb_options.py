"""The options of single verbs (`--wait`, `--timeout`, `-o json`, ...): settings like the others, so each is also a
`LAUNCHER_*` variable and a config file key, in the grammar both CLIs share.

`SETTING_NAMES` is every launcher setting, the names one environment and one config file may hold for any verb.
"""

from typing import Literal

from pydantic import Field
from pydantic_settings import CliSuppress, CliToggleFlag

from launcher import settings
from launcher.settings import SettingsBase

OutputFormat = Literal["text", "json"]


class ValidateOptions(SettingsBase):
    no_validate: CliToggleFlag[bool] = Field(
        False,
        description="do not check the trainer arguments with this launcher's trainer settings (an image with a "
        "newer trainer)",
    )


class WaitOptions(SettingsBase):
    timeout: float | None = Field(
        None, gt=0, description="give up waiting after this many seconds (also for --replace)"
    )
    poll_interval: CliSuppress[float | None] = Field(None, gt=0, description="seconds between status polls")


class RenderOptions(ValidateOptions):
    """What only `render` takes."""


class SubmitOptions(WaitOptions, ValidateOptions):
    dry_run: Literal["none", "client", "server"] = Field(
        "none",
        description="client (what a bare --dry-run means): print only; server: validate with the API server",
    )
    replace: bool = Field(False, description="delete an existing Job of the same name first")
    wait: bool = Field(False, description="follow the Job; exit 0 on success, 8 on failure")


class StatusOptions(SettingsBase):
    output: OutputFormat = Field("text", description="text or json")


class LogsOptions(WaitOptions):
    follow: bool = Field(False, description="stream the newest pod's log until it ends")
    previous: bool = Field(False, description="the previous container after a restart")


class ListOptions(StatusOptions):
    all_namespaces: bool = Field(False, description="every namespace (needs the ClusterRole for it)")


SETTING_NAMES = sorted(
    set(settings.SETTING_NAMES).union(
        *(cls.model_fields for cls in (RenderOptions, SubmitOptions, StatusOptions, LogsOptions, ListOptions))
    )
)
