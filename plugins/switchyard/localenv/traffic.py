"""Per-colour request figures: what a Prometheus scraping the app would see.

The figures are derived, not counted: each app receives ``rps`` requests per second on the colour
its Service selects; a colour's pods answer them according to their images' behaviours. For a
colour the figures cover every Deployment labelled ``app=<app>,color=<colour>`` except those whose
pod template says ``switchyard.io/serves-traffic: "false"`` (queue consumers; the seeder sets it
for deployments no Service reaches in the model):

* error ratio = 1 - Π over those Deployments of (1 - error share), where a Deployment's error share
  is the mean ``error_rate`` of its ready pods, and 1.0 when it has none (requests get 503);
* p99 latency = base latency + the largest ``latency_ms`` among their ready pods.

An app behind a gateway (a ConfigMap annotated ``switchyard.io/gateway-upstream-key: <key>``, as the
seeder makes it for ``release.switch: gateway_configmap``) receives its requests on the colour of
the Service the key's upstream names (``<service>[.<namespace>...]:<port>``), and on no other.

A colour that the Service (or the gateway) does not select gets no traffic (rate 0, ratio NaN, as Prometheus gives
for 0/0); a colour with no Deployment at all has no series (empty result).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from switchyard.localenv.behaviours import BehaviourTable
from switchyard.localenv.controller import pod_ready
from switchyard.localenv.store import CONFIG_MAPS, DEPLOYMENTS, PODS, SERVICES, ObjectStore
from switchyard.release.conventions import APP_LABEL, COLOUR_LABEL

SERVES_TRAFFIC_LABEL = "switchyard.io/serves-traffic"
GATEWAY_KEY_ANNOTATION = "switchyard.io/gateway-upstream-key"
COLOR_LABEL = COLOUR_LABEL  # the demo apps follow the default conventions (release.conventions)
BASE_LATENCY_SECONDS = 0.045
DEFAULT_RPS = 20.0


@dataclass(frozen=True)
class ColourFigures:
    namespace: str
    app: str
    colour: str
    request_rate: float  # requests per second
    error_rate: float  # 5xx requests per second
    p99_seconds: float

    @property
    def error_ratio(self) -> float:
        return self.error_rate / self.request_rate if self.request_rate else math.nan


class TrafficModel:
    def __init__(
        self, store: ObjectStore, behaviours: BehaviourTable, default_rps: float = DEFAULT_RPS
    ) -> None:
        self.store = store
        self.behaviours = behaviours
        self.default_rps = default_rps
        self._rps: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def set_rps(self, namespace: str, app: str, rps: float) -> None:
        if rps < 0:
            raise ValueError(f"rps must be >= 0, got {rps}")
        with self._lock:
            self._rps[(namespace, app)] = float(rps)

    def rps(self, namespace: str, app: str) -> float:
        with self._lock:
            return self._rps.get((namespace, app), self.default_rps)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "default_rps": self.default_rps,
                "apps": {f"{ns}/{app}": r for (ns, app), r in self._rps.items()},
            }

    def figures(self) -> list[ColourFigures]:
        """One entry per (namespace, app, colour) that has at least one Deployment."""
        result = []
        with self.store.lock:
            deployments = self.store.list(DEPLOYMENTS)
            groups: dict[tuple[str, str, str], list[dict]] = {}
            for d in deployments:
                labels = ((d["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
                if (
                    labels.get(SERVES_TRAFFIC_LABEL) == "false"
                    or APP_LABEL not in labels
                    or COLOR_LABEL not in labels
                ):
                    continue
                key = (d["metadata"]["namespace"], labels[APP_LABEL], labels[COLOR_LABEL])
                groups.setdefault(key, []).append(d)
            live = self._live_colours()
            for (namespace, app, colour), members in sorted(groups.items()):
                result.append(self._colour(namespace, app, colour, members, live))
        return result

    def _live_colours(self) -> dict[tuple[str, str], set[str]]:
        live: dict[tuple[str, str], set[str]] = {}
        services = self.store.list(SERVICES)
        by_name = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in services}
        gated: set[tuple[str, str]] = set()  # apps whose requests go through a gateway
        for configmap in self.store.list(CONFIG_MAPS):
            key = ((configmap["metadata"].get("annotations")) or {}).get(GATEWAY_KEY_ANNOTATION)
            if not key:
                continue
            namespace = configmap["metadata"]["namespace"]
            app = ((configmap["metadata"].get("labels")) or {}).get(APP_LABEL)
            if app:
                gated.add((namespace, app))
            host = str((configmap.get("data") or {}).get(key, "")).strip().split(":", 1)[0]
            labels = host.split(".")
            target = (labels[1] if len(labels) > 1 and labels[1] else namespace, labels[0])
            selector = ((by_name.get(target) or {}).get("spec") or {}).get("selector") or {}
            if APP_LABEL in selector and COLOR_LABEL in selector:
                gated.add((target[0], selector[APP_LABEL]))
                live.setdefault((target[0], selector[APP_LABEL]), set()).add(selector[COLOR_LABEL])
        for service in services:
            selector = (service.get("spec") or {}).get("selector") or {}
            key = (service["metadata"]["namespace"], selector.get(APP_LABEL))
            if APP_LABEL in selector and COLOR_LABEL in selector and key not in gated:
                live.setdefault(key, set()).add(selector[COLOR_LABEL])
        return live

    def _colour(
        self,
        namespace: str,
        app: str,
        colour: str,
        deployments: list[dict],
        live: dict[tuple[str, str], set[str]],
    ) -> ColourFigures:
        rps = self.rps(namespace, app) if colour in live.get((namespace, app), set()) else 0.0
        success, latency_ms = 1.0, 0.0
        for deployment in deployments:
            selector = ",".join(
                f"{k}={v}" for k, v in (deployment["spec"]["selector"].get("matchLabels") or {}).items()
            )
            ready = [p for p in self.store.list(PODS, namespace, selector) if pod_ready(p)]
            if not ready:
                success = 0.0
                continue
            behaviours = [
                self.behaviours.lookup(c.get("image", ""))
                for p in ready
                for c in (p["spec"].get("containers") or [])[:1]
            ]
            share = sum(b.error_rate for b in behaviours) / len(behaviours)
            success *= 1.0 - share
            latency_ms = max([latency_ms] + [b.latency_ms for b in behaviours])
        return ColourFigures(
            namespace, app, colour, rps, rps * (1.0 - success), BASE_LATENCY_SECONDS + latency_ms / 1000.0
        )
