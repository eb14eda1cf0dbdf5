from decimal import Decimal
from pathlib import Path

import pytest

from launcher import quantities
from launcher.errors import UsageError
from launcher.settings import ConnectionSettings, JobSettings, load, read_config


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
        ({"image": "i", "labels": ["novalue"]}, "invalid --label: 'novalue' is not KEY=VALUE"),
        (
            {"image": "i", "tolerations": ["k:Never"]},
            "invalid --toleration: 'k:Never' is not KEY[=VALUE][:EFFECT]",
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
