"""LiveProbe against the local environment over HTTP: every fact of every acme-shop component, what is
absent, what one read answers, and how refusals and timeouts of the Kubernetes API come back."""

from __future__ import annotations

import dataclasses

import pytest

V1 = "<registry>/acme-shop:v1"  # the seeded image, with the local ECR registry filled in


class OneOf:
    """Equal to any of the values (a figure another test may have set moments ago)."""

    def __init__(self, *values):
        self.values = values

    def __eq__(self, other):
        return other in self.values

    def __repr__(self):
        return f"one of {self.values}"


class Age:
    """A non-negative whole number of seconds."""

    def __eq__(self, other):
        return isinstance(other, int) and other >= 0

    def __repr__(self):
        return "an age in seconds"


def _serving(replicas, image=V1):
    return {
        "ready_replicas": replicas,
        "desired_replicas": replicas,
        "condition_available": True,
        "restart_count": 0,
        "updated_replicas": replicas,
        "condition_progressing": True,
        "available_replicas": replicas,
        "unavailable_replicas": 0,
        "image": image,
    }


SEEDED = {
    "acme-shop-ingress": {
        "address_assigned": True,
        "backend_count": 1,
        "tls_configured": False,
        "class": "alb",
    },
    "acme-shop-svc": {
        "endpoint_count": 2,
        "selector_match": True,
        "type": "ClusterIP",
        "external_ip_assigned": False,
        "selected_colour": "blue",
    },
    "acme-shop-nginx-blue": _serving(2),
    "acme-shop-php-fpm-blue": _serving(2),
    "acme-shop-consumer-blue": _serving(2),
    "acme-shop-cron": _serving(1),
    "opensearch": _serving(1, "opensearch:stable"),
    "scheduled_jobs": {"operator_says_healthy": True},
    "async_jobs": {"operator_says_healthy": True},
    # tests/localenv sets 480 for a moment; the probe reads the worst value of the latest minute
    "rds": {"available": True, "connection_count": OneOf(120, 480)},
    "redis": {"available": True, "connection_count": 200, "cache_hit_ratio": 95.0},
    "mq": {"available": True, "queue_depth": 34, "consumer_count": 22},
    "media-bucket": {"accessible": True, "versioning_enabled": True, "object_count": 3},
    "cloudfront": {"enabled": True, "deployed": True, "error_rate_5xx": 0.1},
    "ssm-app-config": {"exists": True, "version": 1, "last_modified_age_seconds": Age()},
    "external-secrets": {"deployment_ready": True, "crd_registered": True, "restart_count": 0},
}
STANDBY = ["acme-shop-nginx-green", "acme-shop-php-fpm-green", "acme-shop-consumer-green"]


@pytest.mark.parametrize("name", list(SEEDED))
def test_every_fact_of_the_seeded_acme_shop(local_env, make_probe, name):
    component = local_env.model.components[name]
    probe = make_probe()
    assert probe.can_probe(component)
    expected = {
        f: (local_env.aws.registry + v[len("<registry>") :] if v == V1 else v)
        for f, v in SEEDED[name].items()
    }
    read = {}
    for fact in expected:
        result = probe.probe(component, fact)
        assert result.status == "ok", f"{name}.{fact}: {result}"
        read[fact] = result.value
    assert read == expected
    # the catalog declares no fact of a probed type that the live probe does not read
    unread = set(component.type_def.facts) - set(expected) - {"webhook_healthy"}
    assert unread == set()


@pytest.mark.parametrize("name", STANDBY)
def test_the_absent_standby_colour_is_not_found_never_zero(local_env, make_probe, name):
    component = local_env.model.components[name]
    probe = make_probe()
    for fact in component.type_def.facts:
        result = probe.probe(component, fact)
        assert (result.status, result.value) == ("not_found", None), fact
        # the namespace's LIST of deployments answered, and it is not among them
        assert f"LIST deployments default: no deployment named {name} there" in result.detail


def test_what_the_live_probe_cannot_observe(local_env, make_probe):
    probe = make_probe()
    components = local_env.model.components
    assert not probe.can_probe(components["cloudflare"])  # a CDN only a person can look at
    webhook = probe.probe(components["external-secrets"], "webhook_healthy")
    assert webhook.status == "missing" and webhook.value is None


