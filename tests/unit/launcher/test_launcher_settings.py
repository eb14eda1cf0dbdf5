from decimal import Decimal
from pathlib import Path

import pytest

from launcher import quantities
from launcher.errors import UsageError
from launcher.settings import ConnectionSettings, JobSettings, check_environment, load, read_config


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LAUNCHER_IMAGE", "LAUNCHER_GPUS", "LAUNCHER_NAMESPACE", "LAUNCHER_NODE_SELECTOR"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("text", "value"),
    [("4", 4), ("500m", Decimal("0.5")), ("16Gi", 16 * 2**30), ("1.5G", Decimal("1.5e9")), ("1e3", 1000)],
)
def test_quantities(text: str, value: Decimal) -> None:
    assert quantities.parse(text) == value


@pytest.mark.parametrize("text", ["12XB", "", "-1", "1.2.3", "Gi", "16 Gi", "0"])
def test_invalid_quantities(text: str) -> None:
    with pytest.raises(ValueError):
        quantities.validate(text)


def test_defaults() -> None:
    settings = load(JobSettings, {"image": "img"})
    assert (settings.gpus, settings.cpu, settings.memory, settings.backoff_limit) == (1, "4", "16Gi", 3)


def test_precedence_flags_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "launcher.yaml"
    config.write_text(
        "image: from-file\ngpus: 2\nmemory: 32Gi\nnamespace: team\nnode_selector: {pool: a100}\n"
    )
    monkeypatch.setenv("LAUNCHER_GPUS", "3")
    monkeypatch.setenv("LAUNCHER_IMAGE", "from-env")
    defaults = read_config(config)
    settings = load(JobSettings, {"image": "from-flag"}, defaults)
    assert settings.image == "from-flag"
    assert settings.gpus == 3
    assert settings.memory == "32Gi"
    assert settings.node_selector == {"pool": "a100"}
    assert load(ConnectionSettings, {}, defaults).namespace == "team"


def test_repeatable_flags_and_json_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAUNCHER_NODE_SELECTOR", '{"gpu": "a100"}')
    settings = load(
        JobSettings,
        {
            "image": "i",
            "tolerations": ["nvidia.com/gpu:NoSchedule", "team=ml:NoExecute", "spot"],
            "labels": ["team=ml"],
            "annotations": ["cost=gpu=1"],
        },
    )
    assert settings.node_selector == {"gpu": "a100"}
    assert settings.labels == {"team": "ml"}
    assert settings.annotations == {"cost": "gpu=1"}
    assert [t.model_dump(exclude_none=True) for t in settings.tolerations] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "team", "operator": "Equal", "value": "ml", "effect": "NoExecute"},
        {"key": "spot", "operator": "Exists"},
    ]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({}, "missing --image (or LAUNCHER_IMAGE, or `image:` in the config file)"),
        ({"image": "i", "memory": "12XB"}, "invalid --memory: '12XB' is not a Kubernetes quantity"),
        ({"image": "i", "gpus": "-1"}, "invalid --gpus: Input should be greater than or equal to 0"),
        ({"image": "i", "gpus": "four"}, "invalid --gpus: Input should be a valid integer"),
        ({"image": "i", "name": "My_Run"}, "invalid --name: 'My_Run' is not a DNS-1123 label"),
        ({"image": "i", "labels": ["novalue"]}, "invalid --labels: 'novalue' is not KEY=VALUE"),
        (
            {"image": "i", "tolerations": ["k:Never"]},
            "invalid --tolerations: 'k:Never' is not KEY[=VALUE][:EFFECT]",
        ),
        ({"image": "i", "shm_size": "16Gi"}, "--shm-size 16Gi must be smaller than --memory 16Gi"),
        ({"image": "i", "bogus": "1"}, "invalid --bogus: Extra inputs are not permitted"),
    ],
)
def test_errors_are_one_line_naming_the_flag(flags: dict, message: str) -> None:
    with pytest.raises(UsageError) as error:
        load(JobSettings, flags)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("image: [unclosed", "is not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("imagee: x\n", "unknown setting"),
    ],
)
def test_bad_config_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(content)
    with pytest.raises(UsageError, match=message):
        read_config(path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        read_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        (
            "LAUNCHER_TOLERATIONS",
            "nvidia.com/gpu:NoSchedule",
            "tolerations",
            [("nvidia.com/gpu", "NoSchedule")],
        ),
        ("LAUNCHER_TOLERATIONS", "a:NoSchedule, b", "tolerations", [("a", "NoSchedule"), ("b", None)]),
        ("LAUNCHER_TOLERATIONS", '["a:NoExecute"]', "tolerations", [("a", "NoExecute")]),
        ("LAUNCHER_NODE_SELECTOR", "pool=a100,zone=eu", "node_selector", {"pool": "a100", "zone": "eu"}),
        ("LAUNCHER_ENV", "NCCL_IB_HCA=mlx5_0,mlx5_1,NCCL_DEBUG=INFO", "env", None),
        ("LAUNCHER_IMAGE_PULL_SECRETS", "regcred,other", "image_pull_secrets", ["regcred", "other"]),
    ],
)
def test_list_variables_take_the_flags_syntax(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(variable, value)
    got = getattr(load(JobSettings, {"image": "i"}), field)
    if field == "tolerations":
        got = [(t.key, t.effect) for t in got]
    if field == "env":
        expected = {"NCCL_IB_HCA": "mlx5_0,mlx5_1", "NCCL_DEBUG": "INFO"}
    assert got == expected


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "LAUNCHER_TOLERATIONS",
            "gpu:Sometimes",
            "invalid LAUNCHER_TOLERATIONS: 'gpu:Sometimes' is not KEY[=VALUE][:EFFECT]",
        ),
        (
            "LAUNCHER_NODE_SELECTOR",
            '{"pool": ',
            "invalid LAUNCHER_NODE_SELECTOR: '{\"pool\":' is not valid JSON",
        ),
        ("LAUNCHER_LABELS", "novalue", "invalid LAUNCHER_LABELS: 'novalue' is not KEY=VALUE"),
        ("LAUNCHER_GPUS", "two", "invalid LAUNCHER_GPUS: Input should be a valid integer"),
    ],
)
def test_malformed_variables_are_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(UsageError) as error:
        load(JobSettings, {"image": "i"})
    assert str(error.value).startswith(message), str(error.value)


