"""Per-colour request figures through the Prometheus HTTP API (``GET /api/v1/query``).

The queries are ``switchyard.release.conventions``'s (the same text runs against a real Prometheus and
the local emulator). No data is not a healthy zero: a colour without series (no pods) or with NaN
(no traffic, 0/0) gives ``None`` for that figure, and the caller decides what an absent figure
means (a bake cannot pass on a colour that served nothing). A query the API refuses or does not
answer raises ``ReadFailed`` (forbidden / transient / not_found, with the HTTP status).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from switchyard.probes.errors import TRANSIENT, ReadFailed, http_status
from switchyard.release import conventions as promql

QUERY_ENDPOINT = "/api/v1/query"


@dataclass(frozen=True)
class ColourMetrics:
    request_rate: float | None  # requests per second the colour answered
    error_ratio: float | None  # share of them answered 5xx (0..1)
    p99_seconds: float | None  # 99th percentile latency


def colour_metrics(
    app: str,
    namespace: str,
    colour: str,
    *,
    prometheus_conn_id: str = "prometheus_default",
    request_timeout: float = 10.0,
    window: str = promql.DEFAULT_WINDOW,
    conventions: promql.Conventions = promql.DEFAULT,
) -> ColourMetrics:
    """Request rate, error ratio and p99 latency of one colour of an app over ``window``.

    :param prometheus_conn_id: an HTTP connection whose host (and port, schema) is the Prometheus API
    :param request_timeout: seconds each of the three queries may take
    :param conventions: the app's label keys, app label value and metric names (``spec.conventions``)
    """
    from airflow.providers.http.hooks.http import HttpHook

    hook = HttpHook(method="GET", http_conn_id=prometheus_conn_id)
    return ColourMetrics(
        request_rate=instant_value(
            hook, promql.request_rate(app, colour, namespace, window, conventions), request_timeout
        ),
        error_ratio=instant_value(
            hook, promql.error_ratio(app, colour, namespace, window, conventions), request_timeout
        ),
        p99_seconds=instant_value(
            hook, promql.latency_quantile(app, colour, namespace, 0.99, window, conventions), request_timeout
        ),
    )


@dataclass(frozen=True)
class ColourUsage:
    cpu_ratio: float | None  # CPU used / CPU limits of the pods (None: no limits or no pods)
    memory_ratio: float | None  # memory working set / memory limits


def colour_usage(
    namespace: str,
    deployments: list[str],
    *,
    prometheus_conn_id: str = "prometheus_default",
    request_timeout: float = 10.0,
    window: str = promql.DEFAULT_WINDOW,
) -> ColourUsage:
    """CPU and memory of the Deployments' pods as shares of their limits (cAdvisor and
    kube-state-metrics through Prometheus). Pods without limits give None: nothing to hold them to."""
    from airflow.providers.http.hooks.http import HttpHook

    hook = HttpHook(method="GET", http_conn_id=prometheus_conn_id)
    return ColourUsage(
        cpu_ratio=instant_value(hook, promql.cpu_ratio(deployments, namespace, window), request_timeout),
        memory_ratio=instant_value(hook, promql.memory_ratio(deployments, namespace), request_timeout),
    )


def instant_value(hook: Any, query: str, request_timeout: float) -> float | None:
    """The single value of an instant query; None for an empty result or NaN."""
    import requests

    what = f"GET {QUERY_ENDPOINT} {query}"
    try:
        response = hook.run(
            QUERY_ENDPOINT,
            data={"query": query},
            extra_options={"timeout": request_timeout, "check_response": False},
        )
    except requests.RequestException as exc:
        raise ReadFailed(TRANSIENT, f"{what}: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 400:
        raise ReadFailed(
            http_status(response.status_code), f"{what}: HTTP {response.status_code} {_error_text(response)}"
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise ReadFailed(TRANSIENT, f"{what}: the answer is not JSON") from exc
    data = body.get("data") or {}
    if body.get("status") != "success":
        raise ReadFailed(TRANSIENT, f"{what}: {body.get('errorType', 'error')}: {body.get('error', '')}")
    if data.get("resultType") == "scalar":
        raw = data["result"][1]
    else:
        series = data.get("result") or []
        if not series:
            return None
        if len(series) > 1:
            raise ReadFailed(TRANSIENT, f"{what}: {len(series)} series where one was expected")
        raw = series[0]["value"][1]
    value = float(raw)
    return None if math.isnan(value) else value


def _error_text(response: Any) -> str:
    try:
        body = response.json()
        return f"{body.get('errorType', '')}: {body.get('error', '')}".strip(": ")
    except ValueError:
        return response.reason or ""