def test_cloudfront_is_found_through_the_resource_id_it_carries(local_env, make_probe):
    probe = make_probe()
    result = probe.probe(local_env.model.components["cloudfront"], "enabled")
    aws_id = local_env.aws.resources["cloudfront"].aws_id
    assert aws_id != "EABCDEF123456X"
    assert result.value is True
    assert f"distribution {aws_id} (by Comment switchyard-resource-id=EABCDEF123456X)" in result.detail


def test_absent_aws_resources_answer_false_only_where_the_fact_means_absent(local_env, make_probe):
    components = local_env.model.components
    probe = make_probe()

    def ghost(name, resource):
        return dataclasses.replace(components[name], name=f"ghost-{name}", resource=resource)

    assert probe.probe(ghost("ssm-app-config", "/platform/nope"), "exists").value is False
    assert probe.probe(ghost("ssm-app-config", "/platform/nope"), "version").status == "not_found"
    bucket = probe.probe(ghost("media-bucket", "acme-shop-no-such-bucket"), "accessible")
    assert bucket.value is False and "HeadBucket acme-shop-no-such-bucket: 404" in bucket.detail
    assert (
        probe.probe(ghost("media-bucket", "acme-shop-no-such-bucket"), "object_count").status == "not_found"
    )
    for name, fact, code in [
        ("rds", "available", "DBInstanceNotFound"),
        ("redis", "available", "CacheClusterNotFound"),
        ("mq", "available", "no broker named ghost-id"),
        ("cloudfront", "deployed", "none of 1 carries switchyard-resource-id=ghost-id"),
    ]:
        result = probe.probe(ghost(name, "ghost-id"), fact)
        assert (result.status, result.value) == ("not_found", None), name
        assert code in result.detail


def test_one_read_answers_every_fact_of_the_object_and_failures_are_not_kept(local_env, emulator, make_probe):
    nginx = local_env.model.components["acme-shop-nginx-blue"]
    path = "/apis/apps/v1/namespaces/default/deployments*"  # the namespace's LIST and each GET
    probe = make_probe(cache_seconds=60)
    assert probe.probe(nginx, "ready_replicas").value == 2
    requests = probe.requests
    with emulator.fault("forbidden", path=path, verb="GET"):
        # the Deployments listed a moment ago answer its other facts, and the other deployments'
        assert probe.probe(nginx, "condition_available").value is True
        assert probe.probe(local_env.model.components["acme-shop-php-fpm-blue"], "ready_replicas").value == 2
        assert probe.requests == requests
        uncached = make_probe(cache_seconds=0)
        assert uncached.probe(nginx, "ready_replicas").status == "forbidden"
    # a refusal is never remembered: the next call reads again (the LIST refused, then the GET)
    emulator.add_fault("forbidden", path=path, verb="GET", times=2)
    assert uncached.probe(nginx, "ready_replicas").status == "forbidden"
    assert uncached.probe(nginx, "ready_replicas").value == 2


# A refused LIST falls back on reading the object alone (RBAC may allow that; a 500 may be another
# object's); an overloaded server's answer stands for every object of the LIST.
GET_NGINX, LIST_DEPLOYMENTS = "GET deployments default/acme-shop-nginx-blue", "LIST deployments default"


@pytest.mark.parametrize(
    ("fault", "status", "detail"),
    [
        ({"kind": "forbidden"}, "forbidden", f"{GET_NGINX}: HTTP 403 Forbidden"),
        ({"kind": "error", "status": 500}, "transient", f"{GET_NGINX}: HTTP 500 Internal Server Error"),
        ({"kind": "error", "status": 503}, "transient", f"{LIST_DEPLOYMENTS}: HTTP 503 Service Unavailable"),
        ({"kind": "error", "status": 429}, "transient", f"{LIST_DEPLOYMENTS}: HTTP 429 Too Many Requests"),
    ],
)
def test_api_refusals_are_unknown_never_false(local_env, emulator, make_probe, fault, status, detail):
    nginx = local_env.model.components["acme-shop-nginx-blue"]
    path = "/apis/apps/v1/namespaces/default/deployments*"
    with emulator.fault(path=path, verb="GET", **fault):
        result = make_probe().probe(nginx, "condition_available")
    assert (result.status, result.value) == (status, None)
    assert result.detail.startswith(detail)


