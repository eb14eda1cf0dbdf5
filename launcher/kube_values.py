"""The syntax the API server demands of names, label keys and values, environment variable names and Secret
references, checked before anything is sent, with a message that names the fix (each raises ValueError).

Rules from k8s.io/apimachinery/pkg/util/validation (IsQualifiedName, IsValidLabelValue, IsDNS1123Subdomain) and
the pre-1.30 environment variable name rule (IsEnvVarName), which every supported cluster accepts.
"""

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from trainer.contract.redaction import has_url_credentials, looks_like_secret, redact

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(rf"^{_NAME}$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
MAX_NAME = 63
MAX_SUBDOMAIN = 253


def object_name(value: str) -> str:
    """A Secret, ServiceAccount or PriorityClass name: a DNS-1123 subdomain."""
    if not value or len(value) > MAX_SUBDOMAIN or not _DNS1123_SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a valid object name: lowercase letters, digits, '-' and '.', starting and ending "
            "with a letter or digit"
        )
    return value


def qualified_name(key: str) -> str:
    """A label or annotation key: `[prefix/]name`, prefix a DNS subdomain, name at most 63 characters."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > MAX_SUBDOMAIN or not _DNS1123_SUBDOMAIN.match(prefix)):
        raise ValueError(
            f"key {key!r}: prefix {prefix!r} must be a lowercase DNS subdomain (e.g. example.com)"
        )
    if not name or len(name) > MAX_NAME or not _LABEL_NAME.match(name):
        raise ValueError(
            f"key {key!r} is not a valid label key: at most 63 letters, digits, '-', '_' or '.', starting and "
            "ending with a letter or digit, optionally after a DNS prefix and '/' (e.g. team or example.com/team)"
        )
    return key


def label_value(value: str) -> str:
    if value and (len(value) > MAX_NAME or not _LABEL_NAME.match(value)):
        raise ValueError(
            f"value {value!r} is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting "
            "and ending with a letter or digit"
        )
    return value


def labels(pairs: Mapping[str, str]) -> dict[str, str]:
    return {qualified_name(k): label_value(v) for k, v in pairs.items()}


def annotations(pairs: Mapping[str, str]) -> dict[str, str]:
    return {qualified_name(k): v for k, v in pairs.items()}


def env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a valid environment variable name (letters, digits, '_', '-', '.')"
        )
    return name


def plain_env(pairs: Mapping[str, str]) -> dict[str, str]:
    """`--env` values: no credentials, since they are written into the manifest in plain text."""
    for name, value in pairs.items():
        env_name(name)
        if looks_like_secret(name):
            raise ValueError(
                f"{name} looks like a credential, and --env values are written into the manifest in plain text: "
                f"use --env-from-secret {name}=SECRET:KEY (the AWS keys: --s3-secret)"
            )
        if has_url_credentials(value):
            raise ValueError(
                f"{name}={redact(value)} has credentials in a URL, written into the manifest in plain text: put "
                f"the value in a Secret and use --env-from-secret {name}=SECRET:KEY"
            )
    return dict(pairs)


def secret_key_ref(text: str) -> tuple[str, str]:
    """`SECRET:KEY` as (Secret name, key)."""
    secret, sep, key = text.partition(":")
    if not sep or not key or not _SECRET_KEY.match(key) or len(key) > MAX_SUBDOMAIN:
        raise ValueError(f"{text!r} is not SECRET:KEY (e.g. hf-token:token)")
    return object_name(secret), key


def endpoint(url: str) -> str:
    """An object storage endpoint: http(s)://host[:port][/path], without credentials."""
    if has_url_credentials(url):
        raise ValueError(
            f"{redact(url)} has credentials in the URL, which would be written into the manifest and the logs: "
            "remove them and put the keys in the --s3-secret Secret"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL (e.g. https://minio.storage:9000)")
    return url


def extended_resources(pairs: Mapping[str, str]) -> dict[str, int]:
    """`--resources` values: an extended resource (`rdma/ib`, `nvidia.com/mig-1g.10gb`) and a whole count. Kubernetes
    requires a domain prefix on extended resources (`cpu`, `memory` and `hugepages-*` have their own flags)."""
    counts = {}
    for name, count in pairs.items():
        qualified_name(name)
        if "/" not in name or name.startswith("kubernetes.io/"):
            raise ValueError(
                f"{name!r} is not an extended resource: it needs a domain prefix, e.g. rdma/ib or "
                "example.com/fpga (CPU and memory have --cpu and --memory)"
            )
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{name}={count}: the count must be a whole number of 1 or more")
        counts[name] = int(count)
    return counts
