"""--dataset-name through `datasets.load_dataset`, streamed: a local dataset repository takes exactly the code path
of a Hub id (offline here); the Hub's answers about a revision are served by a loopback HTTP server."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest
from huggingface_hub import constants

from support.hf_datasets import NAMES, local_dataset_repo
from support.s3servers import closed_port_url
from trainer.data import hub_datasets
from trainer.data.encode import Tokenizing, encode_source
from trainer.data.labels import LabelMap
from trainer.data.sources import DataSpec, choose_split, open_collection
from trainer.errors import AccessDeniedError, DataError, NotFoundError, RetryableError, UsageError
from trainer.settings.data import HubDatasetArguments
from trainer.storage import Storage

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return local_dataset_repo(
        tmp_path_factory.mktemp("repo") / "reviews", {"train": 30, "validation": 9, "test": 6}
    )


def open_dataset(name: str, **options: str):
    spec = DataSpec("--dataset-name", dataset=HubDatasetArguments(dataset_name=name, **options))
    return open_collection(spec, Storage(), Path("unused"), "auto")


def test_a_local_dataset_repository_streams_through_load_dataset(
    repo: Path, tokenizer, tmp_path: Path
) -> None:
    collection = open_dataset(str(repo))
    assert collection.splits == ("train", "validation", "test")
    rows = collection.source("validation", "pick a labelled split with --eval-split")
    assert rows.class_labels == {"label": tuple(NAMES)}  # declared in the dataset card, as the Hub's are
    assert rows.record == [
        {
            "dataset": str(repo),
            "config": None,
            "split": "validation",
            "revision": None,
            "commit": None,
            "path": str(repo),
        }
    ]
    columns = SimpleNamespace(text_column=["text"], label_column="label", label_separator=None)
    how = Tokenizing(columns, tokenizer, 32, LabelMap(tuple(NAMES)).encoder(), "evaluation data")
    encoded = encode_source(rows, how, tmp_path / "tokens", chunk_rows=4)
    expected = [
        line.rsplit(",", 1) for line in (repo / "data" / "validation.csv").read_text().splitlines()[1:]
    ]
    assert encoded.labels.tolist() == [int(label) for _, label in expected]
    first = tokenizer(expected[0][0])["input_ids"]
    assert encoded.input_ids[: encoded.lengths[0]].tolist() == first


def test_the_unlabelled_test_split_is_named_with_the_fix(repo: Path, tokenizer, tmp_path: Path) -> None:
    rows = open_dataset(str(repo)).source("test", "pick a labelled split with --eval-split")
    how = Tokenizing(
        SimpleNamespace(text_column=["text"], label_column="label", label_separator=None),
        tokenizer,
        32,
        LabelMap(tuple(NAMES)).encoder(),
        "evaluation data",
    )
    with pytest.raises(DataError) as unlabelled:
        encode_source(rows, how, tmp_path / "tokens")
    assert str(unlabelled.value).startswith(
        f"split 'test' of dataset {repo} has rows without a label (-1, the Hub's mark for unlabelled test splits)"
    )
    assert str(unlabelled.value).endswith(": pick a labelled split with --eval-split")


def test_a_missing_split_names_the_splits_there_are(repo: Path) -> None:
    with pytest.raises(
        NotFoundError, match=r"has no split 'dev'; its splits are train, validation, test: fix --split"
    ):
        choose_split(open_dataset(str(repo)), "dev", ("test",), "--split")


def test_a_dataset_with_configurations_needs_one(tmp_path: Path) -> None:
    for config in ("first", "second"):
        local_dataset_repo(tmp_path / "multi" / config, {"train": 3})
    (tmp_path / "multi" / "README.md").write_text(
        "---\nconfigs:\n- config_name: first\n  data_files: first/data/*.csv\n"
        "- config_name: second\n  data_files: second/data/*.csv\n---\n"
    )
    with pytest.raises(
        UsageError, match=r"Please pick one among the available configs: \['first', 'second'\]"
    ):
        open_dataset(str(tmp_path / "multi"))
    with pytest.raises(UsageError, match="fix --dataset-config-name"):
        open_dataset(str(tmp_path / "multi"), dataset_config_name="third")
    assert open_dataset(str(tmp_path / "multi"), dataset_config_name="second").splits == ("train",)


def test_offline_a_hub_dataset_not_in_the_cache_is_not_found() -> None:
    assert constants.HF_HUB_OFFLINE  # the suite runs offline
    with pytest.raises(
        NotFoundError, match=r"dataset 'imdb' is not in the local cache and HF_HUB_OFFLINE is set"
    ):
        open_dataset("imdb")


class _Hub(BaseHTTPRequestHandler):
    """Answers the Hub API's dataset info request for each path in `answers` (status, X-Error-Code, body)."""

    answers: ClassVar[dict[str, tuple[int, str, dict]]] = {}
    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.asked.append(self.path.split("?")[0])
        status, code, body = self.answers.get(self.path.split("?")[0], (404, "RepoNotFound", {}))
        data = json.dumps(body).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[type[_Hub]]:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    _Hub.answers = {
        "/api/datasets/team/reviews/revision/v2": (200, "", {"id": "team/reviews", "sha": COMMIT}),
        "/api/datasets/team/reviews/revision/v9": (404, "RevisionNotFound", {"error": "Invalid rev id: v9"}),
        "/api/datasets/team/gated": (403, "GatedRepo", {"error": "gated"}),
        "/api/datasets/team/busy": (503, "", {}),
    }
    _Hub.asked = []
    try:
        yield _Hub
    finally:
        server.shutdown()
        server.server_close()


