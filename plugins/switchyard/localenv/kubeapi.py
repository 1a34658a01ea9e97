"""The Kubernetes API emulator's HTTP routes.

Serves what the official kubernetes client and kubectl use: discovery (``/version``, ``/api``,
``/apis``, group versions), CRUD on the resources of ``resources.py`` with label and field
selectors, the three patch formats, ``dryRun=All``, watches, the ``status``/``scale``/``log``
subresources, Table answers for ``kubectl get``, and the service (and pod) proxy that answers with
the behaviour of the selected pods. Control routes under ``/_emulator/`` are in ``control.py``.

Request bodies are never logged (Secrets go through here); only method, path and status are, at
debug level.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote

from switchyard.localenv import control, protobuf, tables, validation
from switchyard.localenv.behaviours import FaultRule, image_tag
from switchyard.localenv.cluster import Cluster
from switchyard.localenv.controller import pod_ready
from switchyard.localenv.errors import ApiError
from switchyard.localenv.httpbase import JsonHandler, Response
from switchyard.localenv.rbac import RbacPolicy
from switchyard.localenv.rbac import Request as RbacRequest
from switchyard.localenv.resources import BY_PATH, RESOURCE_TYPES, REVIEW_KINDS, ResourceType, groups
from switchyard.localenv.selectors import label_selector_string, parse_field_selector, parse_label_selector
from switchyard.localenv.store import PODS, SERVICES

log = logging.getLogger("switchyard.localenv")

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-switchyard-localenv",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


@dataclass
class ResourcePath:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    tail: str  # everything after the subresource (the proxied path)


def parse_path(path: str) -> tuple[str, str, ResourcePath | None]:
    """``(group, version, resource path or None for a group-version discovery request)``."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if not any(rt.group == group and rt.version == version for rt in RESOURCE_TYPES):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in BY_PATH:
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return group, version, None
    rt = BY_PATH.get((group, version, rest[0]))
    if rt is None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    return (
        group,
        version,
        ResourcePath(
            rt,
            namespace,
            rest[1] if len(rest) > 1 else None,
            rest[2] if len(rest) > 2 else None,
            "/".join(rest[3:]),
        ),
    )


def _verb(method: str, target: ResourcePath, watch: bool) -> str:
    if method == "GET":
        return "watch" if watch else "get" if target.name else "list"
    if method == "DELETE":
        return "delete" if target.name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


