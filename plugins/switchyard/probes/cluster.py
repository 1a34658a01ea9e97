"""``ClusterReader``: the bounded, read-only Kubernetes client of the views (the drift check, the
Releases page, ``diagnose --live``), from a connection with retries off.

It hands out ``core``/``apps`` clients for those reads and reads a deployment's image and replicas;
every call is bounded by ``request_timeout``, and a read that fails raises ``ReadFailed`` with its
status (forbidden, transient, not_found) and what the API answered. Which colour is live, and the
pods behind it, are the switch's to say (``switchyard.release.switch.switch_for`` on this reader's
client), so a view and a release never disagree about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from switchyard.probes.clients import kubernetes_api_client
from switchyard.probes.errors import NOT_FOUND, ReadFailed, from_kubernetes


@dataclass(frozen=True)
class DeploymentView:
    name: str
    namespace: str
    image: str  # the first container's image
    replicas: int  # spec.replicas: what it wants
    ready_replicas: int


class ClusterReader:
    """Read-only Kubernetes reads for the views.

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
