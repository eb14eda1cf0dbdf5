"""A loopback stand-in for the Kubernetes API server: Jobs, Pods, pod logs and Events, in memory.

It answers the way kube-apiserver does for the calls the launcher makes (full objects that the official client
deserializes with validation on, `Status` bodies for errors, label and field selectors, `dryRun=All`,
`propagationPolicy` on delete, chunked streaming for followed logs). There is no controller: tests move Jobs
and pods through their states with the `add_pod` / `run_pod` / `terminate_pod` / `complete_job` / `fail_job`
helpers, directly or as a `script` whose steps run one per GET of the Job (so `--wait` polls see them in
order).
"""

import copy
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

Obj = dict[str, Any]
Step = Callable[["FakeKubeApi"], None]

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("jobs_all", re.compile(r"^/apis/batch/v1/jobs$")),
    ("jobs", re.compile(r"^/apis/batch/v1/namespaces/(?P<ns>[^/]+)/jobs$")),
    ("job", re.compile(r"^/apis/batch/v1/namespaces/(?P<ns>[^/]+)/jobs/(?P<name>[^/]+)$")),
    ("pods", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods$")),
    ("pod", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)$")),
    ("log", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)/log$")),
    ("events", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/events$")),
    ("services", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/services$")),
]
_RESOURCE = {
    "jobs_all": "jobs",
    "jobs": "jobs",
    "job": "jobs",
    "pods": "pods",
    "pod": "pods",
    "log": "pods/log",
    "services": "services",
}
_VERB = {"POST": "create", "DELETE": "delete"}


def _match(path: str) -> tuple[str, dict[str, str]]:
    for route, pattern in _ROUTES:
        if m := pattern.match(path):
            return route, m.groupdict()
    raise ApiError(404, "NotFound", "the server could not find the requested resource")


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.status: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "details": details or {},
            "code": code,
        }


def _selector_terms(selector: str) -> list[str]:
    return [t.strip() for t in re.split(r",(?![^()]*\))", selector) if t.strip()]


def matches_labels(labels: dict[str, str], selector: str | None) -> bool:
    """Label selector semantics: =, ==, !=, in, notin, exists, !exists."""
    for term in _selector_terms(selector or ""):
        if m := re.match(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$", term):
            key, op, values = m[1], m[2], {v.strip() for v in m[3].split(",")}
            if (op == "in") != (labels.get(key) in values):
                return False
        elif "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = re.split(r"==?", term, maxsplit=1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def matches_fields(obj: Obj, selector: str | None) -> bool:
    for term in _selector_terms(selector or ""):
        path, value = term.split("=", 1)
        current: Any = obj
        for part in path.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        if str(current) != value:
            return False
    return True


class FakeKubeApi:
    """State plus an HTTP server on 127.0.0.1 (ephemeral port). Use as a context manager."""

    def __init__(self, namespaces: tuple[str, ...] = ("default", "ml")) -> None:
        self.namespaces = set(namespaces)
        self.jobs: dict[tuple[str, str], Obj] = {}
        self.pods: dict[tuple[str, str], Obj] = {}
        self.events: list[Obj] = []
        self.services: dict[tuple[str, str], Obj] = {}
        self.logs: dict[tuple[str, str], dict[str, str]] = {}
        self.forbidden: set[tuple[str, str]] = set()
        """(verb, resource) pairs answered with 403, e.g. ("create", "jobs")."""
        self.invalid: str | None = None
        """When set, creating a Job is answered with 422 and this message."""
        self.token: str | None = "test-token"
        """Bearer token every request must carry (401 otherwise); None accepts any."""
        self.scripts: dict[tuple[str, str], list[Step]] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        """(method, path+query, Authorization header) of every request."""
        self.lock = threading.RLock()
        self._clock = itertools.count(1)
        self._rv = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeKubeApi":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- time and metadata -------------------------------------------------------------------------------

    def now(self) -> str:
        return (_EPOCH + timedelta(seconds=next(self._clock))).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _meta(self, metadata: Obj, namespace: str) -> Obj:
        return {
            **metadata,
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "resourceVersion": str(next(self._rv)),
            "generation": 1,
            "creationTimestamp": self.now(),
        }

    # ---- the "controller": helpers tests call to move state ------------------------------------------------

    def job(self, ns: str, name: str) -> Obj:
        return self.jobs[(ns, name)]

    def add_pod(self, ns: str, job_name: str) -> str:
        """A new pending pod of the Job, made from its template as the Job controller does."""
        with self.lock:
            job = self.job(ns, job_name)
            name = f"{job_name}-{uuid.uuid4().hex[:5]}"
            template = copy.deepcopy(job["spec"]["template"])
            labels = {**template["metadata"].get("labels", {}), "batch.kubernetes.io/job-name": job_name}
            labels["job-name"] = job_name
            metadata = self._meta({"name": name, "labels": labels}, ns)
            metadata["ownerReferences"] = [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": job_name,
                    "uid": job["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
            self.pods[(ns, name)] = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": metadata,
                "spec": template["spec"],
                "status": {
                    "phase": "Pending",
                    "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
                    "qosClass": "Guaranteed",
                },
            }
            job["status"]["active"] = job["status"].get("active", 0) + 1
            job["status"].setdefault("startTime", self.now())
            return name

    def add_event(self, ns: str, pod: str, reason: str, message: str, type_: str = "Warning") -> None:
        with self.lock:
            stamp = self.now()
            self.events.append(
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": self._meta({"name": f"{pod}.{uuid.uuid4().hex[:8]}"}, ns),
                    "involvedObject": {"kind": "Pod", "name": pod, "namespace": ns, "apiVersion": "v1"},
                    "reason": reason,
                    "message": message,
                    "type": type_,
                    "count": 1,
                    "firstTimestamp": stamp,
                    "lastTimestamp": stamp,
                    "source": {"component": "default-scheduler"},
                }
            )

    def _container_status(self, pod: Obj, state: Obj, restarts: int = 0, last: Obj | None = None) -> Obj:
        status = {
            "name": pod["spec"]["containers"][0]["name"],
            "image": pod["spec"]["containers"][0]["image"],
            "imageID": "registry.example.com/ml/trainer@sha256:" + "0" * 64,
            "containerID": "containerd://" + uuid.uuid4().hex,
            "ready": "running" in state,
            "started": "running" in state,
            "restartCount": restarts,
            "state": state,
        }
        if last:
            status["lastState"] = last
        return status

    def wait_pod(self, ns: str, pod: str, reason: str, message: str = "") -> None:
        """The container waits (ImagePullBackOff, CreateContainerConfigError ...)."""
        with self.lock:
            obj = self.pods[(ns, pod)]
            obj["spec"]["nodeName"] = "gpu-node-1"
            obj["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
            state = {"waiting": {"reason": reason, "message": message}}
            obj["status"]["containerStatuses"] = [self._container_status(obj, state)]

    def run_pod(
        self, ns: str, pod: str, log: str = "", restarts: int = 0, previous_log: str | None = None
    ) -> None:
        with self.lock:
            obj = self.pods[(ns, pod)]
            obj["spec"]["nodeName"] = "gpu-node-1"
            obj["status"].update(
                phase="Running",
                startTime=self.now(),
                conditions=[{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
            )
            last = {"terminated": {"exitCode": 75, "reason": "Error"}} if restarts else None
            state = {"running": {"startedAt": self.now()}}
            obj["status"]["containerStatuses"] = [self._container_status(obj, state, restarts, last)]
            self.logs[(ns, pod)] = {"current": log, **({"previous": previous_log} if previous_log else {})}
            owner = obj["metadata"]["ownerReferences"][0]["name"]
            self.job(ns, owner)["status"]["ready"] = 1

    def terminate_pod(
        self, ns: str, pod: str, exit_code: int, message: str | None = None, log: str = ""
    ) -> None:
        with self.lock:
            obj = self.pods[(ns, pod)]
            reason = "Completed" if exit_code == 0 else ("OOMKilled" if exit_code == 137 else "Error")
            terminated = {
                "exitCode": exit_code,
                "reason": reason,
                "startedAt": self.now(),
                "finishedAt": self.now(),
            }
            if message:
                terminated["message"] = message
            previous = obj["status"].get("containerStatuses", [{}])[0]
            obj["status"]["phase"] = "Succeeded" if exit_code == 0 else "Failed"
            obj["status"]["containerStatuses"] = [
                self._container_status(obj, {"terminated": terminated}, previous.get("restartCount", 0))
            ]
            self.logs.setdefault((ns, pod), {"current": ""})["current"] += log
            status = self.job(ns, obj["metadata"]["ownerReferences"][0]["name"])["status"]
            status["active"] = max(0, status.get("active", 0) - 1)
            status["ready"] = 0
            status["succeeded" if exit_code == 0 else "failed"] = (
                status.get("succeeded" if exit_code == 0 else "failed", 0) + 1
            )

    def _conditions(self, ns: str, job_name: str, types: tuple[str, ...], reason: str, message: str) -> None:
        stamp = self.now()
        self.job(ns, job_name)["status"].setdefault("conditions", []).extend(
            {
                "type": t,
                "status": "True",
                "reason": reason,
                "message": message,
                "lastProbeTime": stamp,
                "lastTransitionTime": stamp,
            }
            for t in types
        )

    def complete_job(self, ns: str, job_name: str) -> None:
        with self.lock:
            self._conditions(
                ns,
                job_name,
                ("SuccessCriteriaMet", "Complete"),
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            )
            self.job(ns, job_name)["status"]["completionTime"] = self.now()

    def fail_job(self, ns: str, job_name: str, reason: str, message: str) -> None:
        with self.lock:
            self._conditions(ns, job_name, ("FailureTarget", "Failed"), reason, message)

    def script(self, ns: str, job_name: str, steps: list[Step]) -> None:
        """Run one step per GET of the Job, before answering it."""
        self.scripts[(ns, job_name)] = list(steps)

    # ---- request handling ----------------------------------------------------------------------------------

    def _require_namespace(self, ns: str) -> None:
        if ns not in self.namespaces:
            raise ApiError(
                404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"}
            )

    def _not_found(self, kind: str, group: str, name: str) -> ApiError:
        qualified = f"{kind}.{group}" if group else kind
        return ApiError(
            404, "NotFound", f'{qualified} "{name}" not found', {"name": name, "group": group, "kind": kind}
        )

    def handle(self, method: str, path: str, query: dict[str, str], body: Obj | None) -> tuple[int, Any]:
        route, args = _match(path)
        verb = _VERB.get(method, "get" if "name" in args else "list")
        if (verb, _RESOURCE.get(route, route)) in self.forbidden:
            where = f' in the namespace "{args["ns"]}"' if "ns" in args else " at the cluster scope"
            resource = _RESOURCE.get(route, route)
            group = "batch" if "jobs" in resource else ""
            raise ApiError(
                403,
                "Forbidden",
                f'{resource}{"." + group if group else ""} is forbidden: User "alice" cannot {verb} resource '
                f'"{resource}" in API group "{group}"{where}',
                {"kind": resource},
            )
        with self.lock:
            return getattr(self, f"_{route}_{method.lower()}")(query=query, body=body, **args)

    def _list(self, kind: str, api_version: str, items: Iterator[Obj]) -> tuple[int, Obj]:
        return 200, {
            "kind": kind,
            "apiVersion": api_version,
            "metadata": {"resourceVersion": "1"},
            "items": list(items),
        }

    def _jobs_all_get(self, query: dict[str, str], body: None) -> tuple[int, Obj]:
        selector = query.get("labelSelector")
        jobs = (j for j in self.jobs.values() if matches_labels(j["metadata"].get("labels", {}), selector))
        return self._list("JobList", "batch/v1", jobs)

    def _jobs_get(self, ns: str, query: dict[str, str], body: None) -> tuple[int, Obj]:
        selector = query.get("labelSelector")
        jobs = (
            j
            for (n, _), j in self.jobs.items()
            if n == ns and matches_labels(j["metadata"].get("labels", {}), selector)
        )
        return self._list("JobList", "batch/v1", jobs)

    def _jobs_post(self, ns: str, query: dict[str, str], body: Obj) -> tuple[int, Obj]:
        self._require_namespace(ns)
        name = body["metadata"]["name"]
        if body["metadata"].get("namespace", ns) != ns:
            raise ApiError(
                400, "BadRequest", "the namespace of the provided object does not match the request"
            )
        if self.invalid:
            raise ApiError(
                422,
                "Invalid",
                f'Job.batch "{name}" is invalid: {self.invalid}',
                {"name": name, "group": "batch", "kind": "Job"},
            )
        if (ns, name) in self.jobs:
            raise ApiError(
                409,
                "AlreadyExists",
                f'jobs.batch "{name}" already exists',
                {"name": name, "group": "batch", "kind": "jobs"},
            )
        job = copy.deepcopy(body)
        job["metadata"] = self._meta(job["metadata"], ns)
        uid = job["metadata"]["uid"]
        selector = {"batch.kubernetes.io/controller-uid": uid}
        job["spec"].setdefault("completionMode", "NonIndexed")
        job["spec"].setdefault("suspend", False)
        job["spec"].setdefault("podReplacementPolicy", "Failed")
        job["spec"]["selector"] = {"matchLabels": selector}
        labels = job["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {})
        labels.update(
            {**selector, "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name}
        )
        job["status"] = {}
        if query.get("dryRun") != "All":
            self.jobs[(ns, name)] = job
        return 201, job

    def _services_post(self, ns: str, query: dict[str, str], body: Obj) -> tuple[int, Obj]:
        self._require_namespace(ns)
        name = body["metadata"]["name"]
        if (ns, name) in self.services:
            raise ApiError(
                409,
                "AlreadyExists",
                f'services "{name}" already exists',
                {"name": name, "group": "", "kind": "services"},
            )
        service = copy.deepcopy(body)
        service["metadata"] = self._meta(service["metadata"], ns)
        service["spec"].setdefault("type", "ClusterIP")
        service["spec"].setdefault("sessionAffinity", "None")
        service["status"] = {"loadBalancer": {}}
        if query.get("dryRun") != "All":
            self.services[(ns, name)] = service
        return 201, service

    def _job_get(self, ns: str, name: str, query: dict[str, str], body: None) -> tuple[int, Obj]:
        if (ns, name) not in self.jobs:
            raise self._not_found("jobs", "batch", name)
        steps = self.scripts.get((ns, name))
        if steps:
            steps.pop(0)(self)
        return 200, self.jobs[(ns, name)]

    def _job_delete(self, ns: str, name: str, query: dict[str, str], body: Obj | None) -> tuple[int, Obj]:
        job = self.jobs.pop((ns, name), None)
        if job is None:
            raise self._not_found("jobs", "batch", name)
        # batch/v1 Jobs default to orphaning their pods over the REST API (kubectl sends Background).
        policy = query.get("propagationPolicy") or (body or {}).get("propagationPolicy") or "Orphan"
        for key, pod in list(self.pods.items()):
            owners = pod["metadata"].get("ownerReferences", [])
            if key[0] == ns and any(o["uid"] == job["metadata"]["uid"] for o in owners):
                if policy == "Orphan":
                    pod["metadata"]["ownerReferences"] = []
                else:
                    del self.pods[key]
        return 200, {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": "batch", "kind": "jobs", "uid": job["metadata"]["uid"]},
        }

    def _pods_get(self, ns: str, query: dict[str, str], body: None) -> tuple[int, Obj]:
        selector = query.get("labelSelector")
        pods = (
            p
            for (n, _), p in self.pods.items()
            if n == ns and matches_labels(p["metadata"]["labels"], selector)
        )
        return self._list("PodList", "v1", pods)

    def _pod_get(self, ns: str, name: str, query: dict[str, str], body: None) -> tuple[int, Obj]:
        if (ns, name) not in self.pods:
            raise self._not_found("pods", "", name)
        return 200, self.pods[(ns, name)]

    def _log_get(self, ns: str, name: str, query: dict[str, str], body: None) -> tuple[int, Any]:
        pod = self.pods.get((ns, name))
        if pod is None:
            raise self._not_found("pods", "", name)
        container = query.get("container", "trainer")
        if container != pod["spec"]["containers"][0]["name"]:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
        logs = self.logs.get((ns, name))
        if pod["status"]["phase"] == "Pending" or logs is None:
            raise ApiError(
                400,
                "BadRequest",
                f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating',
            )
        if query.get("previous") == "true":
            if "previous" not in logs:
                raise ApiError(
                    400,
                    "BadRequest",
                    f'previous terminated container "{container}" in pod "{name}" not found',
                )
            return 200, logs["previous"]
        return 200, logs["current"]

    def _events_get(self, ns: str, query: dict[str, str], body: None) -> tuple[int, Obj]:
        selector = query.get("fieldSelector")
        events = (e for e in self.events if e["metadata"]["namespace"] == ns and matches_fields(e, selector))
        return self._list("EventList", "v1", events)


def _handler(api: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            api.requests.append((self.command, self.path, self.headers.get("Authorization")))
            try:
                if api.token and self.headers.get("Authorization") != f"Bearer {api.token}":
                    raise ApiError(401, "Unauthorized", "Unauthorized")
                code, payload = api.handle(self.command, url.path, query, body)
            except ApiError as e:
                code, payload = e.status["code"], e.status
            if isinstance(payload, str):
                self._send_text(code, payload, chunked=query.get("follow") == "true")
            else:
                self._send(code, json.dumps(payload).encode(), "application/json")

        def _send(self, code: int, data: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send_text(self, code: int, text: str, chunked: bool) -> None:
            if not chunked:
                self._send(code, text.encode(), "text/plain")
                return
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in text.splitlines(keepends=True):
                data = line.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        do_GET = do_POST = do_DELETE = _serve  # noqa: N815 - BaseHTTPRequestHandler's names

    return Handler


def kubeconfig(server_url: str, namespace: str | None = "ml", token: str = "test-token") -> str:
    """A real kubeconfig pointing at the fake server; the context `no-namespace` sets no namespace."""
    return f"""apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {server_url}
users:
- name: alice
  user:
    token: {token}
contexts:
- name: fake
  context:
    cluster: fake
    user: alice
{"    namespace: " + namespace if namespace else ""}
- name: no-namespace
  context:
    cluster: fake
    user: alice
current-context: fake
"""
