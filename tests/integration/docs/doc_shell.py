"""The world the docs' commands run in, and the small shell that runs them (see test_docs_commands.py).

- Object storage: the suite's loopback moto server, holding the buckets and objects the docs name
  (`s3://team-data/reviews/train.csv`, ...; see `DOC_DATA`), as the user's environment would: the AWS_*
  variables of the endpoint are set for every command.
- Kubernetes: per page, a loopback API server (`fake_kube_api`) with the docs' namespace `ml-team` as the
  kubeconfig's current one; every Job submitted to it runs to success (`JobsSucceed`).
- `trainer` runs as a subprocess of the installed console script, exactly as typed; `launcher` runs in-process
  through `launcher.cli.main`, the console script's entry point, so the Job polling of `--wait` can be shortened.
- `python SCRIPT` runs a script the page wrote (a `<!-- file: SCRIPT -->` block) with the environment's Python,
  offline, with a Hugging Face cache that holds the tiny test model as `bert-base-cased`; the files a user has
  locally (`LOCAL_DATA`) are in the page's working directory.

Names that cannot exist here (a Hub model id, a real endpoint) are replaced in one place: `PLACEHOLDERS`.
`trainer train` gets `FAST_TRAIN` appended (a later flag wins), so a doc may show realistic settings.
"""

import contextlib
import gzip
import io
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import launcher.cli
from integration.launcher.fake_kube_api import FakeKubeApi
from support.markdown_docs import Command
from support.s3servers import S3Endpoint
from support.toy_data import sentences, write_csv

PLACEHOLDERS: dict[str, str] = {
    "https://minio.example.com": "{endpoint}",
    "bert-base-cased": "s3://team-models/base/tiny-bert",
}
"""The one place where a doc's placeholder becomes something that exists here ({endpoint}: the loopback S3
URL). Applied as plain text replacement to every command before it runs."""

FAST_TRAIN = ("--epochs", "1", "--max-train-samples", "128", "--max-eval-samples", "64")
"""Appended to every `trainer train` command: the same run, shorter."""

RUNNABLE = ("trainer", "launcher", "export", "python")
"""Programs a run block may use (`export` sets variables for the page's later commands; `python` runs a script the
page wrote). A block with any other program (kubectl, docker, make, ...) must carry a `<!-- not run here: ... -->`
marker."""

HUB_MODEL = "bert-base-cased"
"""The Hub id a page's Python script loads from the (offline) Hugging Face cache: the tiny test model."""

NAMESPACE = "ml-team"
"""The docs' namespace; the fake API server has it, and the kubeconfig's context points at it."""

LABELS = {"food": "negative", "sports": "neutral", "weather": "positive"}
"""The toy topics, named like the docs' sentiment labels."""

ERROR_PREFIXES = ("trainer: error:", "launcher: error:")

POLL_SECONDS = 0.01
"""`submit --wait` / `logs --follow` polling in the test (the CLI's default is seconds)."""

BIN = Path(sys.executable).parent


def labelled_csv(path: Path, rows: int, seed: int) -> Path:
    data = [(text, LABELS[label]) for text, label in sentences(rows, seed=seed)]
    return write_csv(path, data, header=("review", "sentiment"))


def unlabelled_csv_gz(path: Path, rows: int, seed: int) -> Path:
    plain = write_csv(
        path.with_suffix(""),
        [(f"r{seed}-{i}", text) for i, (text, _) in enumerate(sentences(rows, seed=seed))],
        header=("id", "review"),
    )
    path.write_bytes(gzip.compress(plain.read_bytes()))
    return path


DOC_DATA: dict[str, Callable[[Path], Path]] = {
    "s3://team-data/reviews/train.csv": lambda p: labelled_csv(p, 480, seed=1),
    "s3://team-data/reviews/dev.csv": lambda p: labelled_csv(p, 90, seed=2),
    "s3://team-data/reviews/test.csv": lambda p: labelled_csv(p, 90, seed=3),
    "s3://team-data/reviews/test-2026-11.csv": lambda p: labelled_csv(p, 90, seed=4),
    "s3://team-data/reviews/unlabelled/part-00000.csv.gz": lambda p: unlabelled_csv_gz(p, 70, seed=5),
    "s3://team-data/reviews/unlabelled/part-00001.csv.gz": lambda p: unlabelled_csv_gz(p, 40, seed=6),
}
"""The objects the docs read, written where the docs say they are."""

BUCKETS = ("team-data", "team-models", "team-runs", "team-serving")

