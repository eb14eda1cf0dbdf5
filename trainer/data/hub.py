"""Before a Hub model id is loaded: one request that tells an outage (retryable) from a model that does not exist.

Left to itself, huggingface_hub retries every file request five times with backoff and transformers asks for a
dozen files, so a Hub outage costs about a minute and pages of warnings before failing as "cannot load" (exit 4,
do not retry). One HEAD of the model's config.json answers first: no route, a timeout, 429 or 5xx is exit 75
within seconds; 401/404 (the Hub's answer for a repository that does not exist or is private) is exit 4; a gated
model without access is exit 5. A model already in the local cache is used from there when the Hub is
unreachable.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests
from huggingface_hub import constants, try_to_load_from_cache
from huggingface_hub.utils import build_hf_headers, get_session

from trainer.errors import AccessDeniedError, NotFoundError, RetryableError, TrainerError

log = logging.getLogger(__name__)

PROBE_FILE = "config.json"
PROBE_TIMEOUT_S = 10.0
"""huggingface_hub's own request timeout."""
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR_MIN = 500
OFFLINE_HINT = "offline clusters stage the model in a bucket and pass its s3:// prefix"


def connection_reason(error: requests.RequestException) -> str:
    """The part of a connection error that says what went wrong (`[Errno 111] Connection refused`)."""
    text = " ".join(str(error).split())
    for marker in ("[Errno", "Read timed out", "timed out", "Name or service not known"):
        if marker in text:
            return text[text.index(marker) :].split(")")[0].rstrip("'\"")
    return type(error).__name__


def looks_like_path(name: str) -> bool:
    """Whether a --model or --dataset-name names a local folder rather than a Hub id."""
    return name.startswith(("/", "./", "../", "~", "file://")) or Path(name).exists()


@dataclass(frozen=True)
class Located:
    target: Path | str
    """The Hub id, or its cached snapshot folder when the Hub is unreachable."""
    commit: str | None
    """The commit the revision resolved to (None when the Hub was not asked)."""


def locate(model_id: str, timeout: float = PROBE_TIMEOUT_S) -> Path | str:
    """`model_id` if the Hub has it, its cached snapshot folder if the Hub is unreachable but the cache has it."""
    return probe(model_id, timeout=timeout).target


def probe(model_id: str, revision: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> Located:
    """Where `model_id` at `revision` (default: main) loads from, and the commit that revision is at.

    Raises:
        RetryableError: the Hub cannot be reached, throttles or fails (exit 75).
        NotFoundError: no such model or revision, or a private model (exit 4).
        AccessDeniedError: a gated model this token may not read (exit 5).
    """
    if constants.HF_HUB_OFFLINE:
        return Located(model_id, None)  # transformers reads the cache; nothing to ask
    endpoint = constants.ENDPOINT.rstrip("/")
    url = (
        f"{endpoint}/{model_id}/resolve/{quote(revision or constants.DEFAULT_REVISION, safe='')}/{PROBE_FILE}"
    )
    try:
        response = get_session().head(url, headers=build_hf_headers(), timeout=timeout, allow_redirects=True)
    except requests.RequestException as e:
        cached = try_to_load_from_cache(model_id, PROBE_FILE, revision=revision)
        if isinstance(cached, str):
            log.warning(
                "model: the Hub at %s is unreachable (%s); using the cached %s",
                endpoint,
                connection_reason(e),
                model_id,
            )
            return Located(Path(cached).parent, None)
        raise RetryableError(
            f"cannot reach the Hugging Face Hub at {endpoint} for model '{model_id}': {connection_reason(e)} "
            f"(retryable; {OFFLINE_HINT})"
        ) from e
    _raise_for(response, model_id, revision, endpoint)
    return Located(model_id, response.headers.get("X-Repo-Commit"))


def _raise_for(response: requests.Response, model_id: str, revision: str | None, endpoint: str) -> None:
    status, code = response.status_code, response.headers.get("X-Error-Code", "")
    if status < 400:
        return
    if code == "GatedRepo":
        raise AccessDeniedError(
            f"model '{model_id}' is gated on the Hub: accept its terms and pass an HF_TOKEN that may read it "
            "(launcher: --env-from-secret HF_TOKEN=SECRET:KEY)"
        )
    if code == "RevisionNotFound":
        raise NotFoundError(
            f"model '{model_id}' has no revision '{revision}' on the Hub: fix --model-revision"
        )
    if status in (401, 403, 404):
        raise NotFoundError(
            f"model '{model_id}' not found on the Hub at {endpoint} (HTTP {status}{', ' + code if code else ''}): "
            "check --model; a private model needs HF_TOKEN"
        )
    if status == HTTP_TOO_MANY_REQUESTS or status >= HTTP_SERVER_ERROR_MIN:
        raise RetryableError(
            f"the Hugging Face Hub at {endpoint} answered HTTP {status} for model '{model_id}' (retryable; "
            f"{OFFLINE_HINT})"
        )
    raise TrainerError(f"the Hugging Face Hub at {endpoint} answered HTTP {status} for model '{model_id}'")
