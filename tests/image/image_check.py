"""`make image-test`: the image built from the committed Dockerfile runs the pod specs `launcher render` writes.

Builds the CPU variant with buildah (or IMAGE_BUILDER) through `scripts/build_image.py`, as `make image` does,
then plays the rendered pods with `podman kube play` on the host network against moto on loopback with
authentication on, the S3 credentials delivered by a podman secret through the rendered `secretRef`: one node,
then two nodes as two pods (MultiWorkerMirroredStrategy over loopback); then all-MiniLM-L6-v2 (MINILM_DIR, which
`make image-test` fetches) from the bucket, to measure how soon the first training step begins in a pod. The only
changes to the rendered specs are those of `single_host.single_host_pods`. Finally a one-line change under trainer/
is rebuilt to show that only the small code layer is re-created. Measurements are printed at the end.

Everything lives under one root (engine.py): a temporary one removed at the end, or IMAGE_TEST_ROOT, kept as a
warm cache for the next run. Not collected by `make test` (the file name does not start with test_).
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from image.base_images import base_image_args
from image.engine import Engine, confined_engine
from image.single_host import single_host_pods
from support.s3servers import S3Endpoint, free_ports, moto_server
from support.toy_data import sentences, write_csv
from trainer.contract.container import CONTAINER_USER_ID
from trainer.contract.version import source_commit
from trainer.distribute.startup import load_tensorflow

ROOT = Path(__file__).resolve().parents[2]
TAG = "localhost/tf-finetune-k8s:image-test"
SECRET = "trainer-s3"
BUILDER = os.environ.get("IMAGE_BUILDER") or "buildah"
"""`buildah bud`, the builder the image must work with that BuildKit users do not test."""
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
"""The host's trust store: it holds the TLS-intercepting proxy's CA on this project's machines."""
BUILD_SECONDS = 3600.0
RUN_SECONDS = 900.0
CODE_LAYER_LIMIT = 50_000_000
MINILM_DIR = Path(os.environ.get("MINILM_DIR") or ROOT / ".cache" / "models" / "all-MiniLM-L6-v2")
FIRST_STEP_LIMIT_SECONDS = 30.0
"""The first training step begins within 6 s of process start on a quiet machine (benchmarks/README.md); the image
test may run on a loaded CI machine, so it holds a generous bound and reports the measured seconds."""
CONTEXT_FILES = (
    "Dockerfile",
    ".dockerignore",
    "pyproject.toml",
    "uv.lock",
    "README.md",
    "trainer",
    "launcher",
)
TRAINER_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d (INFO|WARNING|ERROR) ")
"""The trainer's own log format (trainer.cli)."""


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)

    def add(self, what: str, value: str) -> None:
        self.lines.append(f"{what}: {value}")


@pytest.fixture(scope="session")
def report() -> Iterator[Report]:
    measured = Report()
    yield measured
    print("\n== image-test measurements ==\n" + "\n".join(measured.lines), file=sys.stderr)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    kept = os.environ.get("IMAGE_TEST_ROOT")
    with confined_engine(Path(kept).resolve() if kept else None) as confined:
        yield confined


