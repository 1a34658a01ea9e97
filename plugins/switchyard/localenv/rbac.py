"""Opt-in RBAC enforcement: the emulator answers as an API server would for one identity whose
permissions are the Roles and RoleBindings of a manifest (``deploy/rbac.yaml``).

    python -m switchyard.localenv up --rbac deploy/rbac.yaml [--rbac deploy/rbac-crd-reader.yaml]
    LocalEnvironment(..., rbac=["deploy/rbac.yaml"])

Off by default: the emulator then answers every request as cluster-admin. On, every resource
request is authorised the way the API server's RBAC authoriser does it:

* the identity is the first ServiceAccount of the manifests (user ``system:serviceaccount:NS:NAME``,
  groups ``system:serviceaccounts``, ``system:serviceaccounts:NS``, ``system:authenticated``), or
  the ``user``/``groups`` given;
* a RoleBinding grants its Role's (or a ClusterRole's) rules in its own namespace; a
  ClusterRoleBinding grants a ClusterRole's rules everywhere, cluster-scoped resources included;
* a rule matches when apiGroups, resources (``plural`` or ``plural/subresource``, ``*``), verbs
  and, if it has them, resourceNames match. A request without a name (create, list, watch,
  deletecollection) never matches a rule with resourceNames, as in Kubernetes;
* discovery (``/api``, ``/apis``, ``/version``, ``/openapi``, health) is allowed, as the default
  ``system:discovery`` binding allows it to every authenticated user.

A refused request gets the API server's 403 ``Status`` and a warning in the emulator's log
(category ``rbac``); every allowed request is counted in ``RbacPolicy.allowed`` so a test can see
which permissions were used. The control API (``/_emulator``) is not subject to RBAC.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from switchyard.localenv.behaviours import ConfigError, EmulatorLog

RBAC_GROUP = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class Rule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()

    @classmethod
    def parse(cls, data: dict[str, Any], where: str) -> Rule:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: a rule must be a mapping")
        if data.get("nonResourceURLs"):
            raise ConfigError(f"{where}: nonResourceURLs are not supported by the emulator")
        try:
            return cls(
                tuple(data.get("apiGroups") or ()),
                tuple(data["resources"]),
                tuple(data["verbs"]),
                tuple(data.get("resourceNames") or ()),
            )
        except KeyError as exc:
            raise ConfigError(f"{where}: a rule needs {exc.args[0]}") from None

    def matches(self, verb: str, group: str, resource: str, name: str | None) -> bool:
        plural = resource.split("/", 1)[0]
        sub = resource.split("/", 1)[1] if "/" in resource else None
        resource_ok = any(
            r == "*"
            or r == resource
            or (sub is not None and r == f"*/{sub}")
            or (sub is None and r == plural)
            for r in self.resources
        )
        return (
            ("*" in self.api_groups or group in self.api_groups)
            and resource_ok
            and ("*" in self.verbs or verb in self.verbs)
            and (not self.resource_names or (name is not None and name in self.resource_names))
        )


@dataclass(frozen=True)
class Request:
    verb: str
    group: str
    resource: str  # plural, or plural/subresource
    namespace: str | None
    name: str | None

    def describe(self) -> str:
        target = f"{self.resource}{'.' + self.group if self.group else ''}"
        where = f"namespace {self.namespace}" if self.namespace else "cluster scope"
        return f"{self.verb} {target}{' ' + repr(self.name) if self.name else ''} in {where}"


@dataclass
class RbacPolicy:
    """The rules one identity holds, per namespace (``None``: cluster-wide grants)."""

    user: str
    groups: tuple[str, ...]
    grants: dict[str | None, list[Rule]] = field(default_factory=dict)
    source: str = ""
    events: EmulatorLog | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.allowed: Counter[Request] = Counter()
        self.denied: Counter[Request] = Counter()

    # ------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        paths: str | Path | Sequence[str | Path],
        user: str | None = None,
        groups: tuple[str, ...] | None = None,
    ) -> RbacPolicy:
        """The grants of one or more manifests, read together (a binding may name a role of another file)."""
        paths = [paths] if isinstance(paths, str | Path) else list(paths)
        documents = []
        for path in paths:
            try:
                documents += [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
            except (OSError, yaml.YAMLError) as exc:
                raise ConfigError(f"{path}: cannot read the RBAC manifest: {exc}") from None
        return cls.from_documents(documents, ", ".join(map(str, paths)), user, groups)

    @classmethod
    def from_documents(
        cls,
        documents: list[dict[str, Any]],
        source: str = "<manifest>",
        user: str | None = None,
        groups: tuple[str, ...] | None = None,
    ) -> RbacPolicy:
        roles: dict[tuple[str | None, str], list[Rule]] = {}
        bindings: list[dict[str, Any]] = []
        accounts: list[tuple[str, str]] = []
        for doc in documents:
            kind, meta = doc.get("kind"), doc.get("metadata") or {}
            where = f"{source}: {kind} {meta.get('namespace', '')}/{meta.get('name', '')}"
            if kind in ("Role", "ClusterRole"):
                scope = meta.get("namespace", "default") if kind == "Role" else None
                roles[(scope, meta["name"])] = [Rule.parse(r, where) for r in doc.get("rules") or []]
            elif kind in ("RoleBinding", "ClusterRoleBinding"):
                bindings.append(doc)
            elif kind == "ServiceAccount":
                accounts.append((meta.get("namespace", "default"), meta["name"]))
        if user is None:
            if not accounts:
                raise ConfigError(f"{source}: no ServiceAccount to act as; pass user= and groups=")
            namespace, name = accounts[0]
            user = f"system:serviceaccount:{namespace}:{name}"
            groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")
        policy = cls(user=user, groups=tuple(groups or ("system:authenticated",)), source=source)
        for binding in bindings:
            if not any(policy._is_subject(s) for s in binding.get("subjects") or []):
                continue
            meta, ref = binding.get("metadata") or {}, binding.get("roleRef") or {}
            where = f"{source}: {binding['kind']} {meta.get('name', '')}"
            scope = meta.get("namespace", "default") if binding["kind"] == "RoleBinding" else None
            if ref.get("kind") == "Role":
                if binding["kind"] != "RoleBinding":
                    raise ConfigError(f"{where}: a ClusterRoleBinding can only refer to a ClusterRole")
                rules = roles.get((scope, ref.get("name")))
            else:
                rules = roles.get((None, ref.get("name")))
            if rules is None:
                raise ConfigError(
                    f"{where}: roleRef {ref.get('kind')} {ref.get('name')!r} is not in the manifest"
                )
            policy.grants.setdefault(scope, []).extend(rules)
        return policy

    def _is_subject(self, subject: dict[str, Any]) -> bool:
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "ServiceAccount":
            return self.user == f"system:serviceaccount:{subject.get('namespace', 'default')}:{name}"
        if kind == "User":
            return self.user == name
        if kind == "Group":
            return name in self.groups
        return False

    # ------------------------------------------------------------ deciding
    def allows(self, request: Request) -> bool:
        rules = list(self.grants.get(None, []))
        if request.namespace is not None:
            rules += self.grants.get(request.namespace, [])
        return any(r.matches(request.verb, request.group, request.resource, request.name) for r in rules)

    def authorize(self, request: Request) -> bool:
        """Decide, count and (when refused) log one request."""
        allowed = self.allows(request)
        with self._lock:
            (self.allowed if allowed else self.denied)[request] += 1
        if not allowed and self.events is not None:
            import logging

            self.events.add(
                "rbac", f"forbidden for {self.user}: {request.describe()} ({self.source})", logging.WARNING
            )
        return allowed

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "user": self.user,
                "source": self.source,
                "allowed": [{**r.__dict__, "count": n} for r, n in self.allowed.items()],
                "denied": [{**r.__dict__, "count": n} for r, n in self.denied.items()],
            }
