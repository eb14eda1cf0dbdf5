"""The only module that calls the Kubernetes API.

`Cluster` takes injected `BatchV1Api`/`CoreV1Api`/`NetworkingV1Api` objects and turns API and connection failures
into launcher errors (`launcher.api_errors`); `launcher.connection` builds it from kubeconfig.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

from launcher import labels
from launcher.api_errors import api_errors
from launcher.errors import (
    ClusterConfigError,
    ForbiddenError,
    LauncherError,
    NotFoundError,
    WaitTimeoutError,
)
from launcher.manifests import Manifest
from launcher.status import JobPhase, JobStatus, progress_pod, summarize
from trainer.contract import progress as progress_line

REQUEST_TIMEOUT_SECONDS = 30.0
"""Timeout of one non-streaming API request."""

OWNED_KINDS = ("Service", "NetworkPolicy")
"""Kinds a run's Job may own besides its pods (a multi-node run's headless Service and NetworkPolicy)."""

PROGRESS_TAIL_LINES = 200
"""Log lines read from the end of the chief's log to find the newest progress line: the trainer writes two lines
per `--log-every-steps` steps, TensorFlow's warnings come in bursts of a few dozen."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Cluster:
    """API access for one namespace."""

    batch: client.BatchV1Api
    core: client.CoreV1Api
    networking: client.NetworkingV1Api
    namespace: str
    clock: Callable[[], datetime] = field(default=_now)
    """The time GPU-hours of running pods are counted up to."""

    def _errors(self, action: str, what: str, all_namespaces: bool = False) -> AbstractContextManager[None]:
        host = self.batch.api_client.configuration.host
        return api_errors(action, what, None if all_namespaces else self.namespace, host)

    def _calls(self, kind: str) -> dict[str, Callable[..., Any]]:
        """create/list/delete of one kind the launcher manages."""
        api, suffix = {
            "Job": (self.batch, "job"),
            "Service": (self.core, "service"),
            "NetworkPolicy": (self.networking, "network_policy"),
        }[kind]
        return {verb: getattr(api, f"{verb}_namespaced_{suffix}") for verb in ("create", "list", "delete")}

    def _plain(self, obj: Any) -> Any:
        return self.batch.api_client.sanitize_for_serialization(obj)

    def create(self, manifest: Manifest, dry_run: bool = False) -> dict[str, Any]:
        """Create one manifest (`dry_run`: the server validates and admits it but stores nothing)."""
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        with self._errors(f"create {kind} {name}", f"{kind.lower()} {name}"):
            created = self._calls(kind)["create"](
                self.namespace,
                manifest,
                dry_run="All" if dry_run else None,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        return self._plain(created)

    def delete(self, kind: str, name: str, uid: str | None = None) -> None:
        """Delete one object and, in the background, whatever it owns (without a propagation policy a Job's pods
        would stay). With `uid`, only that very object (a precondition): never a newer one of the same name."""
        options = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid)) if uid else None
        with self._errors(f"delete {kind} {name}", f"{kind.lower()} {name}"):
            self._calls(kind)["delete"](
                name,
                self.namespace,
                propagation_policy="Background",
                body=options,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )

    def delete_job(self, name: str) -> None:
        self.delete("Job", name)

    def get_job(self, name: str) -> Any:
        with self._errors(f"get job {name}", f"job {name}"):
            return self.batch.read_namespaced_job(
                name, self.namespace, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )

    def list_jobs(self, all_namespaces: bool = False, selector: str | None = None) -> list[Any]:
        """The launcher's Jobs (by our labels, or `selector`), oldest first."""
        selector = selector or labels.selector()
        with self._errors("list jobs", "jobs", all_namespaces):
            if all_namespaces:
                result = self.batch.list_job_for_all_namespaces(
                    label_selector=selector, _request_timeout=REQUEST_TIMEOUT_SECONDS
                )
            else:
                result = self.batch.list_namespaced_job(
                    self.namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT_SECONDS
                )
        return sorted(result.items, key=lambda job: (job.metadata.creation_timestamp, job.metadata.name))

    def list_of_run(self, kind: str, name: str) -> list[Any]:
        """Objects of `kind` that carry run `name`'s labels."""
        plural = f"{kind.lower()}s" if kind != "NetworkPolicy" else "networkpolicies"
        with self._errors(f"list {plural} of run {name}", plural):
            result = self._calls(kind)["list"](
                self.namespace, label_selector=labels.selector(name), _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        return list(result.items)

    def list_pods(self, name: str | None = None, selector: str | None = None) -> list[Any]:
        """The pods of run `name`, or those `selector` selects."""
        what = f"list pods of job {name}" if name else "list pods"
        with self._errors(what, "pods"):
            result = self.core.list_namespaced_pod(
                self.namespace,
                label_selector=selector or labels.selector(name),
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        return list(result.items)

    def leftovers(self, name: str, uid: str) -> list[str]:
        """`kind/name` of everything still there that the Job `name` with `uid` owned: the Job itself (while its
        deletion is pending), its pods, its Service and NetworkPolicy."""
        left = []
        try:
            job = self.get_job(name)
            left += [f"job/{name}"] if job.metadata.uid == uid else []
        except NotFoundError:
            pass
        for pod in self.list_pods(name):
            if uid in {ref.uid for ref in pod.metadata.owner_references or []}:
                left.append(f"pod/{pod.metadata.name}")
        for kind in OWNED_KINDS:
            for obj in self.list_of_run(kind, name):
                if uid in {ref.uid for ref in obj.metadata.owner_references or []}:
                    left.append(f"{kind.lower()}/{obj.metadata.name}")
        return left

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
        return summarize(job, pods, events, self.progress(pods), self.clock())

    def statuses(self, jobs: Sequence[Any], selector: str) -> list[JobStatus]:
        """The status of each of `jobs` (this namespace's), from one list of the pods `selector` selects and the
        newest progress of each run that has not finished (no events: `status NAME` reads them)."""
        by_run: dict[str, list[Any]] = {}
        for pod in self.list_pods(selector=selector):
            by_run.setdefault((pod.metadata.labels or {}).get(labels.LABEL_INSTANCE, ""), []).append(pod)
        found = []
        for job in jobs:
            pods = by_run.get(job.metadata.name, [])
            current = summarize(job, pods, now=self.clock())
            if not current.phase.is_terminal() and current.phase is not JobPhase.QUEUED:
                current = summarize(job, pods, progress=self.progress(pods), now=self.clock())
            found.append(current)
        return found

    def progress(self, pods: Sequence[Any]) -> progress_line.Progress | None:
        """The newest progress line in the tail of the chief pod's log; None before the trainer wrote one (or
        when the log is gone). A Role without `pods/log` is an error: it would hide every run's progress."""
        pod = progress_pod(pods)
        if pod is None:
            return None
        try:
            text = b"".join(self.read_log(pod.metadata.name, tail_lines=PROGRESS_TAIL_LINES))
        except (ForbiddenError, ClusterConfigError):
            raise
        except LauncherError:  # the pod or its log is gone, or its container has not started
            return None
        return progress_line.newest(text.decode("utf-8", errors="replace").splitlines())

    def read_log(
        self,
        pod: str,
        previous: bool = False,
        follow: bool = False,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
    ) -> Iterator[bytes]:
        """The trainer container's log of one pod, as chunks (streamed while it runs when `follow`); only its last
        `tail_lines` lines, or those of the last `since_seconds`, when given."""
        with self._errors(f"read the log of pod {pod}", f"pod {pod}"):
            response = self.core.read_namespaced_pod_log(
                pod,
                self.namespace,
                container=labels.CONTAINER_NAME,
                previous=previous,
                follow=follow,
                tail_lines=tail_lines,
                since_seconds=since_seconds,
                _preload_content=False,
                _request_timeout=None if follow else REQUEST_TIMEOUT_SECONDS,
            )
        try:
            with self._errors(f"read the log of pod {pod}", f"pod {pod}"):
                yield from response.stream(decode_content=True)
        finally:
            response.release_conn()

    def wait(
        self,
        name: str,
        timeout: float | None,
        poll: float,
        on_change: Callable[[JobStatus], None] = lambda _: None,
        line: Callable[[JobStatus], str] = JobStatus.progress_line,
    ) -> JobStatus:
        """Poll the run until it succeeds or fails; call `on_change` whenever its `line` changes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last = None
        while True:
            current = self.status(name)
            if line(current) != last:
                last = line(current)
                on_change(current)
            if current.phase.is_terminal():
                return current
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"job {name} is still {current.phase_text} after {timeout:g}s; it keeps running "
                    f"(follow it with `launcher status {name}`)"
                )
            time.sleep(poll)
