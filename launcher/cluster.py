"""The only module that talks to the Kubernetes API.

`Cluster` takes injected `BatchV1Api`/`CoreV1Api` objects and turns API and connection failures into launcher
errors; `connect` is the one place that reads kubeconfig.
"""

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from launcher import labels
from launcher.errors import (
    AlreadyExistsError,
    ClusterConfigError,
    ForbiddenError,
    LauncherError,
    NotFoundError,
    RejectedError,
    WaitTimeoutError,
)
from launcher.manifests import Manifest
from launcher.settings import ConnectionSettings
from launcher.status import JobStatus, summarize

DEFAULT_NAMESPACE = "default"
DEFAULT_KUBECONFIG = "~/.kube/config"
IN_CLUSTER_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
REQUEST_TIMEOUT_SECONDS = 30.0
"""Timeout of one non-streaming API request."""


def _message(e: ApiException) -> str:
    try:
        return str(json.loads(e.body)["message"])
    except (TypeError, ValueError, KeyError):
        return f"{e.status} {e.reason}".strip()


def _reason(e: Exception) -> str:
    """The useful end of a urllib3 error (`[Errno 111] Connection refused`), not its whole repr."""
    text = str(getattr(e, "reason", None) or e)
    match = re.search(r"\[Errno -?\d+\][^\"')]*", text)
    return match.group(0).strip() if match else text.splitlines()[0]


@contextmanager
def api_errors(action: str, what: str, namespace: str, host: str = "") -> Iterator[None]:
    """Translate what can go wrong in one API call into a one-line launcher error."""
    try:
        yield
    except ApiException as e:
        message = _message(e)
        if e.status == 401:
            raise ClusterConfigError(
                f"cannot {action}: the API server rejected the credentials ({message})"
            ) from e
        if e.status == 403:
            raise ForbiddenError(
                f"forbidden: cannot {action} in namespace {namespace} ({message}); "
                "ask for the launcher Role from k8s/base"
            ) from e
        if e.status == 404:
            if '"kind":"namespaces"' in (e.body or "").replace(" ", ""):
                raise NotFoundError(f"namespace {namespace} does not exist (pass --namespace)") from e
            raise NotFoundError(f"{what} not found in namespace {namespace}") from e
        if e.status == 409:
            raise AlreadyExistsError(
                f"{what} already exists in namespace {namespace}; pass --replace or another --name"
            ) from e
        if e.status == 422:
            raise RejectedError(f"the API server rejected {what}: {message}") from e
        raise LauncherError(f"cannot {action}: {message}") from e
    except (urllib3.exceptions.HTTPError, OSError) as e:
        where = f" at {host}" if host else ""
        raise ClusterConfigError(
            f"cannot reach the Kubernetes API server{where} to {action}: {_reason(e)}"
        ) from e