class KubeApiHandler(JsonHandler):
    cluster: Cluster
    rbac: RbacPolicy | None = None  # opt-in enforcement (rbac.py); None answers as cluster-admin
    bookmark_seconds: float = (
        5.0  # a watch with allowWatchBookmarks gets a BOOKMARK this often (real: ~1 min)
    )
    _proxy_lock = threading.Lock()
    _proxy_counters: ClassVar[dict[str, int]]  # per bound handler class: round robin and 5xx shares

    # ------------------------------------------------------------ routing
    def route(self, method: str) -> None:
        self.warnings: list[str] = []  # answered as Warning headers (e.g. unknown fields dropped)
        path = self.url_path.rstrip("/") or "/"
        if path.startswith("/_emulator"):
            control.handle(self, self.cluster, method, path)
        if self.rbac is not None:
            self.authorize(method, path)
        if path == "/version":
            raise Response(200, SERVER_VERSION)
        if path in ("/healthz", "/readyz", "/livez"):
            raise Response(200, "ok")
        if path == "/api":
            raise Response(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {
                            "clientCIDR": "0.0.0.0/0",
                            "serverAddress": f"127.0.0.1:{self.server.server_address[1]}",
                        }
                    ],
                },
            )
        if path == "/apis":
            raise Response(
                200,
                {
                    "kind": "APIGroupList",
                    "apiVersion": "v1",
                    "groups": [_group(g, v) for g, v in groups().items() if g],
                },
            )
        if path.startswith("/apis/") and path.count("/") == 2:
            name = path.split("/")[2]
            if name not in groups() or not name:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            raise Response(200, {"kind": "APIGroup", "apiVersion": "v1", **_group(name, groups()[name])})
        if path == "/openapi/v3":
            raise Response(
                200,
                {
                    "paths": {
                        gv: {"serverRelativeURL": f"/openapi/v3/{gv}?hash=switchyard"}
                        for gv in _group_versions()
                    }
                },
            )
        if path.startswith("/openapi/v3/"):
            gv = path[len("/openapi/v3/") :]
            if gv not in _group_versions():
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            raise Response(200, _openapi_v3(gv))
        if path.startswith("/openapi"):
            raise ApiError(
                404,
                "NotFound",
                "the server could not find the requested resource "
                "(the emulator serves a minimal OpenAPI v3 only)",
            )
        group, version, target = parse_path(path)
        if target is None:
            raise Response(
                200,
                {
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": f"{group}/{version}" if group else version,
                    "resources": [
                        e
                        for rt in RESOURCE_TYPES
                        if rt.group == group and rt.version == version
                        for e in rt.discovery()
                    ],
                },
            )
        self.resource_request(method, target)

    def send(
        self, code: int, body: Any, content_type: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        warnings = getattr(self, "warnings", None)
        if warnings:
            quoted = ", ".join(
                '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' for w in warnings
            )
            headers = {**(headers or {}), "Warning": quoted}
        super().send(code, body, content_type, headers)

    def inject(self, rule: FaultRule, method: str) -> None:
        """Forbidden faults answer with the API server's RBAC wording for the resource asked for."""
        if rule.kind == "forbidden":
            try:
                _, _, target = parse_path(self.url_path)
            except ApiError:
                target = None
            if target is not None:
                verb = _verb(method, target, (self.query.get("watch") or "").lower() in ("true", "1"))
                plural = (
                    f"{target.rt.plural}/{target.subresource}" if target.subresource else target.rt.plural
                )
                raise ApiError.forbidden(verb, plural, target.rt.group, target.namespace, target.name)
        super().inject(rule, method)

    def authorize(self, method: str, path: str) -> None:
        """RBAC mode: refuse a resource request the policy does not allow (discovery is open)."""
        if not path.startswith(("/api/", "/apis/")):
            return
        _, _, target = parse_path(path)
        if target is None or target.rt.kind in REVIEW_KINDS:
            return  # every authenticated user may ask what it may do (system:basic-user)
        watch = (self.query.get("watch") or "").lower() in ("true", "1")
        resource = f"{target.rt.plural}/{target.subresource}" if target.subresource else target.rt.plural
        # As the API server's RequestInfo: a proxied Service's name keeps its port ("svc:80").
        request = RbacRequest(
            _verb(method, target, watch), target.rt.group, resource, target.namespace, target.name
        )
        assert self.rbac is not None
        if not self.rbac.authorize(request):
            # The API server's wording: the object as plural.group "name", the resource with its subresource.
            rt, group = target.rt, target.rt.group
            subject = (f"{rt.plural}.{group}" if group else rt.plural) + (
                f' "{target.name}"' if target.name else ""
            )
            scope = f' in the namespace "{target.namespace}"' if target.namespace else " at the cluster scope"
            raise ApiError(
                403,
                "Forbidden",
                f'{subject} is forbidden: User "{self.rbac.user}" cannot '
                f'{request.verb} resource "{resource}" in API group "{group}"{scope}',
                {"name": target.name or "", "group": group, "kind": rt.plural},
            )

    # ------------------------------------------------------------ resources
    def resource_request(self, method: str, t: ResourcePath) -> None:
        try:
            self._resource_request(method, t)
        except (AttributeError, TypeError) as exc:
            if method not in ("POST", "PUT", "PATCH"):
                raise
            # A body of the wrong shape ("metadata": "x") is the client's error: 400, as the API
            # server's decoder answers, not 500. Logged, in case it is the emulator's.
            log.warning("%s %s: body of the wrong shape: %s", method, self.url_path, exc)
            raise ApiError.bad_request(
                f"the body of the request could not be decoded into a "
                f"{t.rt.kind}: {type(exc).__name__}: {exc}"
            ) from exc

    def _resource_request(self, method: str, t: ResourcePath) -> None:
        store, rt = self.cluster.store, t.rt
        if rt.kind in REVIEW_KINDS:
            self.review(method, rt)
        dry_run = self.query.get("dryRun") in ("All", "all")
        if t.subresource == "proxy" and rt.kind in ("Service", "Pod") and t.name:
            self.proxy(method, t)
        if t.subresource == "log" and rt.kind == "Pod" and t.name and method == "GET":
            self.pod_log(store.get(rt, t.namespace, t.name))
            return  # a followed log was streamed
        if t.subresource not in (None, "status", "scale") or (
            t.subresource and t.subresource not in rt.subresources
        ):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if t.subresource and not t.name:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        validation.check_field_selector(rt, self.query.get("fieldSelector"))
        field_validation = self.query.get("fieldValidation") or "Warn"
        if method == "GET" and t.name is None:
            if (self.query.get("watch") or "").lower() in ("true", "1"):
                self.watch(rt, t.namespace)
                return
            items = store.list(
                rt, t.namespace, self.query.get("labelSelector"), self.query.get("fieldSelector")
            )
            self.answer_list(rt, items)
        if method == "GET":
            obj = store.get(rt, t.namespace, t.name)
            self.answer_object(rt, obj, t.subresource)
        if method == "POST" and t.name is None:
            body = self.object_body()
            created = store.create(
                rt,
                t.namespace,
                body,
                dry_run=dry_run,
                field_validation=field_validation,
                warnings=self.warnings,
            )
            raise Response(201, created)
        if method == "PUT" and t.name:
            body = self.object_body()
            if t.subresource == "scale":
                body = {
                    "metadata": (body or {}).get("metadata") or {},
                    "spec": (body or {}).get("spec") or {},
                }
            updated = store.replace(
                rt,
                t.namespace,
                t.name,
                body,
                t.subresource,
                dry_run,
                field_validation=field_validation,
                warnings=self.warnings,
            )
            self.answer_object(rt, updated, t.subresource)
        if method == "PATCH" and t.name:
            content_type = self.headers.get("Content-Type") or "application/strategic-merge-patch+json"
            patched = store.patch(
                rt,
                t.namespace,
                t.name,
                content_type,
                self.json_body(),
                t.subresource,
                dry_run,
                field_validation=field_validation,
                warnings=self.warnings,
            )
            self.answer_object(rt, patched, t.subresource)
        if method == "DELETE":
            # DeleteOptions come in the body (kubectl, client-go) or the query (the Python client).
            options = (self.object_body() or {}) if self.read_body() else {}
            if not isinstance(options, dict):
                raise ApiError.bad_request("the body of a DELETE request must be DeleteOptions")
            dry_run = dry_run or "All" in (options.get("dryRun") or [])
            preconditions = options.get("preconditions") or {}
            propagation = options.get("propagationPolicy") or self.query.get("propagationPolicy")
        if method == "DELETE" and t.name:
            deleted = store.delete(
                rt, t.namespace, t.name, dry_run=dry_run, preconditions=preconditions, propagation=propagation
            )
            raise Response(
                200,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {
                        "name": t.name,
                        "group": rt.group,
                        "kind": rt.plural,
                        "uid": deleted["metadata"]["uid"],
                    },
                },
            )
        if method == "DELETE":
            items = store.list(
                rt, t.namespace, self.query.get("labelSelector"), self.query.get("fieldSelector")
            )
            for item in items:
                store.delete(
                    rt,
                    item["metadata"].get("namespace"),
                    item["metadata"]["name"],
                    dry_run=dry_run,
                    propagation=propagation,
                )
            self.answer_list(rt, items)
        raise ApiError.method_not_allowed()

    def object_body(self) -> Any:
        """A create/update/delete-options body: JSON, YAML or Kubernetes protobuf (kubectl's typed
        clients send protobuf and do not fall back to JSON on 415); other media types get 415."""
        media = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if media == protobuf.MEDIA_TYPE:
            return protobuf.decode(self.read_body()) if self.read_body() else None
        if media not in ("application/json", "application/yaml", "*/*", "text/plain", ""):
            raise ApiError.unsupported_media_type(
                media, ("application/json", "application/yaml", protobuf.MEDIA_TYPE)
            )
        return self.json_body()

    def answer_list(self, rt: ResourceType, items: list[dict]) -> None:
        """A list (or Table), paged by ``limit``/``continue`` as the API server pages it."""
        rv = self.cluster.store.resource_version
        meta: dict[str, Any] = {"resourceVersion": rv}
        token = self.query.get("continue")
        if token:
            try:
                after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ApiError.bad_request(f"continue key is not valid: {exc}") from exc
            items = [i for i in items if [i["metadata"].get("namespace", ""), i["metadata"]["name"]] > after]
        try:
            limit = int(self.query.get("limit") or 0)
        except ValueError as exc:
            raise ApiError.bad_request(f"limit must be an integer: {exc}") from exc
        if 0 < limit < len(items):
            last = items[limit - 1]["metadata"]
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"after": [last.get("namespace", ""), last["name"]]}).encode()
            ).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if tables.wants_table(self.headers.get("Accept")):
            table = tables.table(rt.kind, items, rv, self.query.get("includeObject"))
            table["metadata"] = meta
            raise Response(200, table)
        raise Response(
            200, {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta, "items": items}
        )

    def answer_object(self, rt: ResourceType, obj: dict, subresource: str | None) -> None:
        if subresource == "scale":
            spec = obj.get("spec") or {}
            meta = {
                k: obj["metadata"][k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in obj["metadata"]
            }
            raise Response(
                200,
                {
                    "kind": "Scale",
                    "apiVersion": "autoscaling/v1",
                    "metadata": meta,
                    "spec": {"replicas": spec.get("replicas", 0)},
                    "status": {
                        "replicas": (obj.get("status") or {}).get("replicas", 0),
                        "selector": label_selector_string(spec.get("selector") or {}),
                    },
                },
            )
        if tables.wants_table(self.headers.get("Accept")):
            raise Response(
                200,
                tables.table(
                    rt.kind,
                    [obj],
                    obj["metadata"].get("resourceVersion", ""),
                    self.query.get("includeObject"),
                ),
            )
        raise Response(200, obj)

    # ------------------------------------------------------------ reviews
    def review(self, method: str, rt: ResourceType) -> None:
        """``SelfSubjectAccessReview`` (``kubectl auth can-i``) decided by the RBAC policy in force (as
        cluster-admin without one), ``SelfSubjectReview`` (``kubectl auth whoami``)."""
        if method != "POST":
            raise ApiError.method_not_allowed()
        body = self.object_body()
        if not isinstance(body, dict):
            raise ApiError.bad_request(f"the body of the request must be a {rt.kind}")
        user, groups = (
            (self.rbac.user, list(self.rbac.groups))
            if self.rbac is not None
            else ("kubernetes-admin", ["system:masters", "system:authenticated"])
        )
        answer = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"creationTimestamp": None}}
        if rt.kind == "SelfSubjectReview":
            raise Response(201, {**answer, "status": {"userInfo": {"username": user, "groups": groups}}})
        spec = body.get("spec") or {}
        attributes = spec.get("resourceAttributes")
        if attributes:
            resource = attributes.get("resource", "")
            if attributes.get("subresource"):
                resource += "/" + attributes["subresource"]
            request = RbacRequest(
                attributes.get("verb", ""),
                attributes.get("group", ""),
                resource,
                attributes.get("namespace") or None,
                attributes.get("name") or None,
            )
            allowed = True if self.rbac is None else self.rbac.allows(request)
        elif spec.get("nonResourceAttributes"):
            allowed = True  # discovery, /version, /healthz are open to every authenticated user
        else:
            raise ApiError.invalid(
                rt.kind,
                rt.group,
                "",
                [
                    (
                        "spec.resourceAttributes",
                        "null",
                        "exactly one of nonResourceAttributes or resourceAttributes must be specified",
                    )
                ],
            )
        status: dict[str, Any] = {"allowed": allowed}
        if self.rbac is None:
            status["reason"] = "the emulator answers as cluster-admin (started without an RBAC manifest)"
        elif allowed:
            status["reason"] = f"allowed by the RBAC rules of {self.rbac.source}"
        raise Response(201, {**answer, "spec": spec, "status": status})

    # ------------------------------------------------------------ logs
    def pod_log(self, pod: dict) -> None:
        """``pods/log`` with ``container``, ``tailLines``, ``sinceSeconds``/``sinceTime``, ``previous``,
        ``timestamps``, ``limitBytes`` and ``follow`` (streams until the container ends)."""
        q, controller, clock = self.query, self.cluster.controller, self.cluster.clock
        names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        container = q.get("container")
        name = pod["metadata"]["name"]
        if container is None and len(names) > 1:
            raise ApiError.bad_request(
                f"a container name must be specified for pod {name}, choose one of: "
                f"[{' '.join(str(n) for n in names)}]"
            )
        if container is not None and container not in names:
            raise ApiError.bad_request(f"container {container} is not valid for pod {name}")
        try:
            options = {
                "tail": int(q["tailLines"]) if q.get("tailLines") else None,
                "since_seconds": float(q["sinceSeconds"]) if q.get("sinceSeconds") else None,
                "since": clock.from_wall_iso(q["sinceTime"]) if q.get("sinceTime") else None,
                "previous": q.get("previous") == "true",
                "timestamps": q.get("timestamps") == "true",
            }
            limit = int(q["limitBytes"]) if q.get("limitBytes") else None
        except ValueError as exc:
            raise ApiError.bad_request(f"invalid log options: {exc}") from exc
        namespace = pod["metadata"]["namespace"]
        text, position = controller.pod_log(namespace, name, container, **options)
        if q.get("follow") != "true":
            data = text.encode()
            raise Response(200, data[:limit] if limit is not None else data, "text/plain")
        self.start_stream("text/plain")
        if text:
            self.stream_chunk(text.encode())
        options.update(tail=None, since=None, since_seconds=None)
        while not self.server.stopping.is_set():  # type: ignore[attr-defined]
            with self.cluster.store.changed:
                self.cluster.store.changed.wait(timeout=0.25)
            current = self.cluster.store.find(PODS, namespace, name)
            more, position = controller.pod_log(namespace, name, container, start=position, **options)
            if more:
                self.stream_chunk(more.encode())
            if current is None or (current.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                break
        self.end_stream()

    # ------------------------------------------------------------ watch
    def watch(self, rt: ResourceType, namespace: str | None) -> None:
        store = self.cluster.store
        labels_match = parse_label_selector(self.query.get("labelSelector"))
        fields_match = parse_field_selector(self.query.get("fieldSelector"))
        timeout = float(self.query.get("timeoutSeconds") or 300)
        since = self.query.get("resourceVersion")
        with store.lock:
            if not since or since == "0":
                initial = store.list(
                    rt, namespace, self.query.get("labelSelector"), self.query.get("fieldSelector")
                )
                last = int(store.resource_version)
            else:
                initial, last = [], int(since)
                if last < store.oldest_event_rv() - 1:
                    initial = None
        self.start_stream()
        if initial is None:
            self.stream_chunk(
                json.dumps(
                    {
                        "type": "ERROR",
                        "object": ApiError(410, "Expired", f"too old resource version: {since}").status(),
                    }
                ).encode()
                + b"\n"
            )
            self.end_stream()
            return
        as_table = tables.wants_table(self.headers.get("Accept"))

        def shown(obj: dict) -> dict:
            # kubectl get -w asks for Tables: each event carries one row (the columns of a plain get).
            if not as_table or obj.get("kind") == "Status":
                return obj
            return tables.table(
                rt.kind, [obj], obj["metadata"].get("resourceVersion", ""), self.query.get("includeObject")
            )

        for obj in initial:
            self.stream_chunk(json.dumps({"type": "ADDED", "object": shown(obj)}).encode() + b"\n")
        deadline = time.monotonic() + timeout
        bookmarks = self.query.get("allowWatchBookmarks") == "true"
        next_bookmark = time.monotonic() + self.bookmark_seconds
        while time.monotonic() < deadline and not self.server.stopping.is_set():  # type: ignore[attr-defined]
            with store.changed:
                store.changed.wait(timeout=0.25)
                events = list(store.events_since(last))
            for rv, kind, key, obj in events:
                last = rv
                if (
                    key[0] != rt.group
                    or key[1] != rt.plural
                    or (namespace is not None and key[2] != namespace)
                ):
                    continue
                if labels_match(obj["metadata"].get("labels") or {}) and fields_match(obj):
                    self.stream_chunk(json.dumps({"type": kind, "object": shown(obj)}).encode() + b"\n")
            if bookmarks and time.monotonic() >= next_bookmark:
                # A BOOKMARK carries only the resourceVersion the watch has reached (resume point).
                next_bookmark = time.monotonic() + self.bookmark_seconds
                mark = {
                    "kind": rt.kind,
                    "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": str(last)},
                }
                self.stream_chunk(json.dumps({"type": "BOOKMARK", "object": mark}).encode() + b"\n")
        self.end_stream()

    # ------------------------------------------------------------ proxy
    def proxy(self, method: str, t: ResourcePath) -> None:
        """``/services/NAME[:PORT]/proxy/PATH``: one of the Service's ready pods answers, as its image's
        behaviour says (5xx at its rate, added latency), with a JSON body naming pod, version and colour."""
        store, controller = self.cluster.store, self.cluster.controller
        name = (t.name or "").split(":", 1)[0]
        if t.rt.kind == "Service":
            service = store.get(SERVICES, t.namespace, name)
            backends = controller.ready_pods(service)
            if not backends:
                raise ApiError.service_unavailable(f'no endpoints available for service "{name}"')
            with self._proxy_lock:
                count = self._proxy_counters.get(f"svc/{t.namespace}/{name}", 0)
                self._proxy_counters[f"svc/{t.namespace}/{name}"] = count + 1
            pod = sorted(backends, key=lambda p: p["metadata"]["name"])[count % len(backends)]
        else:
            pod = store.get(PODS, t.namespace, name)
            if not pod_ready(pod):
                raise ApiError.service_unavailable(f'pod "{name}" is not ready')
        self.read_body()
        image = ((pod.get("spec") or {}).get("containers") or [{}])[0].get("image", "")
        behaviour = self.cluster.behaviours.lookup(image)
        if behaviour.latency_ms:
            time.sleep(behaviour.latency_ms / 1000.0 / self.cluster.clock.scale)
        with self._proxy_lock:
            n = self._proxy_counters.get(f"img/{image}", 0)
            self._proxy_counters[f"img/{image}"] = n + 1
        # Deterministic share: request n fails when it crosses the next multiple of 1/rate.
        failed = int((n + 1) * behaviour.error_rate) > int(n * behaviour.error_rate)
        labels = pod["metadata"].get("labels") or {}
        body = {
            "status": "error" if failed else "ok",
            "path": "/" + t.tail,
            "method": method,
            "pod": pod["metadata"]["name"],
            "image": image,
            "version": image_tag(image),
            "app": labels.get("app"),
            "color": labels.get("color"),
        }
        if failed:
            body["error"] = "internal server error"
        headers = {"X-Switchyard-Pod": pod["metadata"]["name"], "X-Switchyard-Version": image_tag(image)}
        raise Response(500 if failed else 200, body, headers=headers)


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def _group_versions() -> list[str]:
    return sorted({f"apis/{rt.group}/{rt.version}" if rt.group else "api/v1" for rt in RESOURCE_TYPES})


