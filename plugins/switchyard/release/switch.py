"""The traffic switch, in one place: which colour is live, move it, then prove it moved.

Every step of a release that asks "which colour serves?" or moves traffic goes through one
``Switch``, built by ``switch_for(spec, api_client)`` from the model's ``release:`` section, so
plan, switch, rollback, cleanup, the abort guard, the drift check and the UI all see the same
colour whatever the mechanism:

* ``service_selector`` (``ServiceSelectorSwitch``) — the colour-selecting Service's
  ``spec.selector.color`` (seed 003).
* ``gateway_configmap`` (``GatewaySwitch``) — a gateway's upstream held in a ConfigMap key
  (seed 001): the key's value names the live colour's Service (``<service>-<colour>``); the
  gateway reloads it.

A patch is not the switch (release failure mode 1): the API server accepts it long before the
data plane converges. ``switch`` patches, then ``verify`` waits until the Service traffic goes
through has exactly the target colour's ready pods as its ready endpoints. It is idempotent:
already switched → no patch, verified again.

Every API call carries ``_request_timeout``; reads and the patches that set the switch's one
value are retried (``switchyard.release.calls.retried``), the creates are not (a switch step that
fails is retried by its task, and re-running it converges).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubernetes.client import ApiClient, ApiException, CoreV1Api

from switchyard.release.calls import REQUEST_TIMEOUT, retried
from switchyard.release.colours import COLOURS
from switchyard.release.spec import MECHANISMS

if TYPE_CHECKING:
    from switchyard.release.spec import ReleaseSpec

__all__ = [
    "MECHANISMS",
    "GatewaySwitch",
    "ServiceSelectorSwitch",
    "Switch",
    "SwitchNotVerified",
    "SwitchResult",
    "TrafficSwitch",
    "preview_service_name",
    "switch_for",
]

COLOUR_LABEL = "color"  # the default of release.labels.colour (release.conventions)


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
    """The Service that selects only ``colour`` (the smoke tests' route, and the gateway's upstream)."""
    return f"{service}-{colour}"


@dataclass
class Switch(ABC):
    """One app's traffic switch. ``service`` is the model's colour-selecting Service component."""

    api_client: ApiClient
    service: str
    namespace: str
    log: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    request_timeout: float = REQUEST_TIMEOUT
    colour_label: str = COLOUR_LABEL  # the model's release.labels.colour

    mechanism = ""

    @property
    def core(self) -> CoreV1Api:
        return CoreV1Api(self.api_client)

    # ------------------------------------------------------------------ the interface
    @property
    @abstractmethod
    def where(self) -> str:
        """The object that holds the switch, e.g. ``service default/acme-shop-svc``."""

    @property
    @abstractmethod
    def source(self) -> str:
        """Where the live colour is read, e.g. ``service default/acme-shop-svc selector``."""

    @abstractmethod
    def live_colour(self) -> str | None:
        """The colour traffic goes to; None when none is selected (a first deployment)."""

    @abstractmethod
    def colour_pods(self, colour: str) -> set[str]:
        """The ready pods traffic would reach with ``colour`` live."""

    @abstractmethod
    def instruction(self, colour: str) -> str:
        """What a person does to send traffic to ``colour`` by hand (for error messages)."""

    @abstractmethod
    def _point_at(self, target: str) -> None:
        """The write that moves traffic (no verification)."""

    @abstractmethod
    def _serving_service(self, target: str) -> str:
        """The Service whose endpoints carry traffic once ``target`` is live."""

    def backup(self) -> list[dict[str, Any]]:
        """The objects that hold the switch, as plain manifests (the pre-release backup)."""
        service = retried(
            self.core.read_namespaced_service,
            self.service,
            self.namespace,
            _request_timeout=self.request_timeout,
        )
        return [self.api_client.sanitize_for_serialization(service)]

    def verify(self, target: str, timeout: float, poll: float = 0.5) -> tuple[list[str], float]:
        """Wait until traffic provably reaches ``target`` only: the switch names it and the serving
        Service's ready endpoints are exactly the target colour's ready pods."""
        start = self.clock()
        serving = self._serving_service(target)
        while True:
            live = self.live_colour()
            expected = self.colour_pods(target)
            ready, _ = self.endpoint_pods(serving)
            if live == target and expected and ready == expected:
                return sorted(ready), self.clock() - start
            if self.clock() - start >= timeout:
                if live != target:
                    raise SwitchNotVerified(
                        f"{self.where} names {live or 'no colour'}, not {target}, after {timeout:.0f}s"
                    )
                stray = sorted(ready - expected)
                missing = sorted(expected - ready)
                raise SwitchNotVerified(
                    f"{self.where} selects {target} but the endpoints of service {self.namespace}/{serving} "
                    f"did not converge in {timeout:.0f}s: {len(expected)} ready {target} pod(s), endpoints "
                    f"not of {target}: {', '.join(stray) or 'none'}; {target} pods missing from endpoints: "
                    f"{', '.join(missing) or 'none'}"
                )
            self.sleep(poll)

    def switch(self, target: str, timeout: float = 60.0) -> SwitchResult:
        """Point traffic at ``target`` (if it is not already) and verify it arrived."""
        if target not in COLOURS:
            raise ValueError(f"switch target {target!r} is not one of {', '.join(COLOURS)}")
        if not self.colour_pods(target):
            raise SwitchNotVerified(
                f"no ready {target} pods behind {self.where}: refusing to switch traffic to nothing"
            )
        previous = self.live_colour() or ""
        changed = previous != target
        if changed:
            self._point_at(target)
            self.log(f"{self.where}: {previous or '(none)'} → {target}")
        else:
            self.log(f"{self.where} already selects {target}; verifying endpoints")
        pods, waited = self.verify(target, timeout)
        self.log(
            f"verified: endpoints of {self._serving_service(target)} are exactly the {len(pods)} ready "
            f"{target} pod(s) after {waited:.1f}s"
        )
        return SwitchResult(self.mechanism, previous, target, changed, pods, waited)

    # ------------------------------------------------------------------ shared reads and writes
    def selector(self, service: str | None = None) -> dict[str, str]:
        """A Service's selector (default: the model's Service)."""
        found = retried(
            self.core.read_namespaced_service,
            service or self.service,
            self.namespace,
            _request_timeout=self.request_timeout,
        )
        return dict(found.spec.selector or {})

    def ready_pods(self, labels: dict[str, str]) -> set[str]:
        """Names of the ready, not terminating pods matching ``labels``."""
        if not labels:
            raise ValueError("ready_pods needs a label selector: an empty one would match every pod")
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        pods = retried(
            self.core.list_namespaced_pod,
            self.namespace,
            label_selector=selector,
            _request_timeout=self.request_timeout,
        ).items
        ready = set()
        for pod in pods:
            if pod.metadata.deletion_timestamp:
                continue
            conditions = {c.type: c.status for c in (pod.status.conditions or [])}
            if conditions.get("Ready") == "True":
                ready.add(pod.metadata.name)
        return ready

    def endpoint_pods(self, service: str | None = None) -> tuple[set[str], set[str]]:
        """(ready, not-ready) pod names behind a Service's Endpoints (none: two empty sets)."""
        try:
            endpoints = retried(
                self.core.read_namespaced_endpoints,
                service or self.service,
                self.namespace,
                _request_timeout=self.request_timeout,
            )
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

    def ensure_preview(self, colour: str) -> str:
        """A Service selecting only ``colour`` (seed 001's per-colour route), created from the model's
        Service (its selector, ports and labels) if absent; returns its name."""
        live = retried(
            self.core.read_namespaced_service,
            self.service,
            self.namespace,
            _request_timeout=self.request_timeout,
        )
        name = preview_service_name(self.service, colour)
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {
                    **(live.metadata.labels or {}),
                    self.colour_label: colour,
                    "app.kubernetes.io/managed-by": "switchyard",
                },
            },
            "spec": {
                "selector": {**(live.spec.selector or {}), self.colour_label: colour},
                "ports": [self.api_client.sanitize_for_serialization(p) for p in live.spec.ports or []],
                "type": "ClusterIP",
            },
        }
        try:
            self.core.create_namespaced_service(self.namespace, body, _request_timeout=self.request_timeout)
            self.log(f"created service {name} selecting {self.colour_label}={colour}")
        except ApiException as exc:
            if exc.status != 409:
                raise
            # a merge patch setting an absolute selector: the same object however often applied
            retried(
                self.core.patch_namespaced_service,
                name,
                self.namespace,
                {"spec": {"selector": body["spec"]["selector"]}},
                _request_timeout=self.request_timeout,
            )
        return name