def test_a_revision_is_pinned_to_its_commit(fake_hub: type[_Hub]) -> None:
    assert hub_datasets.pin("team/reviews", "v2") == COMMIT
    assert fake_hub.asked == ["/api/datasets/team/reviews/revision/v2"]


def test_every_split_is_read_at_the_pinned_commit_which_run_json_records(
    fake_hub: type[_Hub], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Hub id's revision is resolved once; `datasets.load_dataset` (served here from the local repository, as
    the loopback Hub serves no files) is asked for that commit, and the record names both."""
    import datasets

    asked = []

    def load(args: HubDatasetArguments, revision: str | None) -> object:
        asked.append((args.dataset_name, revision))
        return datasets.load_dataset(str(repo), streaming=True)

    monkeypatch.setattr(hub_datasets, "_load", load)
    opened = open_dataset("team/reviews", dataset_revision="v2")
    assert asked == [("team/reviews", COMMIT)]
    assert opened.source("validation", "").record == [
        {"dataset": "team/reviews", "config": None, "split": "validation", "revision": "v2", "commit": COMMIT}
    ]


@pytest.mark.parametrize(
    ("name", "revision", "error", "text"),
    [
        (
            "team/reviews",
            "v9",
            NotFoundError,
            "dataset 'team/reviews' has no revision 'v9': fix --dataset-revision",
        ),
        ("team/absent", None, NotFoundError, "check --dataset-name; a private one needs HF_TOKEN"),
        ("team/gated", None, AccessDeniedError, "dataset 'team/gated' is gated on the Hub"),
        ("team/busy", None, RetryableError, ": HTTP 503 (retryable;"),
    ],
)
def test_the_hubs_answer_decides_the_exit_code(
    fake_hub: type[_Hub], name: str, revision: str | None, error: type, text: str
) -> None:
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        hub_datasets.pin(name, revision)


def test_an_unreachable_hub_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    endpoint = closed_port_url()
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    with pytest.raises(RetryableError) as outage:
        hub_datasets.pin("imdb", None)
    assert str(outage.value) == (
        f"cannot reach the Hugging Face Hub at {endpoint} for dataset 'imdb': [Errno 111] Connection refused "
        "(retryable; offline clusters save_to_disk the dataset to a bucket and pass its s3:// prefix as the data)"
    )


def test_a_local_folder_or_offline_mode_asks_the_hub_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "ENDPOINT", closed_port_url())
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert hub_datasets.pin(str(repo), "v1") is None
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert hub_datasets.pin("imdb", "v1") is None
