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

A load-generator Job's running pod (label ``switchyard.io/step: load-test``, env ``TARGET_URL``
and ``RPS``: see ``switchyard.release.loadtest``) adds ``RPS`` to the colour the Service named in
``TARGET_URL`` selects. A behaviour with ``capacity_rps`` saturates: above that many requests per
second per ready pod the excess is answered 503 and latency rises (``Behaviour.overload``).

Pods' CPU and memory (``pod_usage``, cAdvisor's figures) are a base plus a share per request per
second the pod receives, against the limits of its first container.

An ingress-nginx canary Ingress (``nginx.ingress.kubernetes.io/canary: "true"``, ``canary-weight``)
sends its weight in percent of the app's RPS to the colour its backend Service selects, taken from
the colour the app's Service selects.

A preview Service (labelled ``app.kubernetes.io/managed-by: switchyard``) is not a live route:
its colour gets no share of the app's RPS through it.

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
from switchyard.localenv.store import CONFIG_MAPS, DEPLOYMENTS, INGRESSES, PODS, SERVICES, ObjectStore
from switchyard.release.canary import CANARY as CANARY_ANNOTATION
from switchyard.release.canary import CANARY_WEIGHT as CANARY_WEIGHT_ANNOTATION
from switchyard.release.conventions import APP_LABEL, COLOUR_LABEL
from switchyard.release.loadtest import LOAD_TEST_STEP, STEP_LABEL

SERVES_TRAFFIC_LABEL = "switchyard.io/serves-traffic"
GATEWAY_KEY_ANNOTATION = "switchyard.io/gateway-upstream-key"
COLOR_LABEL = COLOUR_LABEL  # the demo apps follow the default conventions (release.conventions)
MANAGED_BY = "app.kubernetes.io/managed-by"
BASE_LATENCY_SECONDS = 0.045
DEFAULT_RPS = 20.0
# What a pod uses: a base plus a share per request per second it receives.
BASE_CPU_CORES = 0.02
CPU_CORES_PER_RPS = 0.005
BASE_MEMORY_BYTES = 96 * 2**20
MEMORY_BYTES_PER_RPS = 2**20


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


@dataclass(frozen=True)
class PodUsage:
    namespace: str
    pod: str
    container: str
    cpu_cores: float
    memory_bytes: float
    cpu_limit_cores: float | None
    memory_limit_bytes: float | None


_MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def cpu_cores(quantity: Any) -> float | None:
    """A Kubernetes CPU quantity ("500m", "1", 0.5) in cores; None when absent or unreadable."""
    if quantity in (None, ""):
        return None
    text = str(quantity)
    try:
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        return None