@dataclass
class ServiceSelectorSwitch(Switch):
    """The Service's ``color`` selector picks the live colour; its endpoints carry the traffic."""

    mechanism = "service_selector"

    @property
    def where(self) -> str:
        return f"service {self.namespace}/{self.service}"

    @property
    def source(self) -> str:
        return f"{self.where} selector"

    def live_colour(self) -> str | None:
        try:
            return self.selector().get(self.colour_label) or None
        except ApiException as exc:
            if exc.status == 404:  # no Service yet: nothing is live
                return None
            raise

    def colour_pods(self, colour: str) -> set[str]:
        return self.ready_pods({**self.selector(), self.colour_label: colour})

    def instruction(self, colour: str) -> str:
        return f"set the selector of service {self.service} to {self.colour_label}: {colour}"

    def _point_at(self, target: str) -> None:
        # Retried: a merge patch that sets the selector to one value is idempotent (applied twice,
        # or after a 503 that the server had applied, it leaves the same Service).
        retried(
            self.core.patch_namespaced_service,
            self.service,
            self.namespace,
            {"spec": {"selector": {self.colour_label: target}}},
            _request_timeout=self.request_timeout,
        )

    def _serving_service(self, target: str) -> str:
        return self.service


# The service-selector switch's name before the gateway mechanism shared its interface.
TrafficSwitch = ServiceSelectorSwitch


