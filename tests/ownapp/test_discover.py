"""`switchyard model discover`: a draft model from a live namespace, read from the local
environment's Kubernetes API over HTTP with its kubeconfig, that validates and marks its guesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchyard.cli import main
from switchyard.engine.catalog import load_catalog
from switchyard.engine.model import read_model
from switchyard.release.discover import Namespace, draft_model
from switchyard.release.schema import release_problems
from switchyard.release.spec import release_spec

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "include" / "models" / "acme-shop.model.yaml"

# What discovering the local environment's acme-shop cannot know, and why (the list the issue asks
# for). The seeded pods carry no environment variables, so no dependency on AWS or between tiers
# is named anywhere in the namespace.
NOT_DISCOVERED = {
    "cloudflare": "a CDN outside the cluster",
    "scheduled_jobs": "a business process, not an object",
    "async_jobs": "a business process, not an object",
    "external-secrets": "an operator in another namespace; no ExternalSecret in this one",
    "rds": "no environment variable names an AWS endpoint",
    "redis": "no environment variable names an AWS endpoint",
    "mq": "no environment variable names an AWS endpoint",
    "media-bucket": "no environment variable names an AWS endpoint",
    "cloudfront": "no environment variable names an AWS endpoint",
    "ssm-app-config": "no environment variable names an AWS endpoint",
}
EDGES_NOT_DISCOVERED = {  # between components both models have: no Service and no variable names them
    ("acme-shop-nginx-blue", "acme-shop-php-fpm-blue"),
    ("acme-shop-nginx-green", "acme-shop-php-fpm-green"),
    ("acme-shop-php-fpm-blue", "opensearch"),
    ("acme-shop-php-fpm-green", "opensearch"),
}
RELEASE_KEYS = ("image_repository", "switch", "smoke_port", "smoke_paths", "migration_from")
RELEASE_DIFFERENCES = {  # the reference's release: section beyond what the pods' probes say
    "smoke_paths": (("/health", "/ready"), ("/health", "/ready", "/api/products", "/api/cart")),
    "migration_from": ("", "acme-shop-php-fpm"),
}


def discover(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["model", "discover", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def edges(model) -> set[tuple[str, str]]:
    return {(name, target) for name, comp in model.components.items() for target in comp.depends_on}


def test_discovering_acme_shop_gives_a_valid_model_and_these_differences(local_env, tmp_path, capsys):
    out = tmp_path / "acme-shop.model.yaml"
    code, _, err = discover(
        capsys, "--namespace", "default", "--kubeconfig", str(local_env.kubeconfig_path), "--out", str(out)
    )
    assert code == 0, err
    assert f"wrote {out}: 10 components" in err

    catalog = load_catalog(use_env=False)
    draft, reference = read_model([out], catalog), read_model([REFERENCE], catalog)
    assert draft.errors == [] and release_problems(draft) == []
    assert draft.name == reference.name == "acme-shop"

    assert set(draft.components) - set(reference.components) == set()
    missing = set(reference.components) - set(draft.components)
    assert missing == set(NOT_DISCOVERED)
    for name in draft.components:
        assert draft.components[name].type == reference.components[name].type, name
    common = set(draft.components)
    reference_edges = {(a, b) for a, b in edges(reference) if a in common and b in common}
    assert edges(draft) - reference_edges == set()
    assert reference_edges - edges(draft) == EDGES_NOT_DISCOVERED

    ours, theirs = release_spec(draft), release_spec(reference)
    assert ours.layout.service == theirs.layout.service == "acme-shop-svc"
    assert ours.layout.tiers == theirs.layout.tiers
    # with nginx → php-fpm unknown, the draft counts php-fpm among the workers (no traffic through
    # the Service), as the reference counts only the consumers
    assert theirs.layout.workers == {"acme-shop-consumer-blue", "acme-shop-consumer-green"}
    assert ours.layout.workers == theirs.layout.workers | {
        "acme-shop-php-fpm-blue",
        "acme-shop-php-fpm-green",
    }
    differing = {
        key: (getattr(ours, key), getattr(theirs, key))
        for key in (*RELEASE_KEYS, "max_error_ratio", "max_p99_seconds")
        if getattr(ours, key) != getattr(theirs, key)
    }
    assert differing == RELEASE_DIFFERENCES

    text = out.read_text()
    assert text.count("# guess: not in the namespace (the standby colour)") == 3  # the green twins
    assert "# CronJobs were not read: not served here." in text  # the emulator has no batch/v1 CronJob


def _shop_objects() -> list[tuple[str, dict]]:
    """An app of one's own: web and api in green (blue is the standby), a colour-selecting Service,
    an internal Service for api, a ConfigMap and env vars naming AWS endpoints, an Ingress."""

    def deployment(name, component, env=(), env_from=()):
        labels = {"app": "shop", "component": component, "colour": "green"}
        container = {
            "name": name,
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:2.4.1",
            "env": list(env),
            "envFrom": list(env_from),
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        }
        return {
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        }

    web_env = [
        {"name": "API_URL", "value": "http://shop-api:8080/v1"},
        {"name": "DATABASE_HOST", "value": "shop-db.c9akciq32.eu-west-1.rds.amazonaws.com"},
        {"name": "MEDIA_BUCKET", "value": "shop-media-123"},
        {
            "name": "DATABASE_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "shop-db-credentials", "key": "password"}},
        },
    ]
    return [
        (
            "ConfigMap",
            {
                "metadata": {"name": "shop-config"},
                "data": {"REDIS_URL": "rediss://master.shop-cache.x1y2z3.euw1.cache.amazonaws.com:6379"},
            },
        ),
        ("Deployment", deployment("web-green", "web", web_env, [{"configMapRef": {"name": "shop-config"}}])),
        ("Deployment", deployment("api-green", "api")),
        (
            "Service",
            {
                "metadata": {"name": "shop"},
                "spec": {
                    "selector": {"app": "shop", "component": "web", "colour": "green"},
                    "ports": [{"port": 8080}],
                },
            },
        ),
        (
            "Service",
            {
                "metadata": {"name": "shop-api"},
                "spec": {"selector": {"app": "shop", "component": "api"}, "ports": [{"port": 8080}]},
            },
        ),
        (
            "Ingress",
            {
                "metadata": {"name": "shop"},
                "spec": {
                    "rules": [
                        {
                            "host": "shop.example.com",
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {"service": {"name": "shop", "port": {"number": 8080}}},
                                    }
                                ]
                            },
                        }
                    ]
                },
            },
        ),
    ]


@pytest.fixture
def shop_namespace(local_env):
    from switchyard.localenv.resources import BY_KIND

    namespace = "shop-discovered"
    store = local_env.cluster.store
    local_env.cluster.ensure_namespace(namespace)
    objects = _shop_objects()
    for kind, body in objects:
        store.create(BY_KIND[kind], namespace, body)
    yield namespace
    for kind, body in objects:
        store.delete(BY_KIND[kind], namespace, body["metadata"]["name"])


def test_an_app_of_ones_own_gets_pairs_dependencies_and_aws_from_its_environment(
    local_env, shop_namespace, tmp_path, capsys
):
    out = tmp_path / "shop.model.yaml"
    code, _, err = discover(
        capsys,
        "--namespace",
        shop_namespace,
        "--kubeconfig",
        str(local_env.kubeconfig_path),
        "--out",
        str(out),
    )
    assert code == 0, err
    model = read_model([out], load_catalog(use_env=False))
    assert model.errors == [] and release_problems(model) == []
    deps = {name: set(comp.depends_on) for name, comp in model.components.items()}
    assert deps["shop"] == {"web-blue", "web-green"}
    assert deps["web-green"] == {"api-green", "shop-db", "shop-cache", "shop-media-123"}
    assert deps["web-blue"] == {"api-blue", "shop-db", "shop-cache", "shop-media-123"}  # the twin, by analogy
    assert "shop-api" not in model.components  # reached per colour: callers depend on their colour
    assert model.components["shop-db"].type == "rds_instance"
    assert model.components["shop-cache"].type == "elasticache_cluster"
    assert model.components["shop-media-123"].type == "s3_bucket"
    assert deps["shop-ingress"] == {"shop"}  # the Ingress is named shop too: the component gets a suffix
    assert model.components["shop-ingress"].resource == "shop"
    spec = release_spec(model)
    assert spec.image_repository == "shop/web"
    assert (spec.smoke_port, spec.smoke_paths) == (8080, ("/healthz",))
    text = out.read_text()
    assert "# reads Secret shop-db-credentials" in text  # known by name; its value is never read
    assert "# guess: from DATABASE_HOST" in text
    assert "# guess: API_URL names Service shop-api" in text


def test_cronjobs_and_external_secrets_become_components_with_their_sources(tmp_path):
    """Drafting alone, from what a namespace listing returns (the emulator serves neither kind)."""
    pod = {
        "containers": [
            {
                "name": "job",
                "image": "reg.example.com/shop:1",
                "envFrom": [{"secretRef": {"name": "shop-env"}}],
            }
        ]
    }
    found = Namespace(
        "shop",
        deployments=[],
        cronjobs=[
            {
                "metadata": {"name": "shop-nightly"},
                "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": pod}}}},
            }
        ],
        external_secrets=[
            {
                "metadata": {"name": "shop-env-es"},
                "spec": {"target": {"name": "shop-env"}, "data": [{"remoteRef": {"key": "/shop/prod/env"}}]},
            }
        ],
    )
    text = draft_model(found, "shop")
    path = tmp_path / "shop.model.yaml"
    path.write_text(text)
    model = read_model([path], load_catalog(use_env=False))
    assert model.errors == []
    assert model.components["shop-nightly"].type == "component"
    assert model.components["shop-nightly"].depends_on == ["external-secrets"]
    assert model.components["external-secrets"].type == "operator"
    assert model.components["external-secrets"].depends_on == ["ssm-shop-prod-env"]
    assert model.components["ssm-shop-prod-env"].resource == "/shop/prod/env"
    assert "schedule 0 3 * * *" in text
    assert "made by ExternalSecret shop-env-es" in text


def test_a_missing_namespace_is_a_one_line_error(local_env, capsys):
    code, out, err = discover(
        capsys, "--namespace", "no-such-ns", "--kubeconfig", str(local_env.kubeconfig_path)
    )
    assert code == 2 and out == ""
    assert err == "error: namespace no-such-ns: no such namespace\n"


def test_an_unreadable_kubeconfig_names_the_file_and_the_fix(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    code, _, err = discover(capsys, "--namespace", "default", "--kubeconfig", str(missing))
    assert code == 2
    assert err.startswith(f"error: kubeconfig {missing}:") and "--kubeconfig FILE" in err


def test_an_api_server_that_does_not_answer_is_a_one_line_error(tmp_path, capsys):
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    code, _, err = discover(capsys, "--namespace", "default", "--kubeconfig", str(kubeconfig))
    assert code == 2
    assert err.startswith(f"error: cannot reach the Kubernetes API of kubeconfig {kubeconfig}:")
    assert err.count("\n") == 1
