"""The Prometheus query API: per-colour rate, error ratio and p99 from pods, behaviours and the Service."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request

import pytest

from switchyard.localenv.prometheus import QueryError, evaluate
from switchyard.localenv.traffic import ColourFigures
from switchyard.release import conventions as promql

from .manifests import deployment


def _query(local_env, query: str, method: str = "GET") -> dict:
    url = f"{local_env.prometheus_url}/api/v1/query"
    encoded = urllib.parse.urlencode({"query": query})
    if method == "GET":
        request = urllib.request.Request(f"{url}?{encoded}")
    else:
        request = urllib.request.Request(
            url,
            data=encoded.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _value(local_env, query: str) -> float | None:
    body = _query(local_env, query)
    assert body["status"] == "success" and body["data"]["resultType"] == "vector"
    result = body["data"]["result"]
    assert len(result) <= 1
    return float(result[0]["value"][1]) if result else None


def test_live_colour_of_the_seeded_model(local_env):
    assert _value(local_env, promql.request_rate("acme-shop", "blue")) == 20.0
    assert _value(local_env, promql.error_ratio("acme-shop", "blue")) == 0.0
    assert _value(local_env, promql.latency_quantile("acme-shop", "blue")) == pytest.approx(0.045)
    assert _value(local_env, promql.request_rate("acme-shop", "green")) is None  # no green pods: no series


def test_figures_follow_behaviours_and_the_service_selector(kube, namespace, emulator, local_env):
    for colour in ("blue", "green"):
        labels = {"app": "shop", "color": colour}
        kube.apps.create_namespaced_deployment(
            namespace, deployment(f"shop-{colour}", f"shop:pq-{colour}", 2, labels)
        )
    kube.core.create_namespaced_service(
        namespace,
        {
            "metadata": {"name": "shop"},
            "spec": {"selector": {"app": "shop", "color": "blue"}, "ports": [{"port": 80}]},
        },
    )
    emulator.set_behaviour("shop:pq-green", "http_5xx", rate=0.2)
    emulator.advance(4)

    def figures(colour):
        return tuple(
            _value(local_env, q(app="shop", colour=colour, namespace=namespace))
            for q in (promql.request_rate, promql.error_ratio, promql.latency_quantile)
        )

    blue_rate, blue_errors, _ = figures("blue")
    green_rate, green_errors, _ = figures("green")
    assert (blue_rate, blue_errors) == (20.0, 0.0)
    assert green_rate == 0.0 and math.isnan(green_errors)  # standby: no traffic, 0/0 is NaN

    kube.core.patch_namespaced_service("shop", namespace, {"spec": {"selector": {"color": "green"}}})
    emulator.set_traffic("shop", 50, namespace=namespace)
    green_rate, green_errors, green_p99 = figures("green")
    assert green_rate == 50.0 and green_errors == pytest.approx(0.2)
    assert figures("blue")[0] == 0.0

    emulator.set_behaviour("shop:pq-green", "slow", latency_ms=6000)  # a change mid-bake shows at once
    _, green_errors, green_p99 = figures("green")
    assert green_errors == 0.0 and green_p99 == pytest.approx(6.045)

    emulator.set_behaviour("shop:pq-green", "crash_loop")
    emulator.advance(2)
    assert figures("green")[1] == 1.0  # traffic on a colour with no ready pods fails


def test_queries_outside_the_subset_are_bad_data(local_env):
    for query, message in [
        ("up", "only serves counters through rate()"),
        ("sum(rate(http_requests_total[1m]", "expected ')'"),
        ("predict_linear(http_requests_total[1m], 60)", "not supported by the emulator"),
    ]:
        with pytest.raises(urllib.error.HTTPError) as err:
            _query(local_env, query)
        body = json.loads(err.value.read())
        assert err.value.code == 400 and body["status"] == "error" and body["errorType"] == "bad_data"
        assert message in body["error"]


def test_post_form_and_sum_by_colour(local_env):
    body = _query(local_env, 'sum by (color) (rate(http_requests_total{app="acme-shop"}[5m])) * 60', "POST")
    assert body["data"]["result"] == [
        {"metric": {"color": "blue"}, "value": [body["data"]["result"][0]["value"][0], "1200"]}
    ]


def test_prometheus_faults(local_env, emulator):
    emulator.add_fault("error", path="/api/v1/query", target="prometheus")
    with pytest.raises(urllib.error.HTTPError) as err:
        _query(local_env, promql.request_rate("acme-shop", "blue"))
    assert err.value.code == 500


def test_evaluator_histogram_quantile_and_arithmetic():
    figures = [
        ColourFigures("default", "a", "blue", 10.0, 1.0, 0.3),
        ColourFigures("default", "a", "green", 0.0, 0.0, 0.045),
    ]
    assert evaluate(promql.latency_quantile("a", "blue", quantile=0.99), figures)[0][1] == pytest.approx(0.3)
    assert evaluate(promql.latency_quantile("a", "blue", quantile=0.5), figures)[0][1] == pytest.approx(
        0.3 * 0.5 / 0.99, rel=1e-6
    )
    assert evaluate(promql.error_ratio("a", "blue") + " * 100", figures)[0][1] == pytest.approx(10.0)
    assert math.isnan(evaluate(promql.error_ratio("a", "green"), figures)[0][1])
    assert evaluate("1 + 2 * 3", figures) == 7.0
    with pytest.raises(QueryError):
        evaluate('http_requests_total{app="a"}', figures)
