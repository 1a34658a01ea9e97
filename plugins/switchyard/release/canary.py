"""The runbook's optional canary step (seed 003, "3. Validation Phase"): a share of the real
traffic goes to the standby before the switch, through ingress-nginx's canary annotations on a
second Ingress, and the standby is compared with the live colour at every check. No Airflow here.

The canary Ingress is a copy of the app's Ingress (the one whose backend is the app's Service:
same class, hosts and paths) with every backend pointed at the standby's preview Service and

    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-weight: "<percent>"

Abort = weight back to 0, then the canary Ingress removed. Only ingress-nginx splits traffic this
way: an Ingress of another class, or the gateway-ConfigMap switch (one upstream, no weights), is
refused at plan time with the reason.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiClient, ApiException, NetworkingV1Api

from switchyard.release.calls import REQUEST_TIMEOUT, retried

CANARY = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
NGINX_CLASSES = ("nginx",)
CANARY_LABEL = "switchyard.io/canary"


def canary_refusal(switch: str, percent: float) -> str:
    """Why the model cannot run a canary ('' when it can, or when none is asked for)."""
    if not percent:
        return ""
    if switch == "gateway_configmap":
        return (
            f"canary_percent={percent:g} asks for a traffic split, but this app switches through a gateway "
            "ConfigMap that names one upstream and has no weights: it cannot split traffic. Run with "
            "canary_percent=0, or switch through the Service selector behind an ingress-nginx Ingress"
        )
    return ""


def canary_name(ingress: str) -> str:
    return f"{ingress}-canary"[:253]


def _backends(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = [spec["defaultBackend"]] if spec.get("defaultBackend") else []
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            found.append(path.get("backend") or {})
    return found


def canary_body(main: dict[str, Any], preview_service: str, percent: float, run_id: str) -> dict[str, Any]:
    """The canary Ingress: ``main``'s class, hosts and paths, every backend on ``preview_service``."""
    spec = copy.deepcopy(main.get("spec") or {})
    # TLS stays as it is: the canary answers the same hosts
    for backend in _backends(spec):
        if "service" in backend:
            backend["service"]["name"] = preview_service
    meta = main["metadata"]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": canary_name(meta["name"]),
            "namespace": meta.get("namespace"),
            "labels": {
                **(meta.get("labels") or {}),
                CANARY_LABEL: meta["name"],
                "app.kubernetes.io/managed-by": "switchyard",
            },
            "annotations": {
                CANARY: "true",
                CANARY_WEIGHT: str(round(float(percent))),
                "switchyard.io/release-run": run_id,
            },
        },
        "spec": spec,
    }


