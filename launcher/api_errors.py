"""What can go wrong in one Kubernetes API call, as a one-line launcher error naming the fix."""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import urllib3
from kubernetes.client.exceptions import ApiException

from launcher.errors import (
    AlreadyExistsError,
    ClusterConfigError,
    ForbiddenError,
    LauncherError,
    NotFoundError,
    RejectedError,
)

ROLE_HINT = "ask for the launcher Role from k8s/base"
CLUSTER_ROLE_HINT = "ask for the ClusterRole from k8s/components/list-all-namespaces"
"""Listing every namespace is a cluster-scope request: a namespace's Role cannot grant it."""


def message(e: ApiException) -> str:
    try:
        return str(json.loads(e.body)["message"])
    except (TypeError, ValueError, KeyError):
        return f"{e.status} {e.reason}".strip()


def reason(e: Exception) -> str:
    """The useful end of a urllib3 error (`[Errno 111] Connection refused`), not its whole repr."""
    text = str(getattr(e, "reason", None) or e)
    match = re.search(r"\[Errno -?\d+\][^\"')]*", text)
    return match.group(0).strip() if match else text.splitlines()[0]


def _from_status(e: ApiException, action: str, what: str, namespace: str | None) -> LauncherError:
    text = message(e)
    where = f"in namespace {namespace}" if namespace else "in all namespaces"
    if e.status == 401:
        return ClusterConfigError(f"cannot {action}: the API server rejected the credentials ({text})")
    if e.status == 403:
        hint = ROLE_HINT if namespace else CLUSTER_ROLE_HINT
        return ForbiddenError(f"forbidden: cannot {action} {where} ({text}); {hint}")
    if e.status == 404:
        if '"kind":"namespaces"' in (e.body or "").replace(" ", ""):
            return NotFoundError(f"namespace {namespace} does not exist (pass --namespace)")
        return NotFoundError(f"{what} not found {where}")
    if e.status == 409:
        # --replace frees a Job's names (and what it owned); anything else of that name is not the launcher's.
        if what.startswith("job "):
            return AlreadyExistsError(f"{what} already exists {where}; pass --replace or another --name")
        return AlreadyExistsError(
            f"{what} already exists {where} and is not this run's: delete it "
            f"(kubectl delete {what.replace(' ', '/', 1)} -n {namespace}) or pass another --name"
        )
    if e.status == 422:
        return RejectedError(f"the API server rejected {what}: {text}")
    return LauncherError(f"cannot {action}: {text}")


@contextmanager
def api_errors(action: str, what: str, namespace: str | None, host: str = "") -> Iterator[None]:
    """Translate what can go wrong in one API call into a one-line launcher error (`namespace` None: a request
    across all namespaces)."""
    try:
        yield
    except ApiException as e:
        raise _from_status(e, action, what, namespace) from e
    except (urllib3.exceptions.HTTPError, OSError) as e:
        where = f" at {host}" if host else ""
        raise ClusterConfigError(
            f"cannot reach the Kubernetes API server{where} to {action}: {reason(e)}"
        ) from e
