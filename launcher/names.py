"""Job names: generated (unique, DNS-1123) when not given, validated when given."""

import re
import secrets
import string

MAX_JOB_NAME_LENGTH = 63
"""A Job's name becomes the value of the `batch.kubernetes.io/job-name` label on its pods, and label values
are limited to 63 characters (Kubernetes "Labels and Selectors"); the API server rejects longer Job names."""

SUFFIX_LENGTH = 5
"""Random suffix length: 36**5 (about 60 million) names per prefix, like Kubernetes' own generateName."""

DEFAULT_PREFIX = "train"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ALPHABET = string.ascii_lowercase + string.digits


def validate(name: str) -> str:
    """Return `name` if it is a valid Job name, else raise ValueError saying what is wrong."""
    if not name:
        raise ValueError("a Job name cannot be empty")
    if len(name) > MAX_JOB_NAME_LENGTH:
        raise ValueError(
            f"{name!r} is {len(name)} characters long; a Job name has at most {MAX_JOB_NAME_LENGTH}"
        )
    if not _DNS1123_LABEL.match(name):
        raise ValueError(
            f"{name!r} is not a DNS-1123 label: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (e.g. reviews-42)"
        )
    return name


def sanitize(text: str) -> str:
    """Turn free text (e.g. a model id `google/bert_uncased-L-2`) into a DNS-1123 fragment, maybe empty."""
    text = text.rsplit("/", 1)[-1].lower()
    text = re.sub(r"[^a-z0-9-]+", "-", text)
    return re.sub(r"-{2,}", "-", text).strip("-")


def generate(prefix: str = DEFAULT_PREFIX) -> str:
    """A new unique, valid Job name: the sanitized prefix, a dash and a random suffix."""
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(SUFFIX_LENGTH))
    base = sanitize(prefix)[: MAX_JOB_NAME_LENGTH - SUFFIX_LENGTH - 1].rstrip("-") or DEFAULT_PREFIX
    return validate(f"{base}-{suffix}")