def test_a_refused_list_still_names_each_object(local_env, emulator, make_probe):
    """Only one deployment's read fails: the others are read, and it alone is unreadable."""
    components = local_env.model.components
    with (
        emulator.fault("error", status=500, path="/apis/apps/v1/namespaces/default/deployments", verb="GET"),
        emulator.fault(
            "forbidden",
            path="/apis/apps/v1/namespaces/default/deployments/acme-shop-php-fpm-blue",
            verb="GET",
        ),
    ):
        probe = make_probe()
        nginx = probe.probe(components["acme-shop-nginx-blue"], "ready_replicas")
        php = probe.probe(components["acme-shop-php-fpm-blue"], "ready_replicas")
        green = probe.probe(components["acme-shop-nginx-green"], "ready_replicas")
    assert (nginx.status, nginx.value) == ("ok", 2)
    assert php.status == "forbidden" and php.detail.startswith(
        "GET deployments default/acme-shop-php-fpm-blue"
    )
    assert green.status == "not_found" and "HTTP 404" in green.detail


def test_a_hanging_api_server_is_transient_within_the_request_timeout(local_env, emulator, make_probe):
    nginx = local_env.model.components["acme-shop-nginx-blue"]
    probe = make_probe(request_timeout=0.3)
    probe.probe(local_env.model.components["acme-shop-svc"], "type")  # connect first: count only the hang
    with emulator.fault(
        "timeout", path="/apis/apps/v1/namespaces/default/deployments*", hang_seconds=3
    ) as fault_id:
        result = probe.probe(nginx, "ready_replicas")
        [hits] = [f["hits"] for f in emulator.faults() if f["id"] == fault_id]
    assert result.status == "transient" and result.value is None
    assert "timed out" in result.detail.lower()  # bounded by request_timeout, not the 3 s hang
    assert hits == 1  # one attempt: no urllib3 retries (counted by the emulator, not timed)


