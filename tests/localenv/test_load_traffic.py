"""The local environment's load generator: a load-test Job's running pod adds its RPS to the colour
the Service in its TARGET_URL selects, for its DURATION; a behaviour with ``capacity_rps``
saturates under that load (errors and p99 rise with RPS) while it is healthy at live traffic."""

from __future__ import annotations

import pytest

from switchyard.localenv.cluster import Cluster
from switchyard.localenv.store import DEPLOYMENTS, JOBS, SERVICES
from switchyard.release.loadtest import job_body, job_name, target_url

from .manifests import deployment


def _figures(cluster: Cluster) -> dict[str, tuple[float, float, float]]:
    return {
        f.colour: (f.request_rate, f.error_ratio, f.p99_seconds)
        for f in cluster.traffic.figures()
        if f.app == "shop"
    }


@pytest.fixture
def cluster() -> Cluster:
    cluster = Cluster(time_scale=1.0)  # never started: the test moves the clock itself
    for colour, tag in (("blue", "v1"), ("green", "v2")):
        labels = {"app": "shop", "color": colour}
        cluster.store.create(DEPLOYMENTS, "default", deployment(f"shop-{colour}", f"r/shop:{tag}", 2, labels))
    for name, colour in (("shop", "blue"), ("shop-green", "green")):
        cluster.store.create(
            SERVICES,
            "default",
            {
                "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "switchyard"}}
                if name == "shop-green"
                else {"name": name},
                "spec": {"selector": {"app": "shop", "color": colour}, "ports": [{"port": 80}]},
            },
        )
    cluster.controller.advance(10)
    return cluster


def _load(cluster: Cluster, rps: float, seconds: int) -> None:
    body = job_body(
        app="shop",
        namespace="default",
        run_id="run-1",
        version="v2",
        colour="green",
        url=target_url("shop-green", "default", 80),
        rps=rps,
        seconds=seconds,
        image="loadgen:1",
    )
    cluster.store.create(JOBS, "default", body)


def test_the_load_reaches_the_previewed_colour_for_its_duration(cluster):
    live_rps = cluster.traffic.rps("default", "shop")
    assert _figures(cluster)["green"][0] == 0.0
    _load(cluster, 100, 300)
    cluster.controller.advance(5)  # the generator pod started (healthy image: 1 s startup)
    assert _figures(cluster)["green"][0] == 100.0
    assert _figures(cluster)["blue"][0] == live_rps  # the live colour is not loaded
    cluster.controller.advance(300)
    job = cluster.store.get(JOBS, "default", job_name("shop", "run-1"))
    assert any(c["type"] == "Complete" for c in job["status"]["conditions"])
    assert _figures(cluster)["green"][0] == 0.0  # done: the load is gone


def test_a_saturating_version_is_healthy_at_light_load(cluster):
    cluster.behaviours.set("v2", {"kind": "healthy", "capacity_rps": 20, "overload_latency_ms": 2000})
    _load(cluster, 20, 300)  # 10 RPS per pod: under its capacity
    cluster.controller.advance(5)
    assert _figures(cluster)["green"] == (20.0, 0.0, pytest.approx(0.045))


def test_errors_and_latency_rise_with_rps(cluster):
    cluster.behaviours.set("v2", {"kind": "healthy", "capacity_rps": 20, "overload_latency_ms": 2000})
    _load(cluster, 100, 300)  # 50 RPS per pod: 60 % over nothing, 30 of 50 shed
    cluster.controller.advance(5)
    rate, ratio, p99 = _figures(cluster)["green"]
    assert rate == 100.0
    assert ratio == pytest.approx(0.6)
    assert p99 == pytest.approx(0.045 + 2000 * 1.5 / 1000)
    assert _figures(cluster)["blue"][1] == 0.0  # v1 has no capacity limit


def test_cpu_and_memory_of_the_loaded_pods_against_their_limits(cluster):
    from switchyard.localenv.prometheus import evaluate
    from switchyard.release import conventions as promql

    def ratio(query: str) -> float | None:
        result = evaluate(query, cluster.traffic.figures(), cluster.traffic.pod_usage())
        return result[0][1] if result else None

    green = ["shop-green"]
    assert ratio(promql.cpu_ratio(green)) is None  # no limits on these pods: nothing to hold them to
    body = cluster.store.get(DEPLOYMENTS, "default", "shop-green")
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "limits": {"cpu": "500m", "memory": "512Mi"}
    }
    cluster.store.replace(DEPLOYMENTS, "default", "shop-green", body)
    cluster.controller.advance(30)
    idle = ratio(promql.cpu_ratio(green))
    _load(cluster, 100, 300)
    cluster.controller.advance(5)
    loaded = ratio(promql.cpu_ratio(green))
    assert idle == pytest.approx(0.02 / 0.5) and loaded == pytest.approx((0.02 + 0.005 * 50) / 0.5)
    assert ratio(promql.memory_ratio(green)) == pytest.approx((96 + 50) / 512)


def test_an_nginx_canary_ingress_sends_its_weight_to_the_previewed_colour(cluster):
    from switchyard.localenv.store import INGRESSES
    from switchyard.release.canary import canary_body

    main = {
        "metadata": {"name": "shop", "namespace": "default"},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "shop.local",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "shop", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }
    cluster.store.create(INGRESSES, "default", main)
    cluster.traffic.set_rps("default", "shop", 40)
    cluster.store.create(INGRESSES, "default", canary_body(main, "shop-green", 5, "run-1"))
    figures = _figures(cluster)
    assert figures["green"][0] == pytest.approx(2.0) and figures["blue"][0] == pytest.approx(38.0)
