"""A loopback stand-in for the Kubernetes API server, as strict as a real one where the launcher can tell.

It answers the calls the launcher makes with full objects the official client deserializes with validation on,
`Status` bodies for errors, label and field selectors, `dryRun=All` and chunked streaming for followed logs, and:

- **RBAC**: every request is authorized against the Role and ClusterRole objects `k8s/` ships (`fake_rbac`): a verb
  they do not grant is a 403 worded as kube-apiserver words it. Setting `blockOwnerDeletion: true` needs `update` on
  the owner's `finalizers` subresource, as the OwnerReferencesPermissionEnforcement admission plugin demands.
- **Garbage collection**: deleting an object with `propagationPolicy` Background removes it at once and its
  dependents (by ownerReference uid) `gc_delay` seconds later; Foreground marks it (`deletionTimestamp`,
  `foregroundDeletion` finalizer) and removes it after its dependents; Orphan (a Job's REST default) strips the
  references. Objects whose owners are all gone are collected too.
- **resourceVersion / 409**: every write bumps a global resourceVersion; creating a name that exists (or is still
  being deleted) is 409 AlreadyExists; an update or delete whose precondition is stale is 409 Conflict.

There is no Job controller: tests move Jobs and pods through their states with the helpers of `FakeKubeApi`
(`add_pod`, `run_pod`, `terminate_pod`, `complete_job`, `fail_job`), directly or as a `script` whose steps run one
per GET of the Job, so `--wait` polls see them in order.
"""

import copy
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from integration.launcher.fake_controller import ControllerHelpers
from integration.launcher.fake_rbac import Rbac, Request, forbidden_message

Obj = dict[str, Any]
Key = tuple[str, str, str]
"""(resource, namespace, name) of a stored object."""

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
USER = "alice"

KINDS: dict[str, tuple[str, str, str]] = {
    "jobs": ("Job", "batch", "v1"),
    "pods": ("Pod", "", "v1"),
    "services": ("Service", "", "v1"),
    "events": ("Event", "", "v1"),
    "networkpolicies": ("NetworkPolicy", "networking.k8s.io", "v1"),
}
"""resource -> (kind, API group, version) of everything the fake stores."""

DEFAULT_PROPAGATION = {"jobs": "Orphan"}
"""batch/v1 Jobs orphan their pods when deleted over REST without a policy (kubectl sends Background)."""

_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>[a-z]+)(?:/(?P<name>[^/]+)(?:/(?P<sub>[a-z]+))?)?$"
)
_VERBS = {("GET", True): "get", ("GET", False): "list", ("POST", False): "create", ("PUT", True): "update"}
_VERBS |= {("DELETE", True): "delete", ("DELETE", False): "deletecollection"}


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


def _owner_uids(obj: Obj) -> set[str]:
    return {ref["uid"] for ref in obj["metadata"].get("ownerReferences") or []}


