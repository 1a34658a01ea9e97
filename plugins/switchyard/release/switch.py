"""The traffic switch, in one place: move the live colour, then prove it moved.

A selector patch is not the switch (release failure mode 1): the API server accepts it long
before endpoints converge. ``switch`` patches, then waits until the Service's ready endpoints are
exactly the target colour's ready pods. It is idempotent: already switched and verified → no-op.

Two mechanisms:
* ``service_selector`` — the colour-selecting Service's ``spec.selector.color`` (seed 003).
* ``gateway_configmap`` — a gateway's upstream held in a ConfigMap key (seed 001): the key's
  value names the live colour's preview Service; the gateway reloads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient, ApiException, CoreV1Api

MECHANISMS = ("service_selector", "gateway_configmap")


class SwitchNotVerified(Exception):
    """The patch was accepted but the data plane did not converge to the target colour in time."""


@dataclass
class SwitchResult:
    mechanism: str
    previous: str
    target: str
    changed: bool
    endpoints: list[str] = field(default_factory=list)  # ready pods behind the Service afterwards
    waited_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def preview_service_name(service: str, colour: str) -> str:
    return f"{service}-{colour}"


@dataclass
class TrafficSwitch:
    api_client: ApiClient
    service: str
    namespace: str
    log: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    @property
    def core(self) -> CoreV1Api:
        return CoreV1Api(self.api_client)

    def selector(self) -> dict[str, str]:
        return dict(self.core.read_namespaced_service(self.service, self.namespace).spec.selector or {})

    def live_colour(self) -> str | None:
        """The colour the Service selects; None on a first deployment (no colour selected)."""
        return self.selector().get("color") or None

    def colour_pods(self, colour: str) -> set[str]:
        """Ready pods the Service would select with ``color: colour``."""
        labels = {**self.selector(), "color": colour}
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=selector).items
        ready = set()
        for pod in pods:
            if pod.metadata.deletion_timestamp:
                continue
            conditions = {c.type: c.status for c in (pod.status.conditions or [])}
            if conditions.get("Ready") == "True":
                ready.add(pod.metadata.name)
        return ready

    def endpoint_pods(self, service: str | None = None) -> tuple[set[str], set[str]]:
        """(ready, not-ready) pod names behind a Service's Endpoints."""
        try:
            endpoints = self.core.read_namespaced_endpoints(service or self.service, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return set(), set()
            raise
        ready, not_ready = set(), set()
        for subset in endpoints.subsets or []:
            for address in subset.addresses or []:
                ready.add(address.target_ref.name if address.target_ref else address.ip)
            for address in subset.not_ready_addresses or []:
                not_ready.add(address.target_ref.name if address.target_ref else address.ip)
        return ready, not_ready

    def verify(self, target: str, timeout: float, poll: float = 0.5) -> tuple[list[str], float]:
        """Wait until the Service's ready endpoints are exactly the target colour's ready pods."""
        start = self.clock()
        while True:
            expected = self.colour_pods(target)
            ready, _ = self.endpoint_pods()
            if expected and ready == expected:
                return sorted(ready), self.clock() - start
            if self.clock() - start >= timeout:
                stray = sorted(ready - expected)
                missing = sorted(expected - ready)
                raise SwitchNotVerified(
                    f"service {self.namespace}/{self.service} selects color={target} but its endpoints did not "
                    f"converge in {timeout:.0f}s: {len(expected)} ready {target} pod(s), endpoints not of "
                    f"{target}: {', '.join(stray) or 'none'}; {target} pods missing from endpoints: "
                    f"{', '.join(missing) or 'none'}"
                )
            self.sleep(poll)

    def switch(self, target: str, timeout: float = 60.0) -> SwitchResult:
        """Patch the selector to ``target`` (if needed) and verify the endpoints."""
        if not self.colour_pods(target):
            raise SwitchNotVerified(
                f"no ready {target} pods behind {self.service}: refusing to switch traffic to nothing"
            )
        previous = self.live_colour() or ""
        changed = previous != target
        if changed:
            self.core.patch_namespaced_service(
                self.service, self.namespace, {"spec": {"selector": {"color": target}}}
            )
            self.log(
                f"patched {self.namespace}/{self.service} selector color: {previous or '(none)'} → {target}"
            )
        else:
            self.log(f"{self.namespace}/{self.service} already selects color={target}; verifying endpoints")
        pods, waited = self.verify(target, timeout)
        self.log(
            f"verified: endpoints of {self.service} are exactly the {len(pods)} ready {target} pod(s) after {waited:.1f}s"
        )
        return SwitchResult("service_selector", previous, target, changed, pods, waited)

    def ensure_preview(self, colour: str, port: int | None = None) -> str:
        """A Service selecting only ``colour`` (the preview route of seed 001), for smoke tests."""
        live = self.core.read_namespaced_service(self.service, self.namespace)
        name = preview_service_name(self.service, colour)
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {
                    **(live.metadata.labels or {}),
                    "color": colour,
                    "app.kubernetes.io/managed-by": "switchyard",
                },
            },
            "spec": {
                "selector": {**(live.spec.selector or {}), "color": colour},
                "ports": [self.api_client.sanitize_for_serialization(p) for p in live.spec.ports or []],
                "type": "ClusterIP",
            },
        }
        try:
            self.core.create_namespaced_service(self.namespace, body)
            self.log(f"created preview service {name} selecting color={colour}")
        except ApiException as exc:
            if exc.status != 409:
                raise
            self.core.patch_namespaced_service(
                name, self.namespace, {"spec": {"selector": body["spec"]["selector"]}}
            )
        return name


@dataclass
class GatewaySwitch:
    """Seed 001's mechanism: an upstream in a ConfigMap names the live colour's Service."""

    api_client: ApiClient
    configmap: str
    key: str
    namespace: str
    upstream_template: str  # e.g. "acme-shop-svc-{colour}.default.svc.cluster.local:80"
    log: Callable[[str], None] = print

    @property
    def core(self) -> CoreV1Api:
        return CoreV1Api(self.api_client)

    def live_colour(self) -> str | None:
        try:
            data = self.core.read_namespaced_config_map(self.configmap, self.namespace).data or {}
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        for colour in ("blue", "green"):
            if data.get(self.key, "").strip() == self.upstream_template.format(colour=colour):
                return colour
        return None

    def switch(self, target: str) -> SwitchResult:
        previous = self.live_colour() or ""
        value = self.upstream_template.format(colour=target)
        body = {"data": {self.key: value}}
        try:
            self.core.patch_namespaced_config_map(self.configmap, self.namespace, body)
        except ApiException as exc:
            if exc.status != 404:
                raise
            self.core.create_namespaced_config_map(
                self.namespace, {"metadata": {"name": self.configmap, "namespace": self.namespace}, **body}
            )
        if self.live_colour() != target:  # read back: the write is what the gateway will load
            raise SwitchNotVerified(
                f"configmap {self.namespace}/{self.configmap} key {self.key} does not name {target}"
            )
        self.log(f"gateway upstream {self.configmap}/{self.key}: {previous or '(none)'} → {value}")
        return SwitchResult("gateway_configmap", previous, target, previous != target)
