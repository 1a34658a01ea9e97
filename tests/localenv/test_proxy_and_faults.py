"""The service proxy answers with the selected pods' behaviour; injected faults per path and verb."""

from __future__ import annotations

import json
import time

import pytest
import urllib3
from kubernetes.client import ApiException

from switchyard.localenv.behaviours import ConfigError, load_faults_file
from switchyard.localenv.environment import LocalEnvironment

from .manifests import deployment

VIEW_ONLY = "include/behaviours/view-only-role.yaml"


def _proxy(kube, service, namespace, path):
    response = kube.core.connect_get_namespaced_service_proxy_with_path(
        service, namespace, path, _preload_content=False
    )
    return response.status, json.loads(response.data)


def test_proxy_reaches_the_live_colour_through_the_api_server(kube):
    status, body = _proxy(kube, "acme-shop-svc:http", "default", "health")
    assert status == 200 and body["status"] == "ok" and body["path"] == "/health"
    assert (body["app"], body["color"], body["version"]) == ("acme-shop", "blue", "v1")
    assert body["pod"].startswith("acme-shop-nginx-blue-")
    status, body = _proxy(kube, "acme-shop-svc:80", "default", "api/products")
    assert status == 200 and body["path"] == "/api/products"
    # NAME without a port, and the root path
    root = kube.core.connect_get_namespaced_service_proxy("acme-shop-svc", "default", _preload_content=False)
    assert json.loads(root.data)["path"] == "/"


