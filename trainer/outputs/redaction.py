"""Everything the trainer prints or records passes through the one redaction of `contract.redaction`: URL
credentials and the values of secret-named environment variables (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
HF_TOKEN, ...) become `***`.

`redacted_output` wraps stdout and stderr (the log handler writes to stderr); `scrub` is for text written elsewhere
(run.json, metrics.json, the termination message). Output written by C++ libraries straight to the file
descriptors is not seen here; none of it carries the trainer's settings or environment.
"""

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from trainer.contract.redaction import redact, secret_values


def scrub(text: str) -> str:
    """`text` without URL credentials or the value of any secret-named variable of this process (also as JSON
    escapes it)."""
    secrets = secret_values(os.environ)
    escaped = [json.dumps(s)[1:-1] for s in secrets]
    return redact(text, secrets + [e for e in escaped if e not in secrets])


class RedactingStream:
    """A text stream that masks secrets in everything written to it; everything else is the wrapped stream's."""

    def __init__(self, stream: TextIO, secrets: list[str]) -> None:
        self._stream = stream
        self._secrets = secrets

    def write(self, text: str) -> int:
        self._stream.write(redact(text, self._secrets))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def redacted_output() -> Iterator[None]:
    """Mask secrets in this process's stdout and stderr while the block runs."""
    secrets = secret_values(os.environ)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (
        s if isinstance(s, RedactingStream) else RedactingStream(s, secrets) for s in saved
    )
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
