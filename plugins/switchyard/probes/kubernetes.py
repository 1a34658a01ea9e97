"""Facts of the Kubernetes types (deployment, service, ingress, operator) and of business processes,
read through the cncf-kubernetes provider's ``KubernetesHook`` (GET and LIST only).

Where each fact comes from (``name`` is the component's resource, else its name; ``namespace`` its
``vars.namespace``, else ``default``):

* deployment — the Deployment: ``ready_replicas``, ``updated_replicas``,
  ``available_replicas``, ``unavailable_replicas`` (absent counts are 0, as the API server omits
  zeros), ``desired_replicas`` (``spec.replicas``, default 1), ``condition_available`` /
  ``condition_progressing`` (the condition's status is ``True``; no such condition yet → missing),
  ``image`` (first container); ``restart_count`` sums the restarts of every container of the pods
  its selector matches.
* service — the Service: ``type``, ``selected_colour`` (the selector's ``color``, ``''``
  without one), ``external_ip_assigned`` (a load-balancer address or ``spec.externalIPs``);
  ``endpoint_count`` counts the ready addresses of its Endpoints (no Endpoints object: 0);
  ``selector_match`` is whether a ready pod matches the selector (no selector: false).
* ingress — the Ingress: ``address_assigned`` (a load-balancer ip or hostname),
  ``backend_count`` (distinct backends of the rules and the default backend), ``tls_configured``,
  ``class`` (``ingressClassName``, else the legacy annotation, else ``''``).
* operator — its controller is the Deployment named like the component in the component's
  namespace: ``deployment_ready`` (it wants replicas and all of them are ready), ``restart_count``
  (over its pods); ``crd_registered`` lists the cluster's CRDs once and applies ``operator_crds``;
  ``webhook_healthy`` is missing (no read-only API answers it).
* business_process — ``operator_says_healthy``, derived from the deployments it depends on (see
  ``process_health``).

Objects are read in batches: one LIST per kind and namespace (deployments, services, endpoints,
pods, ingresses; paged) answers every object of it for the cache's time — a gate's whole run — and
pods are matched to selectors here, as the API server would. A LIST refused with an error a single
read may not share (403: RBAC may allow ``get`` on named objects only; a 500) falls back to one GET
per object, so each object's facts carry that object's own status; a LIST that times out or is
throttled makes each object asked about ``transient`` with the LIST's detail.

A missing object is ``not_found`` for every fact of the component: an absent deployment is not a
deployment with 0 replicas (the standby colour is absent between releases by design).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from kubernetes.client.exceptions import ApiException

from switchyard.engine.model import Component, Model
from switchyard.probes.cache import ReadCache
from switchyard.probes.clients import kubernetes_api_client
from switchyard.probes.errors import MISSING, NOT_FOUND, ReadFailed, from_kubernetes
from switchyard.probes.observation import Observation
from switchyard.release.colours import base_name, colour_of
from switchyard.release.conventions import COLOUR_LABEL, DEFAULT_NAMESPACE

OPERATOR_LABEL = "switchyard.io/operator"
# Labels by which a CRD says which application installed it (Helm charts and kubebuilder projects).
_OWNER_LABELS = (OPERATOR_LABEL, "app.kubernetes.io/name", "app.kubernetes.io/part-of", "app")
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def namespace_of(component: Component) -> str:
    return component.vars.get("namespace") or DEFAULT_NAMESPACE


def selector_string(selector: Any) -> str:
    """A ``V1LabelSelector`` (``matchLabels`` and ``matchExpressions``) as a ``label_selector`` query."""
    if selector is None:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.match_labels or {}).items())]
    for expression in selector.match_expressions or []:
        values = ",".join(expression.values or [])
        parts.append(
            {
                "In": f"{expression.key} in ({values})",
                "NotIn": f"{expression.key} notin ({values})",
                "Exists": expression.key,
                "DoesNotExist": f"!{expression.key}",
            }[expression.operator]
        )
    return ",".join(parts)


def _labels_query(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    """Whether labels match a selector: a label mapping (a Service's), or a ``V1LabelSelector``
    (``matchLabels`` and ``matchExpressions``, as the API server applies them). An empty
    selector matches nothing here: callers refuse it before asking."""
    if isinstance(selector, dict):
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
    if selector is None:
        return False
    wanted = selector.match_labels or {}
    expressions = selector.match_expressions or []
    if not wanted and not expressions:
        return False
    if any(labels.get(k) != v for k, v in wanted.items()):
        return False
    for expression in expressions:
        key, values = expression.key, set(expression.values or [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(expression.operator)
        if not matched:
            return False
    return True


def pod_is_ready(pod: Any) -> bool:
    """The pod's Ready condition is True and it is not being deleted."""
    if pod.metadata.deletion_timestamp:
        return False
    conditions = (pod.status.conditions if pod.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def restarts(pods: list[Any]) -> int:
    total = 0
    for pod in pods:
        status = pod.status
        for container in [*(status.container_statuses or []), *(status.init_container_statuses or [])]:
            total += container.restart_count or 0
    return total


def operator_crds(component: Component, crds: list[Any]) -> list[str]:
    """Names of the CRDs that belong to an operator component.

    The rule: a component var ``crd_group`` names the API group outright; otherwise a CRD belongs to
    the operator when one of its owner labels (``switchyard.io/operator``, ``app.kubernetes.io/name``,
    ``app.kubernetes.io/part-of``, ``app``) carries the operator's name, or when the operator's name is
    one of the DNS labels of the CRD's group (``external-secrets`` → ``externalsecrets.external-secrets.io``;
    ``cert-manager`` → ``challenges.acme.cert-manager.io``). A CRD whose Established condition is
    False does not count: its API is not served.
    """
    names = {component.name, component.probe_target}
    wanted_group = component.vars.get("crd_group")
    found = []
    for crd in crds:
        group = crd.spec.group or ""
        if wanted_group:
            belongs = group == wanted_group
        else:
            labels = crd.metadata.labels or {}
            belongs = any(labels.get(key) in names for key in _OWNER_LABELS) or bool(
                names & set(group.split("."))
            )
        conditions = (crd.status.conditions if crd.status else None) or []
        established = all(c.status == "True" for c in conditions if c.type == "Established")
        if belongs and established:
            found.append(crd.metadata.name)
    return sorted(found)


# What one LIST of a kind in a namespace calls: (API attribute, method).
_LIST_CALLS = {
    "deployments": ("apps", "list_namespaced_deployment"),
    "services": ("core", "list_namespaced_service"),
    "endpoints": ("core", "list_namespaced_endpoints"),
    "pods": ("core", "list_namespaced_pod"),
    "ingresses": ("networking", "list_namespaced_ingress"),
}
_SINGULAR = {
    "deployments": "deployment",
    "services": "service",
    "endpoints": "endpoints",
    "ingresses": "ingress",
}
LIST_PAGE_SIZE = 500
# Answers to a LIST after which reading each object alone would only wait again (see ``_listed``).
_NO_FALLBACK = (429, 502, 503, 504)


@dataclass(frozen=True)
class _ListRefused:
    """A LIST the API server answered with an error: the objects are read one by one instead."""

    failure: ReadFailed


class KubernetesProbes:
    """One probe family: the Kubernetes types and the business processes derived from them."""

    types = ("deployment", "service", "ingress", "operator", "business_process")

    def __init__(self, model: Model, conn_id: str, request_timeout: float, cache: ReadCache) -> None:
        self.model = model
        self.conn_id = conn_id
        self.timeout = request_timeout
        self.cache = cache

    # ------------------------------------------------------------------ clients
    @cached_property
    def api_client(self) -> Any:
        return kubernetes_api_client(self.conn_id)

    @cached_property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    @cached_property
    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api_client)

    @cached_property
    def networking(self) -> Any:
        from kubernetes import client

        return client.NetworkingV1Api(self.api_client)

    @cached_property
    def extensions(self) -> Any:
        from kubernetes import client

        return client.ApiextensionsV1Api(self.api_client)

    # ------------------------------------------------------------------ reads (cached, GET/LIST only)
    def _read(self, key: tuple, what: str, call: Callable[[], Any]) -> Any:
        def read() -> Any:
            try:
                return call()
            except Exception as exc:
                raise from_kubernetes(exc, what) from exc

        return self.cache.get(("kubernetes", *key), read)

    def _listed(self, kind: str, namespace: str) -> dict[str, Any] | _ListRefused:
        """Every object of a kind in a namespace by name: one LIST (paged), kept for the cache's time.

        A LIST the API server answered with an error that a read of one object may not share (403:
        RBAC may grant ``get`` on named objects only; 404; a 500 from one object the server cannot
        serve) comes back as ``_ListRefused``, and each object is then read alone. Throttling,
        overload and no answer at all (429, 502-504, timeouts) raise: reading each object would
        only wait as long again, once per object.
        """
        api, method = _LIST_CALLS[kind]
        what = f"LIST {kind} {namespace}"

        def read() -> dict[str, Any] | _ListRefused:
            listed: dict[str, Any] = {}
            token = None
            try:
                while True:
                    page = getattr(getattr(self, api), method)(
                        namespace,
                        limit=LIST_PAGE_SIZE,
                        _request_timeout=self.timeout,
                        **({"_continue": token} if token else {}),
                    )
                    listed.update((item.metadata.name, item) for item in page.items or [])
                    token = page.metadata._continue if page.metadata else None
                    if not token:
                        return listed
                    self.cache.reads += 1  # each further page is a request of its own
            except ApiException as exc:
                if exc.status in _NO_FALLBACK:
                    raise from_kubernetes(exc, what) from exc
                return _ListRefused(from_kubernetes(exc, what))
            except Exception as exc:
                raise from_kubernetes(exc, what) from exc

        return self.cache.get(("kubernetes", "list", kind, namespace), read)

    def _object(self, kind: str, namespace: str, name: str, get: Callable[[], Any]) -> Any:
        """One object, from its namespace's LIST; read alone when the LIST was refused."""
        listed = self._listed(kind, namespace)
        if isinstance(listed, _ListRefused):
            return self._read((kind, namespace, name), f"GET {kind} {namespace}/{name}", get)
        found = listed.get(name)
        if found is None:
            raise ReadFailed(
                NOT_FOUND, f"LIST {kind} {namespace}: no {_SINGULAR.get(kind, kind)} named {name} there"
            )
        return found

    def deployment(self, namespace: str, name: str) -> Any:
        return self._object(
            "deployments",
            namespace,
            name,
            lambda: self.apps.read_namespaced_deployment(name, namespace, _request_timeout=self.timeout),
        )

    def service(self, namespace: str, name: str) -> Any:
        return self._object(
            "services",
            namespace,
            name,
            lambda: self.core.read_namespaced_service(name, namespace, _request_timeout=self.timeout),
        )

    def endpoints(self, namespace: str, name: str) -> Any:
        return self._object(
            "endpoints",
            namespace,
            name,
            lambda: self.core.read_namespaced_endpoints(name, namespace, _request_timeout=self.timeout),
        )

    def pods(self, namespace: str, selector: Any) -> list[Any]:
        """The pods of a namespace a selector matches (a ``V1LabelSelector`` or a label mapping)."""
        listed = self._listed("pods", namespace)
        if not isinstance(listed, _ListRefused):
            return [pod for pod in listed.values() if selector_matches(selector, pod.metadata.labels or {})]
        text = selector_string(selector) if not isinstance(selector, dict) else _labels_query(selector)
        return self._read(
            ("pods", namespace, text),
            f"LIST pods {namespace} -l {text}",
            lambda: (
                self.core.list_namespaced_pod(
                    namespace, label_selector=text, _request_timeout=self.timeout
                ).items
            ),
        )

    def ingress(self, namespace: str, name: str) -> Any:
        return self._object(
            "ingresses",
            namespace,
            name,
            lambda: self.networking.read_namespaced_ingress(name, namespace, _request_timeout=self.timeout),
        )

    def crds(self) -> list[Any]:
        return self._read(
            ("crds",),
            "LIST customresourcedefinitions",
            lambda: self.extensions.list_custom_resource_definition(_request_timeout=self.timeout).items,
        )

    # ------------------------------------------------------------------ facts
    def fact(self, component: Component, fact: str) -> Any:
        handler = getattr(self, f"_{component.type}_fact")
        return handler(component, fact)

    def _deployment_fact(self, component: Component, fact: str) -> Any:
        namespace, name = namespace_of(component), component.probe_target
        deployment = self.deployment(namespace, name)
        if fact == "restart_count":
            return self._restart_count(namespace, deployment)
        spec, status = deployment.spec, deployment.status
        if fact in ("ready_replicas", "updated_replicas", "available_replicas", "unavailable_replicas"):
            return (getattr(status, fact) if status else None) or 0  # the API server omits zero counts
        if fact == "desired_replicas":
            return 1 if spec.replicas is None else spec.replicas
        if fact in ("condition_available", "condition_progressing"):
            return _condition(deployment, fact.removeprefix("condition_").capitalize())
        if fact == "image":
            containers = spec.template.spec.containers or []
            if not containers:
                raise ReadFailed(MISSING, f"deployment {namespace}/{name} has no containers")
            return containers[0].image
        raise _unknown_fact(component, fact)

    def _restart_count(self, namespace: str, deployment: Any) -> int:
        if not selector_string(deployment.spec.selector):
            raise ReadFailed(MISSING, f"deployment {namespace}/{deployment.metadata.name} has no selector")
        return restarts(self.pods(namespace, deployment.spec.selector))

    def _service_fact(self, component: Component, fact: str) -> Any:
        namespace, name = namespace_of(component), component.probe_target
        service = self.service(namespace, name)
        selector = service.spec.selector or {}
        if fact == "type":
            return service.spec.type or "ClusterIP"
        if fact == "selected_colour":
            return selector.get(COLOUR_LABEL, "")
        if fact == "external_ip_assigned":
            balancer = service.status.load_balancer if service.status else None
            addresses = [i for i in (balancer.ingress if balancer else None) or [] if i.ip or i.hostname]
            return bool(addresses or service.spec.external_ips)
        if fact == "endpoint_count":
            try:
                endpoints = self.endpoints(namespace, name)
            except ReadFailed as exc:
                if exc.status != NOT_FOUND:
                    raise
                return Observation(0, f"service {namespace}/{name} has no Endpoints object")
            return sum(len(subset.addresses or []) for subset in endpoints.subsets or [])
        if fact == "selector_match":
            if not selector:
                return Observation(False, f"service {namespace}/{name} has no selector")
            return any(pod_is_ready(p) for p in self.pods(namespace, dict(selector)))
        raise _unknown_fact(component, fact)

    def _ingress_fact(self, component: Component, fact: str) -> Any:
        namespace, name = namespace_of(component), component.probe_target
        ingress = self.ingress(namespace, name)
        spec = ingress.spec
        if fact == "address_assigned":
            balancer = ingress.status.load_balancer if ingress.status else None
            return any(i.ip or i.hostname for i in (balancer.ingress if balancer else None) or [])
        if fact == "backend_count":
            backends = [spec.default_backend] if spec.default_backend else []
            for rule in spec.rules or []:
                backends += [path.backend for path in (rule.http.paths if rule.http else [])]
            return len({_backend_key(b) for b in backends})
        if fact == "tls_configured":
            return bool(spec.tls)
        if fact == "class":
            annotations = ingress.metadata.annotations or {}
            return spec.ingress_class_name or annotations.get(LEGACY_CLASS_ANNOTATION, "")
        raise _unknown_fact(component, fact)

    def _operator_fact(self, component: Component, fact: str) -> Any:
        namespace, name = namespace_of(component), component.probe_target
        if fact == "crd_registered":
            matched = operator_crds(component, self.crds())
            if matched:
                return Observation(True, ", ".join(matched))
            return Observation(
                False,
                f"no CustomResourceDefinition belongs to {name} (switchyard.probes.kubernetes.operator_crds)",
            )
        if fact == "webhook_healthy":
            raise ReadFailed(
                MISSING, "webhook health is not readable through the API (no read-only call answers it)"
            )
        deployment = self.deployment(namespace, name)
        if fact == "restart_count":
            return self._restart_count(namespace, deployment)
        if fact == "deployment_ready":
            desired, ready = _replicas(deployment)
            return Observation(desired > 0 and ready >= desired, f"{ready}/{desired} ready")
        raise _unknown_fact(component, fact)

    def _business_process_fact(self, component: Component, fact: str) -> Any:
        if fact != "operator_says_healthy":
            raise _unknown_fact(component, fact)
        return self.process_health(component)

    def process_health(self, component: Component) -> Observation:
        """Whether a business process is served, from the deployments the model says it depends on.

        The rule: every deployment it depends on must want replicas and have them all ready. The
        colours of one per-colour tier count together — the tier is served when some colour wants
        replicas and every colour that wants replicas is ready (the standby colour absent or at 0 is
        normal; after the switch the new colour alone carries the work). Dependencies that are not
        deployments (the queue broker) are probed on their own and skipped here. A tier that is not
        served decides ``false`` even when another could not be read; otherwise a tier that could not
        be read makes the answer unknown with that tier's status.
        """
        names = [d for d in dict.fromkeys(component.depends_on) if d in self.model.components]
        deployments = [
            self.model.components[d] for d in names if self.model.components[d].type == "deployment"
        ]
        skipped = [d for d in names if self.model.components[d].type != "deployment"]
        if not deployments:
            raise ReadFailed(
                MISSING, f"{component.name} depends on no deployment: nothing to derive its health from"
            )
        tiers: dict[str, list[Component]] = {}
        for dep in deployments:
            tiers.setdefault(base_name(dep.name) if colour_of(dep.name) else dep.name, []).append(dep)
        served, unreadable = [], None
        for members in tiers.values():
            try:
                ok, why = self._tier_served(members)
            except ReadFailed as exc:
                unreadable = unreadable or exc
                continue
            if not ok:
                return Observation(False, why)
            served.append(why)
        if unreadable is not None:
            raise unreadable
        skipped_note = f"; probed on their own: {', '.join(skipped)}" if skipped else ""
        return Observation(True, "; ".join(served) + skipped_note)

    def _tier_served(self, members: list[Component]) -> tuple[bool, str]:
        present: dict[str, tuple[int, int]] = {}
        absent = []
        for member in members:
            try:
                deployment = self.deployment(namespace_of(member), member.probe_target)
            except ReadFailed as exc:
                if exc.status == NOT_FOUND and len(members) > 1:
                    absent.append(member.name)
                    continue
                raise
            present[member.name] = _replicas(deployment)
        if not present:
            raise ReadFailed(NOT_FOUND, f"none of {', '.join(absent)} exists")
        running = {n: r for n, r in present.items() if r[0] > 0}
        shown = ", ".join(f"{n} {ready}/{desired} ready" for n, (desired, ready) in present.items())
        shown += f" ({', '.join(absent)} absent)" if absent else ""
        if not running:
            return False, f"no replicas wanted: {shown}"
        if any(ready < desired for desired, ready in running.values()):
            return False, shown
        return True, shown


def _replicas(deployment: Any) -> tuple[int, int]:
    """(desired, ready) of a Deployment."""
    desired = 1 if deployment.spec.replicas is None else deployment.spec.replicas
    ready = (deployment.status.ready_replicas if deployment.status else None) or 0
    return desired, ready


def _condition(deployment: Any, kind: str) -> bool:
    conditions = (deployment.status.conditions if deployment.status else None) or []
    for condition in conditions:
        if condition.type == kind:
            return condition.status == "True"
    meta = deployment.metadata
    raise ReadFailed(MISSING, f"deployment {meta.namespace}/{meta.name} reports no {kind} condition yet")


def _backend_key(backend: Any) -> tuple:
    if backend.service is not None:
        port = backend.service.port
        return ("service", backend.service.name, port.number if port else None, port.name if port else None)
    resource = backend.resource
    return ("resource", resource.kind if resource else None, resource.name if resource else None)


def _unknown_fact(component: Component, fact: str) -> ReadFailed:
    return ReadFailed(MISSING, f"the live probe does not read {component.type}.{fact}")