def test_a_hanging_aws_endpoint_is_transient_within_the_request_timeout(local_env, make_probe, monkeypatch):
    import json
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections (the kernel does) and never answers
    try:
        conn = local_env.connections()["aws_default"]
        conn["extra"]["endpoint_url"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
        probe = make_probe(request_timeout=0.3)
        result = probe.probe(local_env.model.components["rds"], "available")
        # one attempt, no retry: count the connections the hanging endpoint received (not time them:
        # on a loaded machine building the client alone can take seconds)
        listener.settimeout(0.5)
        attempts = 0
        try:
            while True:
                accepted, _ = listener.accept()
                accepted.close()
                attempts += 1
        except TimeoutError:
            pass
    finally:
        listener.close()
    assert result.status == "transient" and result.value is None
    assert result.detail.startswith("DescribeDBInstances acme-shop-stage-rds: ReadTimeoutError")
    assert attempts == 1  # botocore does not retry


def test_a_business_process_follows_the_colour_that_has_the_replicas(local_env, make_probe, apps):
    """async_jobs depends on both consumer colours: after a switch green carries the work and blue is
    at 0, which is healthy; with no colour wanting replicas nothing processes the jobs."""
    async_jobs = local_env.model.components["async_jobs"]
    blue = apps.read_namespaced_deployment("acme-shop-consumer-blue", "default")
    green = {
        "metadata": {
            "name": "acme-shop-consumer-green",
            "labels": {**blue.metadata.labels, "color": "green"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {**blue.spec.selector.match_labels, "color": "green"}},
            "template": {
                "metadata": {"labels": {**blue.spec.template.metadata.labels, "color": "green"}},
                "spec": {
                    "containers": [{"name": "consumer", "image": blue.spec.template.spec.containers[0].image}]
                },
            },
        },
    }
    apps.create_namespaced_deployment("default", green)
    try:
        apps.patch_namespaced_deployment_scale(
            "acme-shop-consumer-blue", "default", {"spec": {"replicas": 0}}
        )
        local_env.emulator.advance(5)
        switched = make_probe(cache_seconds=0).probe(async_jobs, "operator_says_healthy")
        assert switched.value is True, switched
        assert "acme-shop-consumer-blue 0/0 ready, acme-shop-consumer-green 1/1 ready" in switched.detail
        apps.patch_namespaced_deployment_scale(
            "acme-shop-consumer-green", "default", {"spec": {"replicas": 0}}
        )
        local_env.emulator.advance(1)
        idle = make_probe(cache_seconds=0).probe(async_jobs, "operator_says_healthy")
        assert (idle.status, idle.value) == ("ok", False)
        assert idle.detail.startswith("no replicas wanted")
    finally:
        apps.delete_namespaced_deployment("acme-shop-consumer-green", "default")
        apps.patch_namespaced_deployment_scale(
            "acme-shop-consumer-blue", "default", {"spec": {"replicas": 2}}
        )
        local_env.emulator.advance(5)
    assert make_probe(cache_seconds=0).probe(async_jobs, "operator_says_healthy").value is True


def test_an_ecr_repository_component(local_env, make_probe):
    """No acme-shop component has this catalog type; it is read like any other."""
    probe = make_probe()
    repository = dataclasses.replace(
        local_env.model.components["rds"], name="images", type="ecr_repository", resource="acme-shop"
    )
    assert probe.can_probe(repository)
    assert probe.probe(repository, "exists").value is True
    assert probe.probe(repository, "image_count").value == len(local_env.images)  # every pushed tag
    gone = dataclasses.replace(repository, resource="no-such-repository")
    absent = probe.probe(gone, "exists")
    assert absent.value is False and "RepositoryNotFoundException" in absent.detail
    assert probe.probe(gone, "image_count").status == "not_found"


def test_reads_are_batched_one_list_per_kind_and_namespace(local_env, make_probe):
    """Every deployment's facts come from one LIST of the namespace's deployments; the pods behind
    every selector from one LIST of its pods."""
    components = local_env.model.components
    probe = make_probe(cache_seconds=60)
    deployments = [n for n, c in components.items() if c.type == "deployment" and "green" not in n]
    for name in deployments:
        for fact in ("ready_replicas", "desired_replicas", "restart_count"):
            assert probe.probe(components[name], fact).status == "ok", (name, fact)
    assert probe.requests == 2  # LIST deployments default, LIST pods default
    assert probe.probe(components["acme-shop-svc"], "selector_match").value is True
    assert probe.requests == 3  # LIST services default; the pods were listed already


def test_aws_reads_are_grouped_over_the_model(local_env, airflow_connections):
    """Two DB instances in the model are described by one call, and the one AWS does not have is
    not_found on its own; the model's CloudWatch facts come from one GetMetricData."""
    components = local_env.model.components
    ghost = dataclasses.replace(components["rds"], name="rds-ghost", resource="acme-shop-no-such-db")
    model = dataclasses.replace(local_env.model, components={**components, "rds-ghost": ghost})
    from switchyard.probes import LiveProbe

    probe = LiveProbe(model)
    assert probe.probe(components["rds"], "available").value is True
    missing = probe.probe(ghost, "available")
    assert (missing.status, missing.value) == ("not_found", None)
    assert "DBInstanceNotFound" in missing.detail and "acme-shop-no-such-db" in missing.detail
    assert probe.requests == 1
    figures = [
        probe.probe(components["rds"], "connection_count"),
        probe.probe(components["mq"], "queue_depth"),
        probe.probe(components["mq"], "consumer_count"),
        probe.probe(components["redis"], "cache_hit_ratio"),
    ]
    assert all(f.status == "ok" for f in figures), figures
    # + ListBrokers, DescribeCacheClusters (each fact of a component reads it first), and one
    # GetMetricData for all four figures
    assert probe.requests == 4
    assert probe.probe(ghost, "connection_count").status == "not_found"  # the instance is not there
    assert probe.requests == 4
