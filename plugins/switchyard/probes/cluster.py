"""``ClusterReader``: what the release DAG reads from the cluster, in the runbook's words.

The live colour from the Service selector (pre-checks), the ready pods behind a Service's Endpoints
and the ready pods of a colour (the switch is verified by comparing them), a deployment's image and
replicas (the standby colour is rendered from the live one). Read-only, every call bounded by
``request_timeout``; a read that fails raises ``ReadFailed`` with its status (forbidden, transient,
not_found) and what the API answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from switchyard.probes.clients import kubernetes_api_client
from switchyard.probes.errors import NOT_FOUND, ReadFailed, from_kubernetes
from switchyard.probes.kubernetes import pod_is_ready
from switchyard.release.conventions import COLOUR_LABEL


@dataclass(frozen=True)
class DeploymentView:
    name: str
    namespace: str
    image: str  # the first container's image
    replicas: int  # spec.replicas: what it wants
    ready_replicas: int


class ClusterReader:
    """Read-only views of Services, Endpoints, Pods and Deployments.

    :param kubernetes_conn_id: the cncf-kubernetes connection
    :param request_timeout: seconds any single API call may take
    """

    def __init__(
        self, *, kubernetes_conn_id: str = "kubernetes_default", request_timeout: float = 10.0
    ) -> None:
        self.kubernetes_conn_id = kubernetes_conn_id
        self.request_timeout = request_timeout

    @cached_property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self._api_client)

    @cached_property
    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self._api_client)

    @cached_property
    def _api_client(self) -> Any:
        return kubernetes_api_client(self.kubernetes_conn_id)

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, _request_timeout=self.request_timeout, **kwargs)
        except Exception as exc:
            raise from_kubernetes(exc, what) from exc

    # ------------------------------------------------------------------ services
    def service_selector(self, service: str, namespace: str) -> dict[str, str]:
        """The Service's selector (raises ReadFailed not_found when the Service is absent)."""
        found = self._call(
            f"GET services {namespace}/{service}", self.core.read_namespaced_service, service, namespace
        )
        return dict(found.spec.selector or {})

    def selected_colour(self, service: str, namespace: str, colour_label: str = COLOUR_LABEL) -> str | None:
        """The colour the Service sends traffic to; None when its selector names none or it is absent
        (a first deployment). ``colour_label``: ``spec.conventions.colour_label``."""
        try:
            return self.service_selector(service, namespace).get(colour_label) or None
        except ReadFailed as exc:
            if exc.status == NOT_FOUND:
                return None
            raise

    def endpoint_pods(self, service: str, namespace: str) -> set[str]:
        """Names of the ready pods behind the Service's Endpoints (none yet: the empty set)."""
        try:
            endpoints = self._call(
                f"GET endpoints {namespace}/{service}",
                self.core.read_namespaced_endpoints,
                service,
                namespace,
            )
        except ReadFailed as exc:
            if exc.status == NOT_FOUND:
                return set()
            raise
        return {
            address.target_ref.name if address.target_ref else address.ip
            for subset in endpoints.subsets or []
            for address in subset.addresses or []
        }

    # ------------------------------------------------------------------ pods
    def ready_pods(self, selector: Mapping[str, str] | str, namespace: str) -> set[str]:
        """Names of the ready pods matching a label selector (a mapping, or ``a=b,c in (d)`` text)."""
        text = (
            selector
            if isinstance(selector, str)
            else ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        )
        if not text:
            raise ValueError("ready_pods needs a label selector: an empty one would match every pod")
        pods = self._call(
            f"LIST pods {namespace} -l {text}", self.core.list_namespaced_pod, namespace, label_selector=text
        )
        return {pod.metadata.name for pod in pods.items if pod_is_ready(pod)}

    def colour_pods(
        self, service: str, namespace: str, colour: str, colour_label: str = COLOUR_LABEL
    ) -> set[str]:
        """The ready pods the Service would select with ``<colour_label>: colour`` (what its endpoints
        must become after a switch to that colour)."""
        return self.ready_pods({**self.service_selector(service, namespace), colour_label: colour}, namespace)

    # ------------------------------------------------------------------ deployments
    def deployment(self, name: str, namespace: str) -> DeploymentView | None:
        """Image and replicas of a Deployment; None when it does not exist."""
        try:
            found = self._call(
                f"GET deployments {namespace}/{name}", self.apps.read_namespaced_deployment, name, namespace
            )
        except ReadFailed as exc:
            if exc.status == NOT_FOUND:
                return None
            raise
        containers = found.spec.template.spec.containers or []
        return DeploymentView(
            name=name,
            namespace=namespace,
            image=containers[0].image if containers else "",
            replicas=1 if found.spec.replicas is None else found.spec.replicas,
            ready_replicas=(found.status.ready_replicas if found.status else None) or 0,
        )
