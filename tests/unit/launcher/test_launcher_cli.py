"""The CLI without a cluster: render, usage errors, and what it must never import."""

import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from launcher.cli import main

RENDER = [
    "render",
    "--name",
    "reviews-42",
    "--image",
    "registry.example.com/ml/trainer:1.0",
    "--gpus",
    "4",
    "--s3-secret",
    "team-s3",
]
ARGS = [
    "--",
    "--model",
    "bert-base-cased",
    "--train-data",
    "s3://team-data/reviews/train.csv",
    "--output",
    "s3://runs/reviews-42",
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LAUNCHER_CONFIG", "LAUNCHER_IMAGE", "LAUNCHER_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_render_prints_valid_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *RENDER, *ARGS)
    assert code == 0 and err == ""
    (job,) = yaml.safe_load_all(out)
    assert job["metadata"]["name"] == "reviews-42"
    assert "namespace" not in job["metadata"]
    kubernetes_validate.validate(job, "1.33", strict=True)


def test_render_namespace_and_generated_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "render", "-n", "ml", "--image", "i", *ARGS)
    job = yaml.safe_load(out)
    assert code == 0
    assert job["metadata"]["namespace"] == "ml"
    assert job["metadata"]["name"].startswith("bert-base-cased-")


@pytest.mark.parametrize("verb", ["evaluate", "predict", "export"])
def test_render_an_after_fit_verb(capsys: pytest.CaptureFixture[str], verb: str) -> None:
    data = [] if verb == "export" else ["--data", "s3://d/new.csv"]
    args = ["--", verb, "--model", "s3://runs/reviews-42/model", *data, "--output", "s3://o/p"]
    code, out, err = run(capsys, "render", "--image", "i", *args)
    assert code == 0, err
    job = yaml.safe_load(out)
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == args[1:]
    assert job["metadata"]["name"].startswith(f"{verb}-reviews-42-")
    kubernetes_validate.validate(job, "1.33", strict=True)