def test_proxy_spreads_requests_over_ready_pods_and_serves_5xx_at_the_behaviours_rate(
    kube, namespace, emulator
):
    emulator.set_behaviour("shop:flaky", "http_5xx", rate=0.25)
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:flaky", 2))
    kube.core.create_namespaced_service(
        namespace,
        {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
    )
    emulator.advance(4)
    codes, pods = [], set()
    for _ in range(40):
        try:
            status, body = _proxy(kube, "web", namespace, "ready")
        except ApiException as exc:
            status, body = exc.status, json.loads(exc.body)
        codes.append(status)
        pods.add(body["pod"])
    assert codes.count(500) == 10 and codes.count(200) == 30
    assert len(pods) == 2


def test_proxy_latency_and_no_endpoints(kube, namespace, emulator):
    emulator.set_behaviour("shop:slow", "slow", latency_ms=300)
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:slow", 1))
    kube.core.create_namespaced_service(
        namespace,
        {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
    )
    with pytest.raises(ApiException) as err:  # not ready yet: nothing behind the Service
        _proxy(kube, "web", namespace, "health")
    assert err.value.status == 503
    assert json.loads(err.value.body)["message"] == 'no endpoints available for service "web"'
    emulator.advance(4)
    started = time.monotonic()
    status, _ = _proxy(kube, "web", namespace, "health")
    assert status == 200 and time.monotonic() - started >= 0.3


def test_pod_proxy(kube, namespace, emulator):
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:v2", 1))
    emulator.advance(4)
    pod = kube.core.list_namespaced_pod(namespace).items[0].metadata.name
    response = kube.core.connect_get_namespaced_pod_proxy_with_path(
        pod, namespace, "health", _preload_content=False
    )
    assert json.loads(response.data)["version"] == "v2"


def test_forbidden_fault_is_a_kubernetes_403_for_that_path_only(kube, emulator):
    path = "/apis/apps/v1/namespaces/default/deployments/acme-shop-nginx-blue"
    with emulator.fault("forbidden", path=path, verb="GET") as fault_id:
        with pytest.raises(ApiException) as err:
            kube.apps.read_namespaced_deployment("acme-shop-nginx-blue", "default")
        body = json.loads(err.value.body)
        assert err.value.status == 403 and body["reason"] == "Forbidden"
        assert body["message"] == (
            'deployments.apps "acme-shop-nginx-blue" is forbidden: User "switchyard" '
            'cannot get resource "deployments" in API group "apps" in the namespace "default"'
        )
        assert kube.apps.read_namespaced_deployment("acme-shop-php-fpm-blue", "default").metadata.name
        kube.apps.patch_namespaced_deployment("acme-shop-nginx-blue", "default", {"metadata": {"labels": {}}})
    assert any(fault_id in e["message"] and "injected" in e["message"] for e in emulator.log("fault"))
    assert kube.apps.read_namespaced_deployment("acme-shop-nginx-blue", "default")  # removed again


def test_error_fault_with_a_status_and_a_hit_limit(kube, emulator):
    emulator.add_fault("error", path="/api/v1/namespaces/default/pods", verb="GET", status=503, times=1)
    with pytest.raises(ApiException) as err:
        kube.core.list_namespaced_pod("default")
    assert err.value.status == 503 and json.loads(err.value.body)["reason"] == "ServiceUnavailable"
    assert kube.core.list_namespaced_pod("default").items  # the one hit is used up
    assert emulator.faults() == []

    emulator.add_fault("error", path="/api/v1/namespaces/*/services/*")
    with pytest.raises(ApiException) as err:
        kube.core.read_namespaced_service("acme-shop-svc", "default")
    assert err.value.status == 500 and json.loads(err.value.body)["reason"] == "InternalError"


def _hits(emulator, fault_id: str) -> int:
    """Requests the fault rule matched (counted by the emulator, not timed by the test)."""
    return next(f["hits"] for f in emulator.faults() if f["id"] == fault_id)


def test_latency_fault(kube, emulator):
    fault_id = emulator.add_fault("latency", path="/api/v1/namespaces/default/configmaps", latency_ms=400)
    started = time.monotonic()
    kube.core.list_namespaced_config_map("default")
    assert time.monotonic() - started >= 0.4  # a lower bound: load only makes it longer
    assert _hits(emulator, fault_id) == 1
    kube.core.list_namespaced_secret("default")
    assert _hits(emulator, fault_id) == 1  # another path is not delayed


def test_timeout_fault_outlasts_the_client_timeout(kube, emulator):
    fault_id = emulator.add_fault("timeout", path="/api/v1/namespaces/default/endpoints/*", hang_seconds=3)
    # urllib3 retries the read timeout (3 retries by default), and every attempt hangs: each one
    # gives up at the client timeout, none waits for the server (counted, not timed)
    with pytest.raises(urllib3.exceptions.MaxRetryError) as err:
        kube.core.read_namespaced_endpoints("acme-shop-svc", "default", _request_timeout=0.5)
    assert isinstance(err.value.reason, urllib3.exceptions.ReadTimeoutError)
    assert _hits(emulator, fault_id) == 4
    emulator.clear_faults()
    assert kube.core.read_namespaced_endpoints("acme-shop-svc", "default").subsets


def test_fault_rules_are_validated(emulator):
    from switchyard.localenv.client import EmulatorError

    with pytest.raises(
        EmulatorError, match="kind 'explode' is not one of forbidden, error, latency, timeout"
    ):
        emulator.add_fault("explode")
    with pytest.raises(EmulatorError, match="verb 'FETCH' must be an HTTP method"):
        emulator.add_fault("error", verb="fetch")


def test_faults_from_a_file(tmp_path):
    with LocalEnvironment(None, with_aws=False, faults=VIEW_ONLY, state_dir=tmp_path) as env:
        from kubernetes import client, config

        core = client.CoreV1Api(config.new_client_from_config(config_file=str(env.kubeconfig_path)))
        with pytest.raises(ApiException) as err:
            core.list_namespaced_secret("default")
        assert err.value.status == 403
        assert json.loads(err.value.body)["message"].startswith(
            'secrets is forbidden: User "switchyard" cannot list'
        )
        assert core.list_namespaced_config_map("default").items == []
        assert [e["message"] for e in env.emulator.log("fault") if "injected" in e["message"]]

    bad = tmp_path / "bad.yaml"
    bad.write_text("faults:\n  - {kind: forbidden, paht: /api}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: fault #1: unknown field\(s\) paht"):
        load_faults_file(bad)
