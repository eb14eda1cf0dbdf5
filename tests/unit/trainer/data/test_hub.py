"""A Hub model id is checked with one request first: an outage is exit 75 in seconds without retry spam, a model
that does not exist exit 4. Loopback servers only: a closed port and a tiny HTTP server."""

import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from huggingface_hub import constants

from support.s3servers import closed_port_url
from trainer.data import hub
from trainer.errors import AccessDeniedError, NotFoundError, RetryableError


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """huggingface_hub read HF_HUB_OFFLINE=1 (the suite's setting) at import: switch it back for these tests."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))


def _serve(status: int, headers: dict[str, str]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hub_answering(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, online: None
) -> Iterator[str]:
    status, headers = request.param
    for url in _serve(status, headers):
        monkeypatch.setattr(constants, "ENDPOINT", url)
        yield url


def test_no_route_to_the_hub_is_retryable_at_once_in_one_line(
    monkeypatch: pytest.MonkeyPatch, online: None, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = closed_port_url()
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING), pytest.raises(RetryableError) as outage:
        hub.locate("bert-base-cased")
    assert time.perf_counter() - started < 2.0
    assert str(outage.value) == (
        f"cannot reach the Hugging Face Hub at {endpoint} for model 'bert-base-cased': [Errno 111] Connection "
        "refused (retryable; offline clusters stage the model in a bucket and pass its s3:// prefix)"
    )
    assert caplog.records == []  # no retry warnings


@pytest.mark.parametrize(
    ("hub_answering", "error", "text"),
    [
        ((404, {"X-Error-Code": "RepoNotFound"}), NotFoundError, "(HTTP 404, RepoNotFound): check --model"),
        ((401, {"X-Error-Code": "RepoNotFound"}), NotFoundError, "(HTTP 401, RepoNotFound): check --model"),
        ((404, {"X-Error-Code": "EntryNotFound"}), NotFoundError, "(HTTP 404, EntryNotFound)"),
        ((403, {"X-Error-Code": "GatedRepo"}), AccessDeniedError, "is gated on the Hub"),
        ((503, {}), RetryableError, "answered HTTP 503"),
        ((429, {}), RetryableError, "answered HTTP 429"),
    ],
    indirect=["hub_answering"],
)
def test_the_hubs_answer_decides_the_exit_code(hub_answering: str, error: type, text: str) -> None:
    with pytest.raises(error) as raised:
        hub.locate("no-such-org/no-such-model")
    assert text in str(raised.value)


@pytest.mark.parametrize("hub_answering", [(200, {})], indirect=True)
def test_a_model_the_hub_has_is_left_to_transformers(hub_answering: str) -> None:
    assert hub.locate("bert-base-cased") == "bert-base-cased"


def test_a_cached_model_is_used_while_the_hub_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, online: None
) -> None:
    monkeypatch.setattr(constants, "ENDPOINT", closed_port_url())
    repo = Path(constants.HF_HUB_CACHE) / "models--bert-base-cased"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    assert hub.locate("bert-base-cased") == snapshot


def test_offline_mode_asks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "ENDPOINT", closed_port_url())
    assert hub.locate("bert-base-cased") == "bert-base-cased"


@pytest.mark.parametrize("hub_answering", [(200, {"X-Repo-Commit": "0123abcd"})], indirect=True)
def test_a_model_revision_is_resolved_to_its_commit(hub_answering: str) -> None:
    located = hub.probe("team/classifier", "v1.0")
    assert (located.target, located.commit) == ("team/classifier", "0123abcd")


@pytest.mark.parametrize("hub_answering", [(404, {"X-Error-Code": "RevisionNotFound"})], indirect=True)
def test_a_missing_model_revision_names_its_flag(hub_answering: str) -> None:
    with pytest.raises(NotFoundError) as missing:
        hub.probe("team/classifier", "v9")
    assert (
        str(missing.value) == "model 'team/classifier' has no revision 'v9' on the Hub: fix --model-revision"
    )
