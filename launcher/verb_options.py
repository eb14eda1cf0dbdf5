"""The options of single verbs (`--wait`, `--timeout`, `-o json`, ...): settings like the others, so each is also a
`LAUNCHER_*` variable and a config file key, in the grammar both CLIs share.

`-o` is `--output-format` (kubectl's `-o`, named so that neither it nor its variable `LAUNCHER_OUTPUT_FORMAT`
and config key `output_format` can be taken for the trainer's `--output`). Every time option takes seconds or a
duration (`90s`, `10m`, `2h`: `launcher.durations`).

`SETTING_NAMES` is every launcher setting, the names one environment and one config file may hold for any verb.
"""

from typing import Literal

from pydantic import Field
from pydantic_settings import CliSuppress, CliToggleFlag

from launcher import settings
from launcher.setting_types import Endpoint, KeyValues, Seconds
from launcher.settings import SettingsBase

StatusFormat = Literal["text", "wide", "json", "yaml"]


class ValidateOptions(SettingsBase):
    no_validate: CliToggleFlag[bool] = Field(
        False,
        description="do not check the trainer arguments with this launcher's trainer settings (an image with a "
        "newer trainer)",
    )


class WaitOptions(SettingsBase):
    timeout: Seconds | None = Field(
        None, gt=0, description="give up waiting after this long, e.g. 90, 90s, 10m, 2h (also for --replace)"
    )
    poll_interval: CliSuppress[Seconds | None] = Field(None, gt=0, description="time between status polls")


class PriceOptions(SettingsBase):
    gpu_hour_price: float | None = Field(
        None, gt=0, description="price of one GPU-hour, in your currency: also show the estimated cost"
    )


class RenderOptions(ValidateOptions):
    """What only `render` takes."""

    output_format: Literal["yaml", "json"] = Field(
        "yaml", description="yaml (a stream) or json (one object, several as a v1 List)"
    )


class SubmitOptions(WaitOptions, ValidateOptions, PriceOptions):
    dry_run: Literal["none", "client", "server"] = Field(
        "none",
        description="client (what a bare --dry-run means): print only; server: validate with the API server",
    )
    replace: bool = Field(False, description="delete an existing Job of the same name first")
    wait: bool = Field(False, description="follow the Job; exit 0 on success, 8 on failure")
    output_format: Literal["name", "yaml", "json"] = Field(
        "name", description="name: the Job's name; yaml or json: the objects created"
    )


class StatusOptions(PriceOptions):
    output_format: StatusFormat = Field(
        "text", description="text, wide (with GPUs and GPU-hours per pod), json or yaml"
    )


class LogsOptions(WaitOptions):
    follow: bool = Field(False, description="stream the newest pod's log until it ends")
    previous: bool = Field(False, description="the previous container after a restart")
    tail: int | None = Field(None, ge=0, description="only the last N lines of each pod's log")
    since: Seconds | None = Field(None, gt=0, description="only lines newer than this, e.g. 10m, 2h")


class ListOptions(PriceOptions):
    output_format: StatusFormat = Field(
        "text", description="text, wide (with loss, GPU-hours, cost, retries, artifacts), json or yaml"
    )
    all_namespaces: bool = Field(False, description="every namespace (needs the ClusterRole for it)")


class SweepSubmitOptions(WaitOptions, ValidateOptions):
    params: KeyValues = Field(
        {},
        description="a trainer flag and its values, FLAG=VALUE[,VALUE...] (repeatable), e.g. "
        "learning-rate=1e-5,3e-5: the grid is every combination",
    )
    trials: int | None = Field(None, ge=1, description="draw this many combinations at random (default: all)")
    seed: int = Field(0, description="seed of the random draw: the same seed, the same trials")
    max_parallel: int | None = Field(
        None,
        ge=1,
        description="at most this many unfinished trials: stay in the foreground and create the others as "
        "trials finish (Ctrl-C stops; running it again resumes)",
    )


class SweepStatusOptions(StatusOptions):
    """What `sweep status` takes: like `status`."""


class ResultsOptions(SettingsBase):
    sort_by: str = Field(
        "accuracy",
        description="metric of metrics.json's `eval` to sort by: best first (lowest for a loss, else highest)",
    )
    output_format: Literal["text", "json", "yaml"] = Field("text", description="text, json or yaml")
    s3_endpoint: Endpoint | None = Field(
        None, description="S3 endpoint URL for MinIO, Ceph, R2 ... (default: AWS_ENDPOINT_URL_S3, else AWS)"
    )


VERB_OPTIONS = (
    RenderOptions,
    SubmitOptions,
    StatusOptions,
    LogsOptions,
    ListOptions,
    SweepSubmitOptions,
    SweepStatusOptions,
    ResultsOptions,
)
SETTING_NAMES = sorted(set(settings.SETTING_NAMES).union(*(cls.model_fields for cls in VERB_OPTIONS)))
