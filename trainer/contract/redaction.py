"""What counts as a secret, and the one redaction everything the trainer and the launcher print or record goes
through (logs, error lines, the termination message, run.json, metrics.json).

Two kinds of secrets are masked: credentials inside URLs (`https://user:password@host`) and the values of
environment variables whose names say they hold one (`AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `HF_TOKEN`,
`DB_PASSWORD`, ...). The launcher uses the same name rule to refuse such variables as plain `--env` values.
"""

import itertools
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

MASK = "***"

SECRET_WORDS = frozenset(
    {"SECRET", "SECRETS", "PASSWORD", "PASSWD", "PASSPHRASE", "TOKEN", "TOKENS", "CREDENTIAL", "CREDENTIALS"}
    | {"APIKEY", "PRIVATEKEY", "AUTHKEY"}
)
"""A name segment that alone marks a secret: `HF_TOKEN`, `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`."""

SECRET_ENDINGS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY")
"""A segment ending so marks a secret too: `PGPASSWORD`, `GHTOKEN` (but not `TOKENIZERS`)."""

SECRET_PAIRS = frozenset({("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"), ("AUTH", "KEY")})
"""Adjacent segments that mark a secret: `WANDB_API_KEY`, `AWS_ACCESS_KEY_ID`, `SSH_PRIVATE_KEY`."""

REFERENCE_SUFFIXES = frozenset({"FILE", "PATH", "DIR", "ARN"})
"""A last segment that makes the variable a pointer to a secret, not the secret: `AWS_WEB_IDENTITY_TOKEN_FILE`."""

MIN_SECRET_LENGTH = 6
"""Shorter values are not masked in free text: masking every `1` or `true` would garble logs and hide nothing."""

_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^\s/@:]*(?::[^\s/@]*)?)@")


def looks_like_secret(name: str) -> bool:
    """Whether an environment variable of this name holds a credential, judged by its name's segments
    (`TOKENIZERS_PARALLELISM` does not: TOKENIZERS is not TOKEN)."""
    segments = [s for s in re.split(r"[^A-Z0-9]+", name.upper()) if s]
    if not segments or segments[-1] in REFERENCE_SUFFIXES:
        return False
    if any(segment in SECRET_WORDS or segment.endswith(SECRET_ENDINGS) for segment in segments):
        return True
    return any(pair in SECRET_PAIRS for pair in itertools.pairwise(segments))


def has_url_credentials(url: str) -> bool:
    """Whether a URL carries `user[:password]@` before its host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return bool(parts.netloc) and "@" in parts.netloc


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The values to mask: those of secret-looking variables, long enough to find safely, longest first."""
    values = {v for k, v in environ.items() if looks_like_secret(k) and len(v) >= MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with URL credentials and every value in `secrets` replaced by `***`."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