@dataclass
class GatewaySwitch(Switch):
    """Seed 001's mechanism: a gateway's upstream in a ConfigMap names the live colour's Service
    (``upstream`` is a template such as ``payments-svc-{colour}.default.svc.cluster.local:80``)."""

    configmap: str = ""
    key: str = ""
    upstream: str = ""

    mechanism = "gateway_configmap"

    def __post_init__(self) -> None:
        missing = [n for n in ("configmap", "key", "upstream") if not getattr(self, n)]
        if missing:
            raise ValueError(f"gateway switch of {self.service}: release.gateway needs {', '.join(missing)}")
        if "{colour}" not in self.upstream:
            raise ValueError(
                f"release.gateway.upstream {self.upstream!r} must contain {{colour}}: it names each colour's Service"
            )

    @property
    def where(self) -> str:
        return f"configmap {self.namespace}/{self.configmap}"

    @property
    def source(self) -> str:
        return f"{self.where} key {self.key}"

    def upstream_of(self, colour: str) -> str:
        return self.upstream.format(colour=colour)

    def _value(self) -> str | None:
        try:
            found = retried(
                self.core.read_namespaced_config_map,
                self.configmap,
                self.namespace,
                _request_timeout=self.request_timeout,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return (found.data or {}).get(self.key)

    def live_colour(self) -> str | None:
        value = (self._value() or "").strip()
        return next((c for c in COLOURS if value == self.upstream_of(c)), None)

    def colour_pods(self, colour: str) -> set[str]:
        """Ready pods the colour's Service selects (the model's Service's selector with the colour,
        when the colour's Service does not exist yet)."""
        try:
            labels = self.selector(preview_service_name(self.service, colour))
        except ApiException as exc:
            if exc.status != 404:
                raise
            labels = {**self.selector(), self.colour_label: colour}
        return self.ready_pods(labels)

    def instruction(self, colour: str) -> str:
        return f"set key {self.key} of configmap {self.configmap} to {self.upstream_of(colour)}"

    def backup(self) -> list[dict[str, Any]]:
        objects = super().backup()
        try:
            found = retried(
                self.core.read_namespaced_config_map,
                self.configmap,
                self.namespace,
                _request_timeout=self.request_timeout,
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
            return objects
        return [*objects, self.api_client.sanitize_for_serialization(found)]

    def _point_at(self, target: str) -> None:
        self.ensure_preview(target)  # the upstream must name a Service that exists
        body = {"data": {self.key: self.upstream_of(target)}}
        try:  # retried: the key set to one value, idempotent like the selector patch
            retried(
                self.core.patch_namespaced_config_map,
                self.configmap,
                self.namespace,
                body,
                _request_timeout=self.request_timeout,
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
            self.core.create_namespaced_config_map(
                self.namespace,
                {"metadata": {"name": self.configmap, "namespace": self.namespace}, **body},
                _request_timeout=self.request_timeout,
            )

    def _serving_service(self, target: str) -> str:
        return preview_service_name(self.service, target)


def switch_for(
    spec: ReleaseSpec,
    api_client: ApiClient,
    *,
    log: Callable[[str], None] = print,
    request_timeout: float = REQUEST_TIMEOUT,
    **kwargs: Any,
) -> Switch:
    """The app's switch, chosen by ``release.switch`` of its model (``clock``/``sleep`` may be given)."""
    common: dict[str, Any] = {
        "log": log,
        "request_timeout": request_timeout,
        "colour_label": spec.conventions.colour_label,
        **kwargs,
    }
    if spec.switch == "gateway_configmap":
        gateway = spec.gateway
        return GatewaySwitch(
            api_client,
            spec.service,
            spec.namespace,
            configmap=gateway.get("configmap", ""),
            key=gateway.get("key", ""),
            upstream=gateway.get("upstream", ""),
            **common,
        )
    if spec.switch == "service_selector":
        return ServiceSelectorSwitch(api_client, spec.service, spec.namespace, **common)
    raise ValueError(
        f"model {spec.app}: release.switch {spec.switch!r} must be one of {', '.join(MECHANISMS)}"
    )