def memory_bytes(quantity: Any) -> float | None:
    """A Kubernetes memory quantity ("256Mi", "1G", 1048576) in bytes; None when absent or unreadable."""
    if quantity in (None, ""):
        return None
    text = str(quantity)
    for suffix in sorted(_MEMORY_UNITS, key=len, reverse=True):
        if text.endswith(suffix):
            try:
                return float(text[: -len(suffix)]) * _MEMORY_UNITS[suffix]
            except ValueError:
                return None
    try:
        return float(text)
    except ValueError:
        return None


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

    def _groups(self) -> dict[tuple[str, str, str], list[dict]]:
        """Serving Deployments by (namespace, app, colour); the caller holds the store's lock."""
        groups: dict[tuple[str, str, str], list[dict]] = {}
        for d in self.store.view(DEPLOYMENTS):
            labels = ((d["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
            if (
                labels.get(SERVES_TRAFFIC_LABEL) == "false"
                or APP_LABEL not in labels
                or COLOR_LABEL not in labels
            ):
                continue
            key = (d["metadata"]["namespace"], labels[APP_LABEL], labels[COLOR_LABEL])
            groups.setdefault(key, []).append(d)
        return groups

    def _colour_rps(
        self, namespace: str, app: str, colour: str, live: Any, load: Any, canary: Any = None
    ) -> float:
        """The app's RPS on the colour its Service selects, less what canary Ingresses send to other
        colours; their share on a canary colour; plus the load generators' RPS."""
        app_rps, selected = self.rps(namespace, app), live.get((namespace, app), set())
        weights = {c: w for (n, a, c), w in (canary or {}).items() if (n, a) == (namespace, app)}
        moved = min(1.0, sum(w for c, w in weights.items() if c not in selected))
        rps = app_rps * (1.0 - moved) if colour in selected else app_rps * weights.get(colour, 0.0)
        return rps + load.get((namespace, app, colour), 0.0)

    def canary_weights(self) -> dict[tuple[str, str, str], float]:
        """Share of the app's traffic (0..1) each ingress-nginx canary Ingress sends, by the
        (namespace, app, colour) its backend Service selects."""
        weights: dict[tuple[str, str, str], float] = {}
        for ingress in self.store.view(INGRESSES):
            annotations = ingress["metadata"].get("annotations") or {}
            if annotations.get(CANARY_ANNOTATION) != "true":
                continue
            try:
                weight = min(max(float(annotations.get(CANARY_WEIGHT_ANNOTATION) or 0), 0.0), 100.0) / 100
            except ValueError:
                continue
            namespace = ingress["metadata"]["namespace"]
            spec = ingress.get("spec") or {}
            names = {
                (path.get("backend") or {}).get("service", {}).get("name")
                for rule in spec.get("rules") or []
                for path in (rule.get("http") or {}).get("paths") or []
            } | {((spec.get("defaultBackend") or {}).get("service") or {}).get("name")}
            for name in sorted(n for n in names if n):
                target = self._target_colour(f"http://{name}.{namespace}", namespace)
                if target:
                    weights[target] = weights.get(target, 0.0) + weight
                    break  # one share per Ingress
        return weights

    def figures(self) -> list[ColourFigures]:
        """One entry per (namespace, app, colour) that has at least one Deployment."""
        result = []
        with self.store.lock:
            groups = self._groups()
            live = self._live_colours()
            load, canary = self.load_rps(), self.canary_weights()
            for (namespace, app, colour), members in sorted(groups.items()):
                rps = self._colour_rps(namespace, app, colour, live, load, canary)
                result.append(self._colour(namespace, app, colour, members, rps))
        return result

    def pod_usage(self) -> list[PodUsage]:
        """CPU and memory of every ready pod of the serving Deployments, rising with the requests
        per second each receives, and the limits its first container declares (None: no limit)."""
        result = []
        with self.store.lock:
            live = self._live_colours()
            load, canary = self.load_rps(), self.canary_weights()
            for (namespace, app, colour), members in sorted(self._groups().items()):
                rps = self._colour_rps(namespace, app, colour, live, load, canary)
                for deployment in members:
                    ready = self._ready_pods(deployment)
                    for pod in ready:
                        per_pod = rps / len(ready)
                        container = (pod["spec"].get("containers") or [{}])[0]
                        limits = (container.get("resources") or {}).get("limits") or {}
                        result.append(
                            PodUsage(
                                namespace,
                                pod["metadata"]["name"],
                                container.get("name", "app"),
                                BASE_CPU_CORES + CPU_CORES_PER_RPS * per_pod,
                                BASE_MEMORY_BYTES + MEMORY_BYTES_PER_RPS * per_pod,
                                cpu_cores(limits.get("cpu")),
                                memory_bytes(limits.get("memory")),
                            )
                        )
        return result

    def _ready_pods(self, deployment: dict) -> list[dict]:
        selector = ",".join(
            f"{k}={v}" for k, v in (deployment["spec"]["selector"].get("matchLabels") or {}).items()
        )
        return [
            p for p in self.store.view(PODS, deployment["metadata"]["namespace"], selector) if pod_ready(p)
        ]

    def load_rps(self) -> dict[tuple[str, str, str], float]:
        """Requests per second the running load-generator pods send, by (namespace, app, colour)."""
        load: dict[tuple[str, str, str], float] = {}
        for pod in self.store.view(PODS, None, f"{STEP_LABEL}={LOAD_TEST_STEP}"):
            if (pod.get("status") or {}).get("phase") != "Running":
                continue
            for container in (pod.get("spec") or {}).get("containers") or []:
                env = {e.get("name"): e.get("value") for e in container.get("env") or []}
                target = self._target_colour(env.get("TARGET_URL") or "", pod["metadata"]["namespace"])
                try:
                    rps = float(env.get("RPS") or 0)
                except ValueError:
                    continue
                if target and rps > 0:
                    load[target] = load.get(target, 0.0) + rps
        return load

    def _target_colour(self, url: str, pod_namespace: str) -> tuple[str, str, str] | None:
        """(namespace, app, colour) the Service in ``http://<service>[.<namespace>...][:port]/...`` selects."""
        host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        parts = host.split(".")
        name, namespace = parts[0], parts[1] if len(parts) > 1 else pod_namespace
        service = self.store.find(SERVICES, namespace, name)
        selector = ((service or {}).get("spec") or {}).get("selector") or {}
        if APP_LABEL not in selector or COLOR_LABEL not in selector:
            return None
        return namespace, selector[APP_LABEL], selector[COLOR_LABEL]

    def _live_colours(self) -> dict[tuple[str, str], set[str]]:
        live: dict[tuple[str, str], set[str]] = {}
        services = self.store.view(SERVICES)
        by_name = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in services}
        gated: set[tuple[str, str]] = set()  # apps whose requests go through a gateway
        for configmap in self.store.view(CONFIG_MAPS):
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
            if (service["metadata"].get("labels") or {}).get(MANAGED_BY) == "switchyard":
                continue  # a preview Service: it gets only what is sent to it (smoke tests, load tests)
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
        rps: float,
    ) -> ColourFigures:
        success, latency_ms = 1.0, 0.0
        for deployment in deployments:
            ready = self._ready_pods(deployment)
            if not ready:
                success = 0.0
                continue
            behaviours = [
                self.behaviours.lookup(c.get("image", ""))
                for p in ready
                for c in (p["spec"].get("containers") or [])[:1]
            ]
            per_pod = rps / len(ready)
            overloads = [b.overload(per_pod) for b in behaviours]
            share = sum(
                1.0 - (1.0 - b.error_rate) * (1.0 - shed)
                for b, (shed, _) in zip(behaviours, overloads, strict=True)
            ) / len(behaviours)
            success *= 1.0 - share
            latency_ms = max(
                [latency_ms]
                + [b.latency_ms + extra for b, (_, extra) in zip(behaviours, overloads, strict=True)]
            )
        return ColourFigures(
            namespace, app, colour, rps, rps * (1.0 - success), BASE_LATENCY_SECONDS + latency_ms / 1000.0
        )