def test_a_bad_config_value_names_the_config_key(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("cpu: lots\n")
    with pytest.raises(
        UsageError, match=r"^invalid `cpu:` in the config file: 'lots' is not a Kubernetes quantity"
    ):
        load(JobSettings, {"image": "i"}, read_config(config))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"labels": ["Bad Key=x"]}, "invalid --labels: key 'Bad Key' is not a valid label key"),
        ({"labels": ["team=not ok"]}, "invalid --labels: value 'not ok' is not a valid label value"),
        (
            {"labels": ["Example.com/team=ml"]},
            "invalid --labels: key 'Example.com/team': prefix 'Example.com'",
        ),
        (
            {"annotations": ["bad key=anything"]},
            "invalid --annotations: key 'bad key' is not a valid label key",
        ),
        (
            {"node_selector": ["pool=a 100"]},
            "invalid --node-selector: value 'a 100' is not a valid label value",
        ),
        ({"cpu": "2", "cpu_limit": "1"}, "--cpu-limit 1 must not be below the request --cpu 2"),
        ({"cpu": "500m", "cpu_limit": "0.4"}, "--cpu-limit 0.4 must not be below the request --cpu 500m"),
        ({"s3_secret": "S3_Creds"}, "invalid --s3-secret: 'S3_Creds' is not a valid object name"),
        ({"gpu_resource": "nvidia gpu"}, "invalid --gpu-resource: key 'nvidia gpu' is not a valid label key"),
        (
            {"s3_endpoint": "minio:9000"},
            "invalid --s3-endpoint: 'minio:9000' is not an http:// or https:// URL",
        ),
    ],
)
def test_what_the_api_server_would_reject_is_caught_first(flags: dict, message: str) -> None:
    with pytest.raises(UsageError) as error:
        load(JobSettings, {"image": "i", **flags})
    assert str(error.value).startswith(message), str(error.value)


def test_cpu_limit_at_or_above_the_request_is_fine() -> None:
    assert load(JobSettings, {"image": "i", "cpu": "2", "cpu_limit": "2500m"}).cpu_limit == "2500m"


def test_unknown_config_key_suggests_the_nearest(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("tolerationz: [a]\n")
    with pytest.raises(UsageError, match=r"unknown setting 'tolerationz' \(did you mean tolerations\?\)$"):
        read_config(config)


def test_unknown_launcher_variable_is_an_error_with_a_suggestion() -> None:
    check_environment({"LAUNCHER_IMAGE": "i", "LAUNCHER_CONFIG": "c.yaml", "PATH": "/bin"})
    with pytest.raises(UsageError) as error:
        check_environment({"LAUNCHER_NAMESAPCE": "ml"})
    assert str(error.value) == (
        "unknown environment variable LAUNCHER_NAMESAPCE (did you mean LAUNCHER_NAMESPACE?); unset it"
    )
