"""The read helpers against the local environment: ClusterReader, colour_metrics (Prometheus HTTP
API), find_image / image_exists (ECR). The live colour and the pods behind it are the switch's
(tests/release/test_switch.py)."""

from __future__ import annotations

import pytest

from switchyard.probes import ClusterReader, ReadFailed, colour_metrics, find_image, image_exists

NAMESPACE = "default"


@pytest.fixture
def cluster(airflow_connections):
    return ClusterReader(request_timeout=2.0)


def test_a_deployment_image_and_replicas(local_env, cluster):
    blue = cluster.deployment("acme-shop-php-fpm-blue", NAMESPACE)
    assert blue.image == f"{local_env.aws.registry}/acme-shop:v1"
    assert (blue.replicas, blue.ready_replicas) == (2, 2)
    assert cluster.deployment("acme-shop-php-fpm-green", NAMESPACE) is None


def test_cluster_reads_that_are_refused_say_so(emulator, cluster):
    refused = emulator.fault("forbidden", path="/apis/apps/v1/namespaces/default/deployments/*", verb="GET")
    with refused, pytest.raises(ReadFailed) as raised:
        cluster.deployment("acme-shop-php-fpm-blue", NAMESPACE)  # forbidden is not "absent"
    assert raised.value.status == "forbidden"
    assert "GET deployments default/acme-shop-php-fpm-blue: HTTP 403" in str(raised.value)
    assert "RBAC" in str(raised.value)  # the fix is named


def test_colour_metrics_with_traffic_and_without(airflow_connections):
    blue = colour_metrics("acme-shop", NAMESPACE, "blue")
    assert blue.request_rate == 20.0 and blue.error_ratio == 0.0
    assert blue.p99_seconds == pytest.approx(0.045)
    green = colour_metrics("acme-shop", NAMESPACE, "green")  # no green pods: no series, not zero
    assert (green.request_rate, green.error_ratio, green.p99_seconds) == (None, None, None)


def test_colour_metrics_nan_is_no_data(emulator, airflow_connections):
    emulator.set_traffic("acme-shop", 0)
    try:
        idle = colour_metrics("acme-shop", NAMESPACE, "blue")
    finally:
        emulator.set_traffic("acme-shop", 20)
    assert idle.request_rate == 0.0
    assert idle.error_ratio is None  # 0/0 is NaN: no data, not a healthy 0 %


def test_colour_metrics_when_prometheus_refuses(emulator, airflow_connections):
    failing = emulator.fault("error", path="/api/v1/query", target="prometheus", status=503)
    with failing, pytest.raises(ReadFailed) as raised:
        colour_metrics("acme-shop", NAMESPACE, "blue")
    assert raised.value.status == "transient" and "HTTP 503" in raised.value.detail


def test_an_image_in_ecr_and_one_that_is_not(airflow_connections):
    assert image_exists("acme-shop", "v1") is True
    assert image_exists("acme-shop", "v9-missing") is False  # the demo's image that was never pushed
    assert image_exists("no-such-repository", "v1") is False
    found = find_image("acme-shop", "v2")
    assert (found.exists, found.status) == (True, "ok") and "sha256:" in found.detail
    missing = find_image("acme-shop", "v9-missing")
    assert missing.status == "not_found" and "ImageNotFoundException" in missing.detail


def test_ecr_that_cannot_be_asked_is_none_with_the_reason(local_env, monkeypatch, caplog):
    import json
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        conn = local_env.connections()["aws_default"]
        conn["extra"]["endpoint_url"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
        found = find_image("acme-shop", "v1", request_timeout=0.3)
        assert image_exists("acme-shop", "v1", request_timeout=0.3) is None
    finally:
        listener.close()
    assert (found.exists, found.status) == (None, "transient")
    assert "DescribeImages acme-shop:v1: ReadTimeoutError" in found.detail
    assert "cannot tell whether acme-shop:v1 exists (transient)" in caplog.text