@dataclass
class Cluster:
    """API access for one namespace."""

    batch: client.BatchV1Api
    core: client.CoreV1Api
    namespace: str

    def _errors(self, action: str, what: str) -> AbstractContextManager[None]:
        return api_errors(action, what, self.namespace, self.batch.api_client.configuration.host)

    def create(self, manifest: Manifest, dry_run: bool = False) -> dict[str, Any]:
        """Create one manifest (`dry_run`: the server validates and admits it but stores nothing)."""
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        creators: dict[str, Callable[..., Any]] = {
            "Job": self.batch.create_namespaced_job,
            "Service": self.core.create_namespaced_service,  # a multi-node run's headless Service
        }
        with self._errors(f"create {kind} {name}", f"{kind.lower()} {name}"):
            created = creators[kind](
                self.namespace,
                manifest,
                dry_run="All" if dry_run else None,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        return self.batch.api_client.sanitize_for_serialization(created)

    def get_job(self, name: str) -> Any:
        with self._errors(f"get job {name}", f"job {name}"):
            return self.batch.read_namespaced_job(
                name, self.namespace, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )

    def list_jobs(self, all_namespaces: bool = False) -> list[Any]:
        """The launcher's Jobs (by our labels), oldest first."""
        with self._errors("list jobs", "jobs"):
            if all_namespaces:
                result = self.batch.list_job_for_all_namespaces(
                    label_selector=labels.selector(), _request_timeout=REQUEST_TIMEOUT_SECONDS
                )
            else:
                result = self.batch.list_namespaced_job(
                    self.namespace,
                    label_selector=labels.selector(),
                    _request_timeout=REQUEST_TIMEOUT_SECONDS,
                )
        return sorted(result.items, key=lambda job: (job.metadata.creation_timestamp, job.metadata.name))

    def list_pods(self, name: str) -> list[Any]:
        with self._errors(f"list pods of job {name}", "pods"):
            result = self.core.list_namespaced_pod(
                self.namespace,
                label_selector=labels.selector(name),
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        return list(result.items)

    def pod_events(self, pod: str) -> list[Any]:
        with self._errors(f"list events of pod {pod}", "events"):
            result = self.core.list_namespaced_event(
                self.namespace,
                field_selector=f"involvedObject.kind=Pod,involvedObject.name={pod}",
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        return list(result.items)

    def status(self, name: str) -> JobStatus:
        """The run's status; events are read only for pending pods (the scheduler's reasons live there)."""
        job = self.get_job(name)
        pods = self.list_pods(name)
        events = {
            pod.metadata.name: self.pod_events(pod.metadata.name)
            for pod in pods
            if pod.status is None or pod.status.phase in (None, "Pending")
        }
        return summarize(job, pods, events)

    def read_log(self, pod: str, previous: bool = False, follow: bool = False) -> Iterator[bytes]:
        """The trainer container's log of one pod, as chunks (streamed while it runs when `follow`)."""
        with self._errors(f"read the log of pod {pod}", f"pod {pod}"):
            response = self.core.read_namespaced_pod_log(
                pod,
                self.namespace,
                container=labels.CONTAINER_NAME,
                previous=previous,
                follow=follow,
                _preload_content=False,
                _request_timeout=None if follow else REQUEST_TIMEOUT_SECONDS,
            )
        try:
            with self._errors(f"read the log of pod {pod}", f"pod {pod}"):
                yield from response.stream(decode_content=True)
        finally:
            response.release_conn()

    def delete_job(self, name: str) -> None:
        """Delete the Job and, in the background, its pods (without a propagation policy they would stay)."""
        with self._errors(f"delete job {name}", f"job {name}"):
            self.batch.delete_namespaced_job(
                name,
                self.namespace,
                propagation_policy="Background",
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )

    def wait_deleted(self, name: str, timeout: float, poll: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.get_job(name)
            except NotFoundError:
                return
            time.sleep(poll)
        raise WaitTimeoutError(f"job {name} was still being deleted after {timeout:g}s")

    def wait(
        self,
        name: str,
        timeout: float | None,
        poll: float,
        on_change: Callable[[JobStatus], None] = lambda _: None,
    ) -> JobStatus:
        """Poll the run until it succeeds or fails; call `on_change` whenever its progress line changes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last = None
        while True:
            current = self.status(name)
            if current.progress_line() != last:
                last = current.progress_line()
                on_change(current)
            if current.phase.is_terminal():
                return current
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"job {name} is still {current.phase.value} after {timeout:g}s; it keeps running "
                    f"(follow it with `launcher status {name}`)"
                )
            time.sleep(poll)


def kubeconfig_path(explicit: Path | None, environ: dict[str, str]) -> str | None:
    """The kubeconfig to load, as kubectl finds it; None means: use the in-cluster service account."""
    if explicit is not None:
        if not explicit.expanduser().is_file():
            raise ClusterConfigError(f"kubeconfig {explicit} does not exist")
        return str(explicit.expanduser())
    if environ.get("KUBECONFIG"):
        return environ["KUBECONFIG"]
    default = Path(DEFAULT_KUBECONFIG).expanduser()
    if default.is_file():
        return str(default)
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return None
    raise ClusterConfigError(
        "no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG or create ~/.kube/config"
    )


def connect(settings: ConnectionSettings, environ: dict[str, str] | None = None) -> Cluster:
    """Load kubeconfig (or the in-cluster config) and return API access for the resolved namespace."""
    environ = dict(os.environ) if environ is None else environ
    path = kubeconfig_path(settings.kubeconfig, environ)
    try:
        if path is None:
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
            api_client = client.ApiClient(configuration)
            namespace = (
                settings.namespace or IN_CLUSTER_NAMESPACE_FILE.read_text().strip() or DEFAULT_NAMESPACE
            )
        else:
            api_client = config.new_client_from_config(config_file=path, context=settings.context)
            namespace = settings.namespace or _context_namespace(path, settings.context) or DEFAULT_NAMESPACE
    except (ConfigException, OSError, ValueError, yaml.YAMLError) as e:
        raise ClusterConfigError(f"cannot load the Kubernetes configuration: {str(e).splitlines()[0]}") from e
    return Cluster(client.BatchV1Api(api_client), client.CoreV1Api(api_client), namespace)


def _context_namespace(path: str, context: str | None) -> str | None:
    contexts, active = config.list_kube_config_contexts(config_file=path)
    chosen = active if context is None else next((c for c in contexts if c["name"] == context), None)
    return ((chosen or {}).get("context") or {}).get("namespace")
