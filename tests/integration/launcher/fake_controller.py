"""What the Job controller, the scheduler and the kubelet would do, as helpers tests call on the fake API server.

Mixed into `fake_kube_api.FakeKubeApi`, whose store (`objects`, `store`, `job`, `_meta`, `now`, `touch`, `lock`,
`logs`, `scripts`) they use.
"""

import copy
import uuid
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]


class ControllerHelpers:
    objects: dict[tuple[str, str, str], Obj]
    logs: dict[tuple[str, str], dict[str, str]]
    log_written: dict[tuple[str, str], list[tuple[Any, str]]]
    clock: Callable[[], Any]
    scripts: dict[tuple[str, str], list[Callable[[Any], None]]]
    lock: Any
    job: Callable[[str, str], Obj]
    store: Callable[[str, Obj], Obj]
    now: Callable[[], str]
    touch: Callable[[Obj], None]
    _meta: Callable[[Obj, str], Obj]

    def add_pod(self, ns: str, job_name: str) -> str:
        """A new pending pod of the Job, made from its template as the Job controller does (owned by the Job,
        blocking its foreground deletion)."""
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
            pod = {
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
            self.store("pods", pod)
            job["status"]["active"] = job["status"].get("active", 0) + 1
            job["status"].setdefault("startTime", self.now())
            self.touch(job)
            return name

    def pod(self, ns: str, name: str) -> Obj:
        return self.objects[("pods", ns, name)]

    def add_event(self, ns: str, pod: str, reason: str, message: str, type_: str = "Warning") -> None:
        with self.lock:
            stamp = self.now()
            event = {
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
            self.store("events", event)

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
            obj = self.pod(ns, pod)
            obj["spec"]["nodeName"] = "gpu-node-1"
            obj["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
            state = {"waiting": {"reason": reason, "message": message}}
            obj["status"]["containerStatuses"] = [self._container_status(obj, state)]
            self.touch(obj)

    def run_pod(
        self, ns: str, pod: str, log: str = "", restarts: int = 0, previous_log: str | None = None
    ) -> None:
        with self.lock:
            obj = self.pod(ns, pod)
            obj["spec"]["nodeName"] = "gpu-node-1"
            obj["status"].update(
                phase="Running",
                startTime=self.now(),
                conditions=[{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
            )
            last = {"terminated": {"exitCode": 75, "reason": "Error"}} if restarts else None
            state = {"running": {"startedAt": self.now()}}
            obj["status"]["containerStatuses"] = [self._container_status(obj, state, restarts, last)]
            self.touch(obj)
            self.logs[(ns, pod)] = {"current": log, **({"previous": previous_log} if previous_log else {})}
            self.log_written[(ns, pod)] = [(self.clock(), log)]
            owner = obj["metadata"]["ownerReferences"][0]["name"]
            self.job(ns, owner)["status"]["ready"] = 1

    def terminate_pod(
        self, ns: str, pod: str, exit_code: int, message: str | None = None, log: str = ""
    ) -> None:
        with self.lock:
            obj = self.pod(ns, pod)
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
            self.touch(obj)
            self.write_log(ns, pod, log)
            job = self.job(ns, obj["metadata"]["ownerReferences"][0]["name"])
            status = job["status"]
            status["active"] = max(0, status.get("active", 0) - 1)
            status["ready"] = 0
            outcome = "succeeded" if exit_code == 0 else "failed"
            status[outcome] = status.get(outcome, 0) + 1
            self.touch(job)

    def write_log(self, ns: str, pod: str, text: str) -> None:
        """The trainer writes more to its log."""
        with self.lock:
            self.logs.setdefault((ns, pod), {"current": ""})["current"] += text
            self.log_written.setdefault((ns, pod), []).append((self.clock(), text))

    def admit_job(self, ns: str, job_name: str) -> None:
        """What Kueue does when the Job's ClusterQueue has quota for it: unsuspend it."""
        with self.lock:
            job = self.job(ns, job_name)
            job["spec"]["suspend"] = False
            self.touch(job)

    def _conditions(self, ns: str, job_name: str, types: tuple[str, ...], reason: str, message: str) -> None:
        stamp = self.now()
        job = self.job(ns, job_name)
        job["status"].setdefault("conditions", []).extend(
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
        self.touch(job)

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

    def script(self, ns: str, job_name: str, steps: list[Callable[[Any], None]]) -> None:
        """Run one step per GET of the Job, before answering it."""
        self.scripts[(ns, job_name)] = list(steps)