def test_config_file_from_env(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "defaults.yaml"
    config.write_text("image: registry.example.com/ml/trainer:2.0\nnamespace: team\ngpus: 2\n")
    monkeypatch.setenv("LAUNCHER_CONFIG", str(config))
    code, out, _ = run(capsys, "render", "--name", "x", *ARGS)
    job = yaml.safe_load(out)
    assert code == 0
    assert job["metadata"]["namespace"] == "team"
    assert job["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":2.0")


@pytest.mark.parametrize(
    ("argv", "code", "line"),
    [
        (
            ["render", "--image", "i", "--memory", "12XB", *ARGS],
            2,
            "launcher: error: invalid --memory: '12XB' is not a Kubernetes quantity "
            "(e.g. 16Gi, 512Mi, 500m, 4)",
        ),
        (
            ["render", "--image", "i", "--gpus", "-1", *ARGS],
            2,
            "launcher: error: invalid --gpus: Input should be greater than or equal to 0",
        ),
        (
            ["render", *ARGS],
            2,
            "launcher: error: missing --image (or LAUNCHER_IMAGE, or `image:` in the config file)",
        ),
        (
            ["render", "--image", "i", "--name", "Bad_Name", *ARGS],
            2,
            "launcher: error: invalid --name: 'Bad_Name' is not a DNS-1123 label: use lowercase letters, "
            "digits and '-', starting and ending with a letter or digit (e.g. reviews-42)",
        ),
        (
            ["render", "--image", "i", "--", "--model", "m"],
            2,
            "launcher: error: trainer arguments need --output URI (where the artifacts go), e.g. "
            "`-- --model bert-base-cased ... --output s3://bucket/runs/reviews-42`",
        ),
        (
            ["status"],
            2,
            "launcher: error: the following arguments are required: name (see `launcher status --help`)",
        ),
        (["frobnicate"], 2, None),
        (
            ["status", "x", "--", "--model"],
            2,
            "launcher: error: `status` takes no trainer arguments after `--`",
        ),
        (
            ["render", "--config", "/nonexistent.yaml", "--image", "i", *ARGS],
            2,
            "launcher: error: config file /nonexistent.yaml does not exist",
        ),
        (
            ["status", "x", "--kubeconfig", "/nonexistent"],
            3,
            "launcher: error: kubeconfig /nonexistent does not exist",
        ),
    ],
)
def test_user_errors_are_one_line(capsys, argv: list[str], code: int, line: str | None) -> None:
    got, out, err = run(capsys, *argv)
    assert got == code
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    if line:
        assert err.strip() == line


def test_no_cluster_configured(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    code, _, err = run(capsys, "list")
    assert code == 3
    assert err.strip() == (
        "launcher: error: no Kubernetes cluster configured: "
        "pass --kubeconfig, set KUBECONFIG or create ~/.kube/config"
    )


def test_help_exits_zero(capsys) -> None:
    code, out, _ = run(capsys, "submit", "--help")
    assert code == 0
    assert "--dry-run" in out and "--s3-secret" in out and "--toleration" in out


TF_FREE_TRAINER_MODULES = (
    "trainer",
    "trainer.contract",
    "trainer.contract.container",
    "trainer.contract.exit_codes",
    "trainer.contract.progress",
    "trainer.contract.redaction",
    "trainer.contract.version",
    "trainer.contract.workers",
    "trainer.settings",
    "trainer.settings.data",
    "trainer.settings.grammar",
    "trainer.settings.parse",
    "trainer.settings.problem",
    "trainer.settings.schedule",
    "trainer.settings.shared",
    "trainer.settings.train",
    "trainer.settings.verbs",
)
"""The only parts of the trainer package the launcher may load: its TF-free contract and settings (the launcher
checks trainer arguments with the trainer's own settings models before it creates a Job)."""


def test_launcher_loads_no_ml_library_and_only_the_trainers_contract() -> None:
    script = (
        "import json, sys\nimport launcher.cli, launcher.commands, launcher.cluster\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    loaded = set(json.loads(out))
    assert {m.split(".")[0] for m in loaded}.isdisjoint(
        {"tensorflow", "tf_keras", "keras", "transformers", "datasets", "torch"}
    )
    trainer_modules = {m for m in loaded if m == "trainer" or m.startswith("trainer.")}
    assert {"trainer.contract.container", "trainer.settings.parse"} <= trainer_modules
    assert trainer_modules <= set(TF_FREE_TRAINER_MODULES), trainer_modules


def test_python_dash_m_launcher(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "launcher", *RENDER, *ARGS], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["kind"] == "Job"


def test_render_pipes_into_strict_schema_validation() -> None:
    """`launcher render ... | kubernetes-validate --strict -`, the issue's definition of done."""
    bin_dir = Path(sys.executable).parent
    rendered = subprocess.run([str(bin_dir / "launcher"), *RENDER, *ARGS], capture_output=True, check=True)
    for version in ("1.30", "1.34"):
        result = subprocess.run(
            [str(bin_dir / "kubernetes-validate"), "--strict", "-k", version, "-"],
            input=rendered.stdout,
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert b"passed for resource job/reviews-42" in result.stdout


def test_old_flag_spellings_still_work_and_warn_once_each(capsys: pytest.CaptureFixture[str]) -> None:
    old = ["--label", "team=ml", "--label", "tier=gold", "--toleration=spot", "--annotation", "cost=gpu"]
    code, out, err = run(capsys, *RENDER, *old, *ARGS)
    assert code == 0
    assert err.splitlines() == [
        "launcher: warning: --label is deprecated: use --labels (same values; see docs/release-notes.md)",
        "launcher: warning: --toleration is deprecated: use --tolerations (same values; see docs/release-notes.md)",
        "launcher: warning: --annotation is deprecated: use --annotations (same values; see docs/release-notes.md)",
    ]
    job = yaml.safe_load(out)
    new = ["--labels", "team=ml,tier=gold", "--tolerations", "spot", "--annotations", "cost=gpu"]
    assert run(capsys, *RENDER, *new, *ARGS) == (0, out, "")
    labels = job["metadata"]["labels"]
    assert (labels["team"], labels["tier"], job["metadata"]["annotations"]["cost"]) == ("ml", "gold", "gpu")
    assert job["spec"]["template"]["spec"]["tolerations"] == [{"key": "spot", "operator": "Exists"}]


def test_verb_options_are_settings_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "team.yaml"
    config.write_text("image: i\ndry_run: client\n")
    monkeypatch.setenv("LAUNCHER_NO_VALIDATE", "true")
    code, out, err = run(capsys, "submit", "--config", str(config), *ARGS, "--epochz", "3")
    assert (code, err) == (0, "")  # a client dry run, trainer arguments not checked: no cluster needed
    assert yaml.safe_load(out)["kind"] == "Job"
    monkeypatch.setenv("LAUNCHER_NO_VALIDAT", "true")
    code, _, err = run(capsys, "submit", "--config", str(config), *ARGS)
    assert code == 2 and err.strip() == (
        "launcher: error: unknown environment variable LAUNCHER_NO_VALIDAT (did you mean LAUNCHER_NO_VALIDATE?); "
        "unset it"
    )
