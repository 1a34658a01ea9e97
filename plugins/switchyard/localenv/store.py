"""The emulated cluster's object store: what etcd plus the API server's registry do for us.

One lock guards everything; handlers and the workload controller both go through the public
methods, which return deep copies so nothing outside mutates stored objects. Every write bumps a
global ``resourceVersion`` (stale writes get 409 Conflict), ``metadata.generation`` counts spec
changes, and every change is appended to an event log that watch requests follow.
"""

from __future__ import annotations

import base64
import copy
import datetime
import ipaddress
import itertools
import re
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any

from switchyard.localenv import patching, validation
from switchyard.localenv.errors import ApiError
from switchyard.localenv.resources import RESOURCE_TYPES, ResourceType, resource
from switchyard.localenv.selectors import match_label_selector, parse_field_selector, parse_label_selector

Obj = dict[str, Any]
Key = tuple[str, str, str, str]  # (api group, plural, namespace or "", name)

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# Kinds whose main endpoint ignores ``status`` (it is written through ``/status`` or by controllers).
_BY_GROUP_PLURAL = {(rt.group, rt.plural): rt for rt in RESOURCE_TYPES}
_STATUS_SUBRESOURCE = {"Deployment", "ReplicaSet", "Job", "Service", "Ingress", "Pod", "Namespace", "Node"}


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ObjectStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._objects: dict[Key, Obj] = {}
        self._rv = itertools.count(1)
        self._last_rv = 0
        self._events: deque[tuple[int, str, Key, Obj]] = deque(maxlen=20000)
        self._cluster_ips = (str(ip) for ip in ipaddress.ip_network("10.96.0.0/16").hosts())
        next(self._cluster_ips)  # 10.96.0.1 is the kubernetes Service

    # ------------------------------------------------------------------ reading
    @staticmethod
    def key(rt: ResourceType, namespace: str | None, name: str) -> Key:
        return (rt.group, rt.plural, (namespace or "") if rt.namespaced else "", name)

    @property
    def resource_version(self) -> str:
        return str(self._last_rv)

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        with self.lock:
            obj = self._objects.get(self.key(rt, namespace, name))
            if obj is None:
                raise ApiError.not_found(rt.group, rt.plural, name)
            return copy.deepcopy(obj)

    def find(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        with self.lock:
            obj = self._objects.get(self.key(rt, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        labels_match = parse_label_selector(label_selector)
        fields_match = parse_field_selector(field_selector)
        with self.lock:
            items = [
                copy.deepcopy(obj)
                for (group, plural, ns, _), obj in self._objects.items()
                if group == rt.group
                and plural == rt.plural
                and (namespace is None or ns == namespace)
                and labels_match(obj["metadata"].get("labels") or {})
                and fields_match(obj)
            ]
        return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def view(
        self, rt: ResourceType, namespace: str | None = None, label_selector: str | None = None
    ) -> list[Obj]:
        """The stored objects themselves, no copies (the controller's and the traffic model's hot
        paths, ten times a second: copying every pod there was most of an idle cluster's CPU).
        Callers must not mutate them: every write replaces an object, so a view stays a snapshot."""
        labels_match = parse_label_selector(label_selector)
        with self.lock:
            items = [
                obj
                for (group, plural, ns, _), obj in self._objects.items()
                if group == rt.group
                and plural == rt.plural
                and (namespace is None or ns == namespace)
                and labels_match(obj["metadata"].get("labels") or {})
            ]
        return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    # ------------------------------------------------------------------ writing
    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Obj,
        dry_run: bool = False,
        field_validation: str | None = None,
        warnings: list[str] | None = None,
    ) -> Obj:
        """Create an object. ``field_validation`` (a client's ``fieldValidation``; None for the
        emulator's own writes) decides what happens to unknown fields, see ``validation.py``."""
        if not isinstance(body, dict):
            raise ApiError.bad_request("the body of the request must be an object")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name") or ""
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise ApiError.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            namespace = namespace or meta.get("namespace") or "default"
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if field_validation is not None:
            validation.apply_field_validation(rt, obj, field_validation, warnings)
        with self.lock:
            if rt.namespaced and rt.kind != "Event" and not self._namespace_exists(namespace):
                raise ApiError.not_found("", "namespaces", namespace or "")
            _validate(rt, obj)
            if self.key(rt, namespace, name) in self._objects:
                raise ApiError.already_exists(rt.group, rt.plural, name)
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_iso())
            for transient in ("resourceVersion", "deletionTimestamp", "selfLink"):
                meta.pop(transient, None)
            if "spec" in obj or rt.kind in ("Deployment", "Job"):
                meta["generation"] = 1
            self._default(rt, obj)
            if dry_run:
                meta["resourceVersion"] = ""
                return obj
            return self._store(rt, obj, "ADDED")

    def replace(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Obj,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str | None = None,
        warnings: list[str] | None = None,
    ) -> Obj:
        if not isinstance(body, dict):
            raise ApiError.bad_request("the body of the request must be an object")
        body_name = (body.get("metadata") or {}).get("name")
        if body_name and body_name != name:
            raise ApiError.bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        with self.lock:
            current = self.get(rt, namespace, name)
            self._check_precondition(rt, current, body)
            new = copy.deepcopy(body)
            if field_validation is not None and subresource is None:
                validation.apply_field_validation(rt, new, field_validation, warnings)
            return self._update(rt, current, new, subresource, dry_run)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        patch: Any,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str | None = None,
        warnings: list[str] | None = None,
    ) -> Obj:
        with self.lock:
            current = self.find(rt, namespace, name)
            if current is None:
                if content_type.startswith("application/apply-patch") and subresource is None:
                    return self.create(
                        rt,
                        namespace,
                        patch,
                        dry_run=dry_run,
                        field_validation=field_validation,
                        warnings=warnings,
                    )
                raise ApiError.not_found(rt.group, rt.plural, name)
            if isinstance(patch, dict):
                self._check_precondition(rt, current, patch)
            patched = patching.apply_patch(content_type, current, patch)
            if field_validation is not None and subresource is None:
                validation.apply_field_validation(rt, patched, field_validation, warnings)
            return self._update(rt, current, patched, subresource, dry_run)

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        dry_run: bool = False,
        preconditions: Obj | None = None,
        propagation: str | None = None,
    ) -> Obj:
        """Delete one object. ``preconditions`` (``uid``, ``resourceVersion``) must match or the answer
        is 409; ``propagation="Orphan"`` keeps the dependents, dropping their owner reference."""
        with self.lock:
            current = self.get(rt, namespace, name)
            meta = current["metadata"]
            for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
                wanted = (preconditions or {}).get(field)
                if wanted and wanted != meta.get(field):
                    resource = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
                    raise ApiError(
                        409,
                        "Conflict",
                        f'Operation cannot be fulfilled on {resource} "{name}": '
                        f"Precondition failed: {label} in precondition: {wanted}, {label} in object "
                        f"meta: {meta.get(field)}",
                        {"name": name, "group": rt.group, "kind": rt.plural},
                    )
            if propagation not in (None, "", "Orphan", "Background", "Foreground"):
                raise ApiError.bad_request(
                    f'propagationPolicy "{propagation}" is not one of Orphan, Background, Foreground'
                )
            if not dry_run and propagation == "Orphan":
                for key, obj in list(self._objects.items()):
                    refs = obj["metadata"].get("ownerReferences") or []
                    if any(ref.get("uid") == meta["uid"] for ref in refs):
                        orphan = copy.deepcopy(obj)
                        orphan["metadata"]["ownerReferences"] = [
                            r for r in refs if r.get("uid") != meta["uid"]
                        ]
                        if not orphan["metadata"]["ownerReferences"]:
                            del orphan["metadata"]["ownerReferences"]
                        self._store(_BY_GROUP_PLURAL[key[:2]], orphan, "MODIFIED")
            if not dry_run:
                self._remove(self.key(rt, namespace, name), current)
                if rt.kind == "Namespace":
                    for key in [k for k in self._objects if k[2] == name and k[1] != "namespaces"]:
                        self._remove(key, self._objects[key])
            return current

    # ----------------------------------------------- controller-side operations
    def write_status(self, rt: ResourceType, namespace: str | None, name: str, status: Any) -> None:
        """Controller status update: no precondition, no event when nothing changed."""
        with self.lock:
            obj = self._objects.get(self.key(rt, namespace, name))
            if obj is None or obj.get("status") == status:
                return
            updated = copy.deepcopy(obj)
            updated["status"] = copy.deepcopy(status)
            self._store(rt, updated, "MODIFIED")

    def annotate(
        self, rt: ResourceType, namespace: str | None, name: str, annotations: dict[str, str]
    ) -> None:
        """Controller write of annotations (a Deployment's revision): no generation change."""
        with self.lock:
            obj = self._objects.get(self.key(rt, namespace, name))
            if obj is None:
                return
            updated = copy.deepcopy(obj)
            updated["metadata"].setdefault("annotations", {}).update(annotations)
            if updated != obj:
                self._store(rt, updated, "MODIFIED")

    def upsert(self, rt: ResourceType, obj: Obj) -> None:
        """Controller write of a derived object (Endpoints, EndpointSlices): create or overwrite."""
        with self.lock:
            meta = obj["metadata"]
            existing = self._objects.get(self.key(rt, meta.get("namespace"), meta["name"]))
            if existing is None:
                self.create(rt, meta.get("namespace"), obj)
                return
            merged = copy.deepcopy(obj)
            merged["apiVersion"], merged["kind"] = rt.api_version, rt.kind
            merged["metadata"] = {
                **existing["metadata"],
                **{k: v for k, v in meta.items() if k in ("labels", "annotations")},
            }
            comparable = {k: v for k, v in existing.items() if k != "metadata"}
            if (
                comparable == {k: v for k, v in merged.items() if k != "metadata"}
                and existing["metadata"] == merged["metadata"]
            ):
                return
            self._store(rt, merged, "MODIFIED")

    def remove_quietly(self, rt: ResourceType, namespace: str | None, name: str) -> None:
        with self.lock:
            key = self.key(rt, namespace, name)
            if key in self._objects:
                self._remove(key, self._objects[key])

    def events_since(self, rv: int) -> Iterator[tuple[int, str, Key, Obj]]:
        with self.lock:
            return iter([event for event in self._events if event[0] > rv])

    def oldest_event_rv(self) -> int:
        with self.lock:
            return self._events[0][0] if self._events else self._last_rv

    # ------------------------------------------------------------------ internals
    def _namespace_exists(self, namespace: str | None) -> bool:
        return ("", "namespaces", "", namespace or "") in self._objects

    @staticmethod
    def _check_precondition(rt: ResourceType, current: Obj, body: Obj) -> None:
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise ApiError.conflict(rt.group, rt.plural, current["metadata"]["name"])

    def _update(
        self, rt: ResourceType, current: Obj, new: Obj, subresource: str | None, dry_run: bool
    ) -> Obj:
        if subresource == "status":
            updated = copy.deepcopy(current)
            updated["status"] = new.get("status", {})
        elif subresource == "scale":
            updated = copy.deepcopy(current)
            replicas = (new.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise ApiError.invalid(
                    "Scale",
                    "autoscaling",
                    current["metadata"]["name"],
                    [("spec.replicas", str(replicas), "must be greater than or equal to 0")],
                )
            updated["spec"]["replicas"] = replicas
        else:
            updated = new
            updated["apiVersion"], updated["kind"] = rt.api_version, rt.kind
            meta = updated.setdefault("metadata", {})
            # Identity and server-owned fields cannot be changed by a client.
            for field in ("name", "namespace", "uid", "creationTimestamp", "generation"):
                if field in current["metadata"]:
                    meta[field] = current["metadata"][field]
                else:
                    meta.pop(field, None)
            if rt.kind in _STATUS_SUBRESOURCE and "status" in current:
                updated["status"] = current["status"]
            if (
                rt.kind == "Service"
                and isinstance(updated.get("spec"), dict)
                and not updated["spec"].get("clusterIP")
            ):
                # An update that leaves clusterIP out keeps the allocated one (the API server copies it over).
                for field in ("clusterIP", "clusterIPs"):
                    if field in (current.get("spec") or {}):
                        updated["spec"][field] = current["spec"][field]
            if rt.kind == "Service" and isinstance(updated.get("spec"), dict):
                # Node ports allocated before are kept for the same port (an apply does not re-roll them).
                allocated = {
                    (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                    for p in (current.get("spec") or {}).get("ports") or []
                    if p.get("nodePort")
                }
                for port in updated["spec"].get("ports") or []:
                    if isinstance(port, dict) and not port.get("nodePort"):
                        kept = allocated.get((port.get("port"), port.get("protocol", "TCP")))
                        if kept:
                            port["nodePort"] = kept
            _validate(rt, updated)
            immutable = validation.immutable_causes(rt, current, updated)
            if immutable:
                raise ApiError.invalid(rt.kind, rt.group, current["metadata"]["name"], immutable)
            self._default(rt, updated)
        if updated.get("spec") != current.get("spec") and "generation" in updated["metadata"]:
            updated["metadata"]["generation"] = current["metadata"]["generation"] + 1
        if dry_run:
            return updated
        if {k: v for k, v in updated.items() if k != "metadata"} == {
            k: v for k, v in current.items() if k != "metadata"
        } and _meta_without_rv(updated) == _meta_without_rv(current):
            return current  # a no-op write does not bump resourceVersion, as on a real API server
        return self._store(rt, updated, "MODIFIED")

    def _store(self, rt: ResourceType, obj: Obj, event_type: str) -> Obj:
        rv = next(self._rv)
        self._last_rv = rv
        obj["metadata"]["resourceVersion"] = str(rv)
        key = self.key(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        self._objects[key] = obj
        self._events.append((rv, event_type, key, copy.deepcopy(obj)))
        self.changed.notify_all()
        return copy.deepcopy(obj)

    def _remove(self, key: Key, obj: Obj) -> None:
        del self._objects[key]
        rv = next(self._rv)
        self._last_rv = rv
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(rv)
        self._events.append((rv, "DELETED", key, gone))
        self.changed.notify_all()

    def _default(self, rt: ResourceType, obj: Obj) -> None:
        """Server-side defaults the release code reads back (a subset of the real ones)."""
        spec = (
            obj.setdefault("spec", {})
            if rt.kind not in ("ConfigMap", "Secret", "Event", "Endpoints", "EndpointSlice", "ServiceAccount")
            else None
        )
        if rt.kind == "ReplicaSet":
            spec.setdefault("replicas", 1)
            _default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
            obj.setdefault("status", {"replicas": 0})
        elif rt.kind == "Deployment":
            spec.setdefault("replicas", 1)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault(
                "strategy",
                {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            )
            _default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
            obj.setdefault("status", {})
        elif rt.kind == "Job":
            spec.setdefault("backoffLimit", 6)
            spec.setdefault("completions", 1)
            spec.setdefault("parallelism", 1)
            uid = obj["metadata"]["uid"]
            name = obj["metadata"]["name"]
            selector_labels = {"batch.kubernetes.io/controller-uid": uid}
            spec.setdefault("selector", {"matchLabels": selector_labels})
            template_labels = (
                spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
            )
            template_labels.update(
                {
                    **selector_labels,
                    "batch.kubernetes.io/job-name": name,
                    "controller-uid": uid,
                    "job-name": name,
                }
            )
            _default_pod_spec(spec["template"].setdefault("spec", {}), restart_policy="Never")
            obj.setdefault("status", {})
        elif rt.kind == "Pod":
            _default_pod_spec(spec)
            obj.setdefault("status", {"phase": "Pending"})
        elif rt.kind == "Service":
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            if not spec.get("clusterIP"):
                spec["clusterIP"] = next(self._cluster_ips)
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            external = spec.get("type") in ("NodePort", "LoadBalancer")
            used = {
                p.get("nodePort")
                for (g, plural, _, _), o in self._objects.items()
                if plural == "services" and not g
                for p in (o.get("spec") or {}).get("ports") or []
            }
            for port in spec.setdefault("ports", []):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
                if external and not port.get("nodePort"):
                    port["nodePort"] = next(n for n in range(30000, 32768) if n not in used)
                    used.add(port["nodePort"])
                elif not external:
                    port.pop("nodePort", None)
            if external:
                spec.setdefault("externalTrafficPolicy", "Cluster")
            if spec.get("type") != "LoadBalancer":
                obj["status"] = {"loadBalancer": {}}
            obj.setdefault("status", {"loadBalancer": {}})
        elif rt.kind == "Namespace":
            spec.setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
        elif rt.kind == "Ingress":
            obj.setdefault("status", {"loadBalancer": {}})
        elif rt.kind == "Secret":
            obj.setdefault("type", "Opaque")
            # stringData is write-only: the API server folds it into base64 data.
            for key, value in (obj.pop("stringData", None) or {}).items():
                obj.setdefault("data", {})[key] = base64.b64encode(str(value).encode()).decode()


def _meta_without_rv(obj: Obj) -> Obj:
    return {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}


def _default_pod_spec(spec: Obj, restart_policy: str = "Always") -> None:
    spec.setdefault("restartPolicy", restart_policy)
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    for container in spec.get("containers") or []:
        image = str(container.get("image", ""))
        default_policy = (
            "Always" if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1] else "IfNotPresent"
        )
        container.setdefault("imagePullPolicy", default_policy)
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        for port in container.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def _validate(rt: ResourceType, obj: Obj) -> None:
    """The 422 Invalid checks a release can trip over: names, selectors, containers, replicas."""
    name = obj["metadata"].get("name") or ""
    causes: list[tuple[str, str, str]] = []
    pattern, rule = (
        (
            _DNS1035_LABEL,
            "a DNS-1035 label must consist of lower case alphanumeric characters "
            "or '-', start with an alphabetic character, and end with an alphanumeric character",
        )
        if rt.kind in ("Service", "Namespace")
        else (
            _DNS1123_SUBDOMAIN,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character",
        )
    )
    if not name:
        causes.append(("metadata.name", "", "name or generateName is required"))
    elif len(name) > 253 or not pattern.match(name):
        causes.append(("metadata.name", name, rule))
    causes += validation.labels_causes(rt, obj)
    spec = obj.get("spec") or {}
    if rt.kind == "Deployment":
        replicas = spec.get("replicas", 1)
        if not isinstance(replicas, int) or replicas < 0:
            causes.append(("spec.replicas", str(replicas), "must be greater than or equal to 0"))
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not spec.get("selector"):
            causes.append(("spec.selector", "null", "field is required"))
        elif not match_label_selector(spec["selector"], template_labels):
            causes.append(
                (
                    "spec.template.metadata.labels",
                    str(template_labels),
                    "`selector` does not match template `labels`",
                )
            )
        causes += _container_causes((spec.get("template") or {}).get("spec") or {}, "spec.template.spec")
    elif rt.kind == "Job":
        pod_spec = (spec.get("template") or {}).get("spec") or {}
        if pod_spec.get("restartPolicy", "Never") not in ("Never", "OnFailure"):
            causes.append(
                (
                    "spec.template.spec.restartPolicy",
                    pod_spec["restartPolicy"],
                    'supported values: "OnFailure", "Never"',
                )
            )
        causes += _container_causes(pod_spec, "spec.template.spec")
    elif rt.kind == "Pod":
        causes += _container_causes(spec, "spec")
    elif rt.kind == "Service":
        for i, port in enumerate(spec.get("ports") or []):
            if not isinstance(port.get("port"), int) or not 0 < port["port"] < 65536:
                causes.append(
                    (f"spec.ports[{i}].port", str(port.get("port")), "must be between 1 and 65535, inclusive")
                )
    elif rt.kind == "Lease":
        holder = spec.get("leaseDurationSeconds")
        if holder is not None and (not isinstance(holder, int) or holder <= 0):
            causes.append(("spec.leaseDurationSeconds", str(holder), "must be greater than 0"))
    if causes:
        raise ApiError.invalid(rt.kind, rt.group, name, causes)


def _container_causes(pod_spec: Obj, prefix: str) -> list[tuple[str, str, str]]:
    containers = pod_spec.get("containers") or []
    if not containers:
        return [(f"{prefix}.containers", "null", "Required value")]
    causes = []
    for i, container in enumerate(containers):
        if not container.get("name"):
            causes.append((f"{prefix}.containers[{i}].name", "", "Required value"))
        if not container.get("image"):
            causes.append((f"{prefix}.containers[{i}].image", "", "Required value"))
    return causes


def owner_reference(owner: Obj, controller: bool = True) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


PODS = resource("", "v1", "pods")
DEPLOYMENTS = resource("apps", "v1", "deployments")
SERVICES = resource("", "v1", "services")
ENDPOINTS = resource("", "v1", "endpoints")
ENDPOINT_SLICES = resource("discovery.k8s.io", "v1", "endpointslices")
JOBS = resource("batch", "v1", "jobs")
EVENTS = resource("", "v1", "events")
INGRESSES = resource("networking.k8s.io", "v1", "ingresses")
NAMESPACES = resource("", "v1", "namespaces")
NODES = resource("", "v1", "nodes")
SECRETS = resource("", "v1", "secrets")
REPLICA_SETS = resource("apps", "v1", "replicasets")
CONFIG_MAPS = resource("", "v1", "configmaps")