class CanaryIngress:
    """The app's Ingress and its canary: find, create with a weight, change the weight, remove."""

    def __init__(
        self, api_client: ApiClient, service: str, namespace: str, log: Callable[[str], Any] = print
    ) -> None:
        self.api = NetworkingV1Api(api_client)
        self.api_client, self.service, self.namespace, self.log = api_client, service, namespace, log

    def main(self) -> dict[str, Any] | None:
        """The Ingress sending traffic to the app's Service (not a canary)."""
        for item in retried(
            self.api.list_namespaced_ingress, self.namespace, _request_timeout=REQUEST_TIMEOUT
        ).items:
            body = self.api_client.sanitize_for_serialization(item)
            annotations = body["metadata"].get("annotations") or {}
            if annotations.get(CANARY) == "true":
                continue
            if any((b.get("service") or {}).get("name") == self.service for b in _backends(body["spec"])):
                return body
        return None

    def refusal(self) -> str:
        """Why this cluster cannot run the canary ('' when it can)."""
        main = self.main()
        if main is None:
            return (
                f"no Ingress in {self.namespace} routes to service {self.service}: the canary splits traffic "
                "at the Ingress (ingress-nginx canary annotations); run with canary_percent=0"
            )
        cls = (main.get("spec") or {}).get("ingressClassName") or (
            main["metadata"].get("annotations") or {}
        ).get("kubernetes.io/ingress.class", "")
        if cls not in NGINX_CLASSES:
            return (
                f"ingress {main['metadata']['name']} is of class {cls or '(none)'}, not nginx: the canary uses "
                f"ingress-nginx's {CANARY} / canary-weight annotations, which only ingress-nginx honours. "
                "Run with canary_percent=0, or put the app behind ingress-nginx"
            )
        return ""

    def ensure(self, preview_service: str, percent: float, run_id: str) -> str:
        """Create the canary Ingress at ``percent`` (or set the weight of the one there)."""
        main = self.main()
        if main is None:
            raise ValueError(self.refusal())
        body = canary_body(main, preview_service, percent, run_id)
        name = body["metadata"]["name"]
        try:
            self.api.create_namespaced_ingress(self.namespace, body, _request_timeout=REQUEST_TIMEOUT)
            self.log(
                f"created canary ingress {name}: {percent:g} % of {main['metadata']['name']} to {preview_service}"
            )
        except ApiException as exc:
            if exc.status != 409:
                raise
            self.api.replace_namespaced_ingress(name, self.namespace, body, _request_timeout=REQUEST_TIMEOUT)
            self.log(f"canary ingress {name} exists: set to {percent:g} % to {preview_service}")
        return name

    def remove(self) -> list[str]:
        """Weight 0 first (traffic leaves the standby at once), then delete; names what was removed."""
        removed = []
        for item in retried(
            self.api.list_namespaced_ingress, self.namespace, _request_timeout=REQUEST_TIMEOUT
        ).items:
            meta = item.metadata
            if (meta.annotations or {}).get(CANARY) != "true" or (meta.labels or {}).get(
                "app.kubernetes.io/managed-by"
            ) != "switchyard":
                continue
            try:
                retried(  # the weight set to 0: idempotent
                    self.api.patch_namespaced_ingress,
                    meta.name,
                    self.namespace,
                    {"metadata": {"annotations": {CANARY_WEIGHT: "0"}}},
                    _request_timeout=REQUEST_TIMEOUT,
                )
                self.api.delete_namespaced_ingress(
                    meta.name, self.namespace, _request_timeout=REQUEST_TIMEOUT
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise
            self.log(f"canary ingress {meta.name}: weight 0, removed")
            removed.append(meta.name)
        return removed


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def compare(
    standby: dict[str, Any],
    live: dict[str, Any],
    *,
    max_error_ratio: float,
    max_p99_seconds: float,
    p99_vs_live: float,
    p99_floor_seconds: float,
    error_ratio_vs_live: float,
    colour: str,
) -> list[str]:
    """Problems of one canary check: the standby against the thresholds and against the live colour
    at the same moment. No traffic on the standby is a problem (the canary proves nothing then)."""
    if standby.get("status", "ok") != "ok":
        return [f"metrics unreadable ({standby.get('status')}): {standby.get('detail', '')}"]
    rate = _finite(standby.get("request_rate"))
    ratio, p99 = _finite(standby.get("error_ratio")), _finite(standby.get("p99_seconds"))
    if not rate or ratio is None or p99 is None:
        return [f"no canary traffic on {colour}: a check cannot pass on no data"]
    problems = []
    if ratio >= max_error_ratio:
        problems.append(f"error ratio {ratio:.2%} ≥ {max_error_ratio:.2%}")
    if p99 >= max_p99_seconds:
        problems.append(f"p99 {p99:.2f}s ≥ {max_p99_seconds:.2f}s")
    live_ratio, live_p99 = _finite(live.get("error_ratio")), _finite(live.get("p99_seconds"))
    if live_ratio is not None and ratio > live_ratio + error_ratio_vs_live:
        problems.append(f"error ratio {ratio:.2%} > live's {live_ratio:.2%} + {error_ratio_vs_live:.2%}")
    if live_p99 is not None:
        limit = max(live_p99 * p99_vs_live, p99_floor_seconds)
        if p99 > limit:
            problems.append(f"p99 {p99:.2f}s > {limit:.2f}s ({p99_vs_live:g}× live's {live_p99:.2f}s)")
    return problems


def check_thresholds(
    live: dict[str, Any],
    *,
    max_error_ratio: float,
    max_p99_seconds: float,
    p99_vs_live: float,
    p99_floor_seconds: float,
    error_ratio_vs_live: float,
) -> dict[str, float]:
    """The limits one canary check held the standby to (those ``compare`` applies), for the
    record, the summary and the Releases view to show beside the figures."""
    limits = {"max_error_ratio": max_error_ratio, "max_p99_seconds": max_p99_seconds}
    live_ratio, live_p99 = _finite(live.get("error_ratio")), _finite(live.get("p99_seconds"))
    if live_ratio is not None:
        limits["max_error_ratio_vs_live"] = live_ratio + error_ratio_vs_live
    if live_p99 is not None:
        limits["max_p99_vs_live"] = max(live_p99 * p99_vs_live, p99_floor_seconds)
    return limits


def canary_line(
    results: list[dict[str, Any]], percent: float | None = None, planned: int | None = None
) -> str:
    """The canary's checks and the last check's figures beside its thresholds, e.g.
    ``5 %: 3/3 checks passed; last: rate 0.4 RPS, errors 0.00% (< 1.00%; live 0.00%), p99 0.120s
    (< 5.000s, ≤ 0.250s vs live; live 0.100s)``."""

    def pct(value: Any) -> str:
        number = _finite(value)
        return "-" if number is None else f"{number:.2%}"

    def sec(value: Any) -> str:
        number = _finite(value)
        return "-" if number is None else f"{number:.3f}s"

    if not results:
        return "no check ran"
    last = results[-1]
    metrics = last.get("metrics") or {}
    if percent is None:
        percent = _finite(metrics.get("percent"))
    standby, live, limits = (
        metrics.get("standby") or {},
        metrics.get("live") or {},
        last.get("thresholds") or {},
    )
    passed = sum(1 for r in results if r.get("passed"))
    head = (f"{percent:g} %: " if percent is not None else "") + (
        f"{passed}/{planned if planned else len(results)} checks passed"
    )
    if last.get("intervention"):
        head += f" ({(last.get('problems') or [''])[0]})"
    rate = _finite(standby.get("request_rate"))
    figures = [
        f"rate {rate:.1f} RPS" if rate is not None else "rate -",
        f"errors {pct(standby.get('error_ratio'))} (< {pct(limits.get('max_error_ratio'))}"
        + (
            f", ≤ {pct(limits['max_error_ratio_vs_live'])} vs live"
            if "max_error_ratio_vs_live" in limits
            else ""
        )
        + f"; live {pct(live.get('error_ratio'))})",
        f"p99 {sec(standby.get('p99_seconds'))} (< {sec(limits.get('max_p99_seconds'))}"
        + (f", ≤ {sec(limits['max_p99_vs_live'])} vs live" if "max_p99_vs_live" in limits else "")
        + f"; live {sec(live.get('p99_seconds'))})",
    ]
    return f"{head}; last check {last.get('checkpoint', len(results))}: " + ", ".join(figures)