LOCAL_DATA: dict[str, Callable[[Path], Path]] = {
    "reviews/train.csv": lambda p: labelled_csv(p, 480, seed=1),
    "reviews/dev.csv": lambda p: labelled_csv(p, 90, seed=2),
}
"""Files the docs' Python scripts read from the working directory, as a user has them on a laptop."""


def hf_cache_with(home: Path, model_id: str, model_dir: Path) -> Path:
    """An HF_HOME whose hub cache holds `model_dir` as `model_id` (main), as a download would have left it."""
    repo = home / "hub" / f"models--{model_id.replace('/', '--')}"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(model_dir, repo / "snapshots" / commit, dirs_exist_ok=True)
    return home


@dataclass(frozen=True)
class World:
    endpoint: S3Endpoint
    hf_home: Path | None = None
    """HF_HOME for the pages' Python scripts (see `hf_cache_with`)."""

    def substitute(self, text: str) -> str:
        for placeholder, value in PLACEHOLDERS.items():
            text = text.replace(placeholder, value.format(endpoint=self.endpoint.url))
        return text


class JobsSucceed(FakeKubeApi):
    """An API server whose Jobs all succeed: pods start on the first look at a new Job (or at a list of Jobs) and
    finish on the next."""

    def _create(
        self, resource: str, ns: str, query: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        code, job = super()._create(resource, ns, query, body)
        if resource != "jobs" or query.get("dryRun") == "All":
            return code, job
        name, count = job["metadata"]["name"], job["spec"].get("completions") or 1
        pods: list[str] = []

        def start(api: FakeKubeApi) -> None:
            for _ in range(count):
                pods.append(api.add_pod(ns, name))
                api.run_pod(ns, pods[-1], log="epoch 1/3 step 50/187 accuracy=0.6312 loss=0.8120\n")

        def finish(api: FakeKubeApi) -> None:
            for pod in pods:
                api.terminate_pod(ns, pod, 0, log="published s3://team-runs/... and _SUCCESS\n")
            api.complete_job(ns, name)

        self.script(ns, name, [start, finish])
        return code, job

    def _list(self, resource: str, ns: str | None, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """A look at the list of Jobs is a look at each (`sweep submit --max-parallel` waits on the list)."""
        if resource == "jobs":
            with self.lock:
                for steps in [s for (n, _), s in self.scripts.items() if s and ns in (None, n)]:
                    steps.pop(0)(self)
        return super()._list(resource, ns, query)


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@dataclass
class Session:
    """One page's shell: its working directory, its exported variables, its cluster."""

    world: World
    cwd: Path
    env: dict[str, str]
    monkeypatch: pytest.MonkeyPatch
    ran: list[str] = field(default_factory=list)

    def run(self, command: Command) -> Outcome:
        text = self.world.substitute(command.text).replace("\\\n", " ")
        argv = shlex.split(text, comments=True)
        stdout_file = None
        if len(argv) > 2 and argv[-2] == ">":
            argv, stdout_file = argv[:-2], argv[-1]
        program, args = argv[0], argv[1:]
        if program == "export":
            self.env.update(arg.split("=", 1) for arg in args)
            return Outcome(0, "", "")
        if program == "trainer":
            outcome = self._trainer(args)
        elif program == "python":
            outcome = self._python(args)
        elif program == "launcher":
            outcome = self._launcher(args)
        else:
            raise AssertionError(f"{command.where}: `{program}` cannot run here; mark the block not run")
        if stdout_file:
            (self.cwd / stdout_file).write_text(outcome.out)
        self.ran.append(program)
        return outcome

    def _trainer(self, args: list[str]) -> Outcome:
        if args[:1] == ["train"] and "--help" not in args:
            args = [*args, *FAST_TRAIN]
        return self._subprocess([str(BIN / "trainer"), *args])

    def _python(self, args: list[str]) -> Outcome:
        home = {"HF_HOME": str(self.world.hf_home)} if self.world.hf_home else {}
        return self._subprocess([sys.executable, *args], {**home, "HF_HUB_OFFLINE": "1"})

    def _subprocess(self, argv: list[str], env: dict[str, str] | None = None) -> Outcome:
        result = subprocess.run(
            argv,
            env={**os.environ, **self.env, **(env or {})},
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        return Outcome(result.returncode, result.stdout, result.stderr)

    def _launcher(self, args: list[str]) -> Outcome:
        for name, value in self.env.items():
            self.monkeypatch.setenv(name, value)
        self.monkeypatch.chdir(self.cwd)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = launcher.cli.main(args)
        return Outcome(code, out.getvalue(), err.getvalue())