def _openapi_v3(gv: str) -> dict[str, Any]:
    """A minimal OpenAPI v3 document: no schemas, but PATCH operations that declare the
    ``fieldValidation`` and ``dryRun`` parameters. kubectl looks for them to decide that the server
    validates fields itself (so ``kubectl apply`` needs no client-side schema) and supports dry run."""
    paths: dict[str, Any] = {}
    params = [
        {"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
        for n in ("dryRun", "fieldManager", "fieldValidation", "force")
    ]
    for rt in RESOURCE_TYPES:
        if (f"apis/{rt.group}/{rt.version}" if rt.group else "api/v1") != gv:
            continue
        prefix = f"/{gv}/namespaces/{{namespace}}" if rt.namespaced else f"/{gv}"
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        operation = {
            "parameters": params,
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
            "responses": {"200": {"description": "OK"}},
        }
        paths[f"{prefix}/{rt.plural}/{{name}}"] = {"patch": operation}
        paths[f"{prefix}/{rt.plural}"] = {"post": {**operation, "x-kubernetes-action": "post"}}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (switchyard localenv)", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def make_handler(cluster: Cluster, aws: Any = None, rbac: RbacPolicy | None = None) -> type[KubeApiHandler]:
    """A handler class bound to one cluster (and, for the control API, the local AWS if any);
    with ``rbac``, requests are authorised against its rules."""
    return type(
        "BoundKubeApiHandler",
        (KubeApiHandler,),
        {"cluster": cluster, "faults": cluster.faults, "aws": aws, "rbac": rbac, "_proxy_counters": {}},
    )