def build(engine: Engine, context: Path, build_args: list[str], commit: str) -> float:
    """Build the CPU variant from `context` with `make image`'s script; returns the seconds it took."""
    command = [sys.executable, str(ROOT / "scripts" / "build_image.py"), "--variant", "cpu", "--tag", TAG]
    command += ["--builder", BUILDER, "--context", str(context)]
    command += ["--commit", commit, *(f"--build-arg={arg}" for arg in build_args)]
    if HOST_CA_BUNDLE.is_file():
        command += ["--ca-bundle", str(HOST_CA_BUNDLE)]
    started = time.monotonic()
    result = subprocess.run(command, env=engine.env(), capture_output=True, text=True, timeout=BUILD_SECONDS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return time.monotonic() - started


@dataclass(frozen=True)
class Built:
    tag: str
    commit: str
    build_args: list[str]


@pytest.fixture(scope="session")
def image(engine: Engine, report: Report, tmp_path_factory: pytest.TempPathFactory) -> Built:
    uv_binary = Path(os.environ.get("UV_BINARY") or shutil.which("uv") or ROOT / ".tools" / "bin" / "uv")
    started = time.monotonic()
    build_args = base_image_args(engine, uv_binary, tmp_path_factory.mktemp("base-images"))
    report.add(
        "base images",
        " ".join(build_args) or "public",
    )
    report.add("base images ready", f"{time.monotonic() - started:.0f} s")
    commit = source_commit(ROOT)
    seconds = build(engine, ROOT, build_args, commit)
    report.add(f"build (cpu variant, {BUILDER})", f"{seconds:.0f} s")
    size = int(engine.podman("image", "inspect", "--format", "{{.Size}}", TAG).stdout)
    report.add("image size (cpu variant)", f"{size / 1e9:.2f} GB")
    return Built(TAG, commit, build_args)


def layers(engine: Engine, tag: str) -> list[tuple[str, int]]:
    """(diff ID, size in bytes) of every file-system layer, base first: OCI history entries that are not
    `empty_layer` pair, in order, with RootFS.Layers and with podman history's sizes."""
    inspected = json.loads(engine.podman("image", "inspect", tag).stdout)[0]
    sizes = [
        entry["size"]
        for entry in reversed(json.loads(engine.podman("history", "--format", "json", tag).stdout))
    ]
    with_layers = [
        size for entry, size in zip(inspected["History"], sizes, strict=True) if not entry.get("empty_layer")
    ]
    return list(zip(inspected["RootFS"]["Layers"], with_layers, strict=True))


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Endpoint]:
    with moto_server(enforce_auth=True) as endpoint:
        yield endpoint


@dataclass(frozen=True)
class Staged:
    bucket: str
    args: list[str]

    def output(self, name: str) -> str:
        return f"s3://{self.bucket}/runs/{name}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def quiet_tensorflow() -> None:
    """The tiny BERT is written with TensorFlow in this process: load it as the trainer does, so that this
    test's own output is not TensorFlow's start-up noise either."""
    load_tensorflow()


@pytest.fixture(scope="session")
def staged(
    s3: S3Endpoint, quiet_tensorflow: None, tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory
) -> Staged:
    bucket, tmp = f"team-{uuid.uuid4().hex[:8]}", tmp_path_factory.mktemp("toy")
    client = s3.client()
    client.create_bucket(Bucket=bucket)
    for path in sorted(tiny_bert.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), bucket, f"base/tiny-bert/{path.relative_to(tiny_bert).as_posix()}")
    write_csv(tmp / "train.csv", sentences(240, seed=1), header=("review", "topic"))
    write_csv(tmp / "dev.csv", sentences(60, seed=2), header=("review", "topic"))
    for name in ("train.csv", "dev.csv"):
        client.upload_file(str(tmp / name), bucket, f"topics/{name}")
    args = [
        *("--model", f"s3://{bucket}/base/tiny-bert", "--text-column", "review", "--label-column", "topic"),
        *("--train-data", f"s3://{bucket}/topics/train.csv", "--eval-data", f"s3://{bucket}/topics/dev.csv"),
        *("--epochs", "2", "--per-replica-batch-size", "16", "--cpu-replicas", "1", "--progress", "lines"),
    ]
    return Staged(bucket, args)


@pytest.fixture(scope="session")
def secret(engine: Engine, s3: S3Endpoint) -> Iterator[str]:
    """The credentials as a Kubernetes Secret's data would hold them, as a podman secret `secretRef` finds."""
    data = {"AWS_ACCESS_KEY_ID": s3.access_key, "AWS_SECRET_ACCESS_KEY": s3.secret_key}
    encoded = json.dumps({key: base64.b64encode(value.encode()).decode() for key, value in data.items()})
    engine.podman("secret", "rm", SECRET, check=False)  # left by an interrupted run under IMAGE_TEST_ROOT
    engine.podman("secret", "create", SECRET, "-", stdin=encoded)
    yield SECRET
    engine.podman("secret", "rm", SECRET, check=False)