class FakeKubeApi(ControllerHelpers):
    """State plus an HTTP server on 127.0.0.1 (ephemeral port). Use as a context manager."""

    def __init__(
        self, namespaces: tuple[str, ...] = ("default", "ml"), rbac: Rbac | None = None, gc_delay: float = 0.2
    ) -> None:
        self.namespaces = set(namespaces)
        self.objects: dict[Key, Obj] = {}
        self.logs: dict[tuple[str, str], dict[str, str]] = {}
        self.log_written: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
        """When each part of a pod's current log was written (`sinceSeconds` reads it)."""
        self.rbac = rbac if rbac is not None else Rbac.shipped()
        """Who may do what; replace it (`api.rbac = api.rbac.without(...)`) to take a verb away."""
        self.gc_delay = gc_delay
        """Seconds between a Background/Foreground delete and the collection of the dependents."""
        self.invalid: str | None = None
        """When set, creating a Job is answered with 422 and this message."""
        self.token: str | None = "test-token"
        """Bearer token every request must carry (401 otherwise); None accepts any."""
        self.scripts: dict[tuple[str, str], list[Callable[[FakeKubeApi], None]]] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        """(method, path+query, Authorization header) of every request."""
        self.lock = threading.RLock()
        self._clock = itertools.count(1)
        self._rv = itertools.count(1)
        self._timers: list[threading.Timer] = []
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
        for timer in self._timers:
            timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    # ---- views of the store --------------------------------------------------------------------------------

    def _of(self, resource: str) -> dict[tuple[str, str], Obj]:
        with self.lock:
            return {(ns, name): obj for (r, ns, name), obj in self.objects.items() if r == resource}

    @property
    def jobs(self) -> dict[tuple[str, str], Obj]:
        return self._of("jobs")

    @property
    def pods(self) -> dict[tuple[str, str], Obj]:
        return self._of("pods")

    @property
    def services(self) -> dict[tuple[str, str], Obj]:
        return self._of("services")

    @property
    def network_policies(self) -> dict[tuple[str, str], Obj]:
        return self._of("networkpolicies")

    def job(self, ns: str, name: str) -> Obj:
        return self.objects[("jobs", ns, name)]

    # ---- time and metadata -------------------------------------------------------------------------------

    def clock(self) -> datetime:
        """The store's time: one second later at each reading."""
        return _EPOCH + timedelta(seconds=next(self._clock))

    def now(self) -> str:
        return self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")

    def touch(self, obj: Obj) -> None:
        """A write: the object gets a new resourceVersion."""
        obj["metadata"]["resourceVersion"] = str(next(self._rv))

    def _meta(self, metadata: Obj, namespace: str) -> Obj:
        meta = {**metadata, "namespace": namespace, "uid": str(uuid.uuid4()), "generation": 1}
        meta["creationTimestamp"] = self.now()
        meta["resourceVersion"] = str(next(self._rv))
        return meta

    def store(self, resource: str, obj: Obj) -> Obj:
        with self.lock:
            self.objects[(resource, obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
        return obj

    # ---- garbage collection ----------------------------------------------------------------------------------

    def _schedule_gc(self) -> None:
        timer = threading.Timer(self.gc_delay, self.collect_garbage)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def collect_garbage(self) -> None:
        """One pass of the garbage collector, repeated until nothing changes: dependents of objects in foreground
        deletion go, such objects go once their dependents are gone, and objects whose owners are all gone go."""
        with self.lock:
            changed = True
            while changed:
                changed = False
                uids = {obj["metadata"]["uid"]: key for key, obj in self.objects.items()}
                foreground = {
                    obj["metadata"]["uid"]
                    for obj in self.objects.values()
                    if "foregroundDeletion" in (obj["metadata"].get("finalizers") or [])
                }
                for key, obj in list(self.objects.items()):
                    owners = _owner_uids(obj)
                    orphaned = owners and not (owners & set(uids))
                    if orphaned or (owners and owners <= foreground):
                        del self.objects[key]
                        changed = True
                for uid in foreground:
                    key = uids[uid]
                    if not any(uid in _owner_uids(o) for o in self.objects.values()) and key in self.objects:
                        del self.objects[key]
                        changed = True

    # ---- request handling ----------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: Obj | None) -> tuple[int, Any]:
        m = _PATH.match(path)
        if not m:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        resource, ns, name, sub = m["resource"], m["ns"], m["name"], m["sub"]
        group = m["group"] or ""
        verb = _VERBS.get((method, name is not None))
        if verb is None:
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow {method} here")
        request = Request(verb, group, f"{resource}/{sub}" if sub else resource, ns)
        if not self.rbac.allows(request):
            raise ApiError(
                403, "Forbidden", forbidden_message(request, USER), {"name": name or "", "kind": resource}
            )
        if resource not in KINDS:  # authorized first, as kube-apiserver does
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        with self.lock:
            if sub == "log":
                return self._log(ns, name, query)
            if verb == "list":
                return self._list(resource, ns, query)
            if ns is not None and ns not in self.namespaces:
                raise ApiError(
                    404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"}
                )
            if verb == "create":
                return self._create(resource, ns, query, body or {})
            if verb == "get":
                return 200, self._get(resource, ns, name, run_script=True)
            if verb == "update":
                return self._update(resource, ns, name, body or {})
            return self._delete(resource, ns, name, query, body or {})

    def _not_found(self, resource: str, name: str) -> ApiError:
        group = KINDS[resource][1]
        qualified = f"{resource}.{group}" if group else resource
        details = {"name": name, "group": group, "kind": resource}
        return ApiError(404, "NotFound", f'{qualified} "{name}" not found', details)

    def _get(self, resource: str, ns: str, name: str, run_script: bool = False) -> Obj:
        if (resource, ns, name) not in self.objects:
            raise self._not_found(resource, name)
        steps = self.scripts.get((ns, name)) if run_script and resource == "jobs" else None
        if steps:
            steps.pop(0)(self)
        return self.objects[(resource, ns, name)]

    def _list(self, resource: str, ns: str | None, query: dict[str, str]) -> tuple[int, Obj]:
        kind, group, version = KINDS[resource]
        items = [
            obj
            for (r, n, _), obj in self.objects.items()
            if r == resource
            and (ns is None or n == ns)
            and matches_labels(obj["metadata"].get("labels") or {}, query.get("labelSelector"))
            and matches_fields(obj, query.get("fieldSelector"))
        ]
        items.sort(key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))
        rv = str(next(self._rv))
        api_version = f"{group}/{version}" if group else version
        metadata = {"resourceVersion": rv}
        return 200, {"kind": f"{kind}List", "apiVersion": api_version, "metadata": metadata, "items": items}

    def _check_owner_references(self, obj: Obj, ns: str) -> None:
        for ref in obj["metadata"].get("ownerReferences") or []:
            owner = next((r for r, (k, _, _) in KINDS.items() if k == ref["kind"]), ref["kind"].lower() + "s")
            group = ref["apiVersion"].rpartition("/")[0]
            request = Request("update", group, f"{owner}/finalizers", ns)
            if ref.get("blockOwnerDeletion") and not self.rbac.allows(request):
                raise ApiError(
                    403,
                    "Forbidden",
                    f'{obj["kind"].lower()}s "{obj["metadata"]["name"]}" is forbidden: cannot set '
                    "blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on",
                )

    def _create(self, resource: str, ns: str, query: dict[str, str], body: Obj) -> tuple[int, Obj]:
        kind, group, _ = KINDS[resource]
        name = body["metadata"]["name"]
        if body["metadata"].get("namespace", ns) != ns:
            raise ApiError(
                400, "BadRequest", "the namespace of the provided object does not match the request"
            )
        if self.invalid and resource == "jobs":
            details = {"name": name, "group": group, "kind": kind}
            raise ApiError(422, "Invalid", f'{kind}.{group} "{name}" is invalid: {self.invalid}', details)
        self._check_owner_references(body, ns)
        if (resource, ns, name) in self.objects:
            qualified = f"{resource}.{group}" if group else resource
            details = {"name": name, "group": group, "kind": resource}
            raise ApiError(409, "AlreadyExists", f'{qualified} "{name}" already exists', details)
        obj = copy.deepcopy(body)
        obj["metadata"] = self._meta(obj["metadata"], ns)
        getattr(self, f"_default_{resource}", lambda o: None)(obj)
        if query.get("dryRun") != "All":
            self.store(resource, obj)
        return 201, obj

    def _default_jobs(self, job: Obj) -> None:
        uid, name = job["metadata"]["uid"], job["metadata"]["name"]
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

    def _default_services(self, service: Obj) -> None:
        service["spec"].setdefault("type", "ClusterIP")
        service["spec"].setdefault("sessionAffinity", "None")
        service["status"] = {"loadBalancer": {}}

    def _check_preconditions(self, obj: Obj, preconditions: Obj, resource: str) -> None:
        meta = obj["metadata"]
        for field in ("uid", "resourceVersion"):
            if preconditions.get(field) and preconditions[field] != meta[field]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {resource} "{meta["name"]}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                )

    def _update(self, resource: str, ns: str, name: str, body: Obj) -> tuple[int, Obj]:
        current = self._get(resource, ns, name)
        self._check_preconditions(
            current, {"resourceVersion": body["metadata"].get("resourceVersion")}, resource
        )
        updated = copy.deepcopy(body)
        updated["metadata"] = {
            **current["metadata"],
            **{k: v for k, v in body["metadata"].items() if k != "uid"},
        }
        self.touch(updated)
        return 200, self.store(resource, updated)

    def _delete(self, resource: str, ns: str, name: str, query: dict[str, str], body: Obj) -> tuple[int, Obj]:
        obj = self._get(resource, ns, name)
        self._check_preconditions(obj, body.get("preconditions") or {}, resource)
        policy = query.get("propagationPolicy") or body.get("propagationPolicy")
        policy = policy or DEFAULT_PROPAGATION.get(resource, "Background")
        uid = obj["metadata"]["uid"]
        if policy == "Orphan":
            for dependent in self.objects.values():
                refs = dependent["metadata"].get("ownerReferences") or []
                dependent["metadata"]["ownerReferences"] = [r for r in refs if r["uid"] != uid]
            del self.objects[(resource, ns, name)]
        elif policy == "Foreground":
            obj["metadata"].setdefault("deletionTimestamp", self.now())
            obj["metadata"]["finalizers"] = ["foregroundDeletion"]
            self.touch(obj)
            self._schedule_gc()
            return 200, obj
        else:
            del self.objects[(resource, ns, name)]
            self._schedule_gc()
        details = {"name": name, "group": KINDS[resource][1], "kind": resource, "uid": uid}
        return 200, {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        }

    def _log(self, ns: str, name: str, query: dict[str, str]) -> tuple[int, Any]:
        pod = self.objects.get(("pods", ns, name))
        if pod is None:
            raise self._not_found("pods", name)
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
        text = logs["current"]
        if "sinceSeconds" in query:
            # The kubelet keeps a time per line; here each write (`log_written`) has the store's clock time.
            oldest = self.clock() - timedelta(seconds=int(query["sinceSeconds"]))
            text = "".join(chunk for at, chunk in self.log_written.get((ns, name), []) if at >= oldest)
        if "tailLines" in query:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[len(lines) - int(query["tailLines"]) :]) if int(query["tailLines"]) else ""
        return 200, text


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

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - BaseHTTPRequestHandler's names

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
- name: {USER}
  user:
    token: {token}
contexts:
- name: fake
  context:
    cluster: fake
    user: {USER}
{"    namespace: " + namespace if namespace else ""}
- name: no-namespace
  context:
    cluster: fake
    user: {USER}
current-context: fake
"""
