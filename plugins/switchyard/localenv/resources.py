"""The API resources the emulator serves, as its discovery documents describe them."""

from __future__ import annotations

from dataclasses import dataclass

_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = tuple(_VERBS)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def discovery(self) -> list[dict]:
        """Entries of an ``APIResourceList`` for the resource and its subresources."""
        entries = [
            {
                "name": self.plural,
                "singularName": self.singular,
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": list(self.verbs),
                "shortNames": list(self.short_names),
                "categories": list(self.categories),
            }
        ]
        for sub in self.subresources:
            kind = {"scale": "Scale", "log": "Pod", "proxy": self.kind}.get(sub, self.kind)
            verbs = {"log": ["get"], "proxy": ["create", "delete", "get", "patch", "update"]}.get(
                sub, ["get", "patch", "update"]
            )
            entry = {
                "name": f"{self.plural}/{sub}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": kind,
                "verbs": verbs,
            }
            if sub == "scale":
                entry.update(group="autoscaling", version="v1")
            entries.append(entry)
        return entries


RESOURCE_TYPES: tuple[ResourceType, ...] = (
    ResourceType(
        "", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",), subresources=("status",)
    ),
    ResourceType("", "v1", "Node", "nodes", namespaced=False, short_names=("no",), subresources=("status",)),
    ResourceType(
        "", "v1", "Pod", "pods", short_names=("po",), subresources=("status", "log"), categories=("all",)
    ),
    ResourceType(
        "",
        "v1",
        "Service",
        "services",
        short_names=("svc",),
        subresources=("status", "proxy"),
        categories=("all",),
    ),
    ResourceType("", "v1", "Endpoints", "endpoints", short_names=("ep",)),
    ResourceType("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    ResourceType("", "v1", "Secret", "secrets"),
    ResourceType("", "v1", "Event", "events", short_names=("ev",)),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",)),
    ResourceType(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        short_names=("deploy",),
        subresources=("status", "scale"),
        categories=("all",),
    ),
    ResourceType(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        short_names=("rs",),
        subresources=("status", "scale"),
        categories=("all",),
    ),
    ResourceType("batch", "v1", "Job", "jobs", subresources=("status",), categories=("all",)),
    ResourceType(
        "networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), subresources=("status",)
    ),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases"),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short_names=("crd", "crds"),
        subresources=("status",),
    ),
    # Reviews: answered, never stored (kubectl auth can-i, kubectl auth whoami).
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        namespaced=False,
        verbs=("create",),
    ),
    ResourceType(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        namespaced=False,
        verbs=("create",),
    ),
)
REVIEW_KINDS = ("SelfSubjectAccessReview", "SelfSubjectReview")

BY_PATH: dict[tuple[str, str, str], ResourceType] = {
    (r.group, r.version, r.plural): r for r in RESOURCE_TYPES
}
BY_KIND: dict[str, ResourceType] = {r.kind: r for r in RESOURCE_TYPES}


def groups() -> dict[str, list[str]]:
    """Group name → versions, in a stable order (the core group is ``""``)."""
    result: dict[str, list[str]] = {}
    for rt in RESOURCE_TYPES:
        versions = result.setdefault(rt.group, [])
        if rt.version not in versions:
            versions.append(rt.version)
    return result


def resource(group: str, version: str, plural: str) -> ResourceType:
    return BY_PATH[(group, version, plural)]