def render(image: str, s3: S3Endpoint, name: str, trainer_args: list[str], nodes: int = 1) -> list[dict]:
    """What `launcher render` prints for this run, parsed."""
    command = [sys.executable, "-m", "launcher", "render", "--image", image, "--name", name, "--gpus", "0"]
    command += ["--cpu", "2", "--memory", "6Gi", "--shm-size", "1Gi", "--nodes", str(nodes)]
    command += ["--s3-secret", SECRET, "--s3-endpoint", s3.url, "--s3-region", s3.region]
    result = subprocess.run(
        [*command, "--", "train", *trainer_args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return list(yaml.safe_load_all(result.stdout))


@dataclass(frozen=True)
class Ran:
    code: int
    log: str
    user: str
    read_only: bool


def play(engine: Engine, pods: list[dict], workdir: Path) -> dict[str, Ran]:
    """`podman kube play` the pods on the host network, wait for each, collect exit code, log and settings."""
    spec = workdir / "pods.yaml"
    spec.write_text(yaml.safe_dump_all(pods, sort_keys=False))
    names = [pod["metadata"]["name"] for pod in pods]
    try:
        engine.podman("kube", "play", "--network", "host", str(spec))
        ran = {}
        for name in names:
            container = f"{name}-{pods[0]['spec']['containers'][0]['name']}"
            code = int(engine.podman("wait", container, timeout=RUN_SECONDS).stdout.strip())
            logs = engine.podman("logs", container)
            fmt = "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}"
            user, read_only = engine.podman("container", "inspect", "--format", fmt, container).stdout.split()
            ran[name] = Ran(code, logs.stderr + logs.stdout, user, read_only == "true")
        return ran
    finally:
        engine.podman("pod", "rm", "--force", *names, check=False)


def objects(s3: S3Endpoint, output: str) -> set[str]:
    bucket, prefix = output.removeprefix("s3://").split("/", 1)
    listed = s3.client().list_objects_v2(Bucket=bucket, Prefix=prefix + "/").get("Contents", [])
    return {item["Key"].removeprefix(prefix + "/") for item in listed}


def run_record(s3: S3Endpoint, output: str) -> dict:
    bucket, prefix = output.removeprefix("s3://").split("/", 1)
    return json.loads(s3.client().get_object(Bucket=bucket, Key=f"{prefix}/run.json")["Body"].read())


def assert_contract(ran: Ran) -> None:
    """Exit 0 as UID 1000 on a read-only root, and the log starts with the trainer's own lines."""
    assert ran.code == 0, ran.log[-5000:]
    assert ran.user.split(":")[0] == str(CONTAINER_USER_ID) and ran.read_only
    first = ran.log.splitlines()[:3]
    assert all(TRAINER_LINE.match(line) for line in first), first
    assert "absl::InitializeLog" not in ran.log and "cuInit" not in ran.log


def test_the_image_names_its_version_and_commit(engine: Engine, image: Built) -> None:
    labels = json.loads(engine.podman("image", "inspect", "--format", "{{json .Labels}}", image.tag).stdout)
    assert labels["org.opencontainers.image.revision"] == image.commit
    for program in ("trainer", "launcher"):
        shown = engine.podman(
            "run", "--rm", "--network", "host", "--entrypoint", program, image.tag, "--version"
        )
        assert shown.stdout.strip() == f"{program} 0.1.0 (commit {image.commit})"
    user = engine.podman("image", "inspect", "--format", "{{.Config.User}}", image.tag).stdout.strip()
    assert user == f"{CONTAINER_USER_ID}:{CONTAINER_USER_ID}"


def test_one_node_render_runs_in_the_image_and_publishes(
    engine: Engine, image: Built, s3: S3Endpoint, staged: Staged, secret: str, report: Report, tmp_path: Path
) -> None:
    output = staged.output("one-node")
    pods = single_host_pods(render(image.tag, s3, "image-test-1", [*staged.args, "--output", output]))
    started = time.monotonic()
    ran = play(engine, pods, tmp_path)
    report.add("1-node pod run", f"{time.monotonic() - started:.0f} s")
    (only,) = ran.values()
    assert_contract(only)
    assert "GPUs hidden" in only.log
    assert {"_SUCCESS", "run.json", "metrics.json", "model/model.safetensors"} <= objects(s3, output)
    assert run_record(s3, output)["status"] == "succeeded"


def test_two_node_render_runs_as_two_pods_and_publishes_one_run(
    engine: Engine, image: Built, s3: S3Endpoint, staged: Staged, secret: str, report: Report, tmp_path: Path
) -> None:
    output = staged.output("two-nodes")
    args = [*staged.args, "--output", output, "--peer-timeout-seconds", "300"]
    pods = single_host_pods(render(image.tag, s3, "image-test-2", args, nodes=2), free_ports(2))
    started = time.monotonic()
    ran = play(engine, pods, tmp_path)
    report.add("2-node pod run", f"{time.monotonic() - started:.0f} s")
    assert len(ran) == 2
    for each in ran.values():
        assert_contract(each)
        assert "strategy=MultiWorkerMirroredStrategy replicas=2" in each.log
    assert sum("published s3://" in each.log for each in ran.values()) == 1
    assert "_SUCCESS" in objects(s3, output)
    record = run_record(s3, output)
    assert record["status"] == "succeeded" and record["distribution"]["workers"] == 2


def test_minilm_starts_training_within_seconds_in_the_image(
    engine: Engine, image: Built, s3: S3Endpoint, staged: Staged, secret: str, report: Report, tmp_path: Path
) -> None:
    """all-MiniLM-L6-v2 and the data in the loopback bucket: the pod's own timeline (metrics.json) says when its
    first training step began; bytecode is compiled in the image, and the model and data download while
    TensorFlow loads."""
    assert (MINILM_DIR / "config.json").is_file(), f"no model in {MINILM_DIR}: `make image-test` fetches it"
    for path in sorted(MINILM_DIR.iterdir()):
        s3.client().upload_file(str(path), staged.bucket, f"base/minilm/{path.name}")
    output = staged.output("minilm")
    args = [*staged.args, "--model", f"s3://{staged.bucket}/base/minilm", "--output", output]
    args += ["--epochs", "1", "--max-train-samples", "64", "--max-eval-samples", "32"]
    (ran,) = play(
        engine, single_host_pods(render(image.tag, s3, "image-test-minilm", args)), tmp_path
    ).values()
    assert_contract(ran)
    bucket, prefix = output.removeprefix("s3://").split("/", 1)
    metrics = json.loads(s3.client().get_object(Bucket=bucket, Key=f"{prefix}/metrics.json")["Body"].read())
    timeline = metrics["timeline_seconds"]
    marks = ("tensorflow_loaded", "data_ready", "model_ready", "first_step")
    report.add(
        "MiniLM first training step in the pod",
        f"{timeline['first_step']:.1f} s after process start ("
        + " ".join(f"{mark}={timeline[mark]:.1f}" for mark in marks)
        + f"; load average {os.getloadavg()[0]:.1f})",
    )
    assert metrics["throughput"]["startup_seconds"] == timeline["first_step"] < FIRST_STEP_LIMIT_SECONDS


def test_a_code_change_rebuilds_only_the_small_last_layer(
    engine: Engine, image: Built, report: Report, tmp_path: Path
) -> None:
    before = layers(engine, image.tag)
    context = tmp_path / "context"
    for name in CONTEXT_FILES:
        source, target = ROOT / name, context / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    with (context / "trainer" / "__init__.py").open("a") as changed:
        changed.write('\nIMAGE_TEST_CHANGE = "one line"\n')
    seconds = build(engine, context, image.build_args, image.commit)
    after = layers(engine, image.tag)
    kept = [layer for layer in after if layer in before]
    new = after[len(kept) :]
    assert after[: len(kept)] == kept and len(new) == 1, (before, after)
    report.add("rebuild after a one-line trainer change", f"{seconds:.0f} s")
    report.add("layers re-created", f"{len(new)}, {sum(size for _, size in new) / 1e6:.1f} MB")
    assert sum(size for _, size in new) < CODE_LAYER_LIMIT
