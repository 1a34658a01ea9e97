"""The conventions of the released app come from its model's ``release:`` section: the colour label,
the app label and its value, the metric names, the namespace of components that name none and the
replicas a rollback restores. Absent, they are today's (acme-shop's); wrong, the error names the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchyard.engine.catalog import load_catalog
from switchyard.engine.model import load_model
from switchyard.release import conventions as promql
from switchyard.release import switch
from switchyard.release.schema import release_problems
from switchyard.release.spec import MECHANISMS, release_spec
from switchyard.release.workloads import recolour

MODEL = Path(__file__).resolve().parents[2] / "include" / "models" / "acme-shop.model.yaml"
CATALOG = load_catalog(use_env=False)


def _model(tmp_path: Path, release_extra: str, drop_namespace: bool = False):
    text = MODEL.read_text()
    if drop_namespace:
        text = text.replace("    namespace: default\n", "", 1)
    path = tmp_path / "acme-shop.model.yaml"
    path.write_text(text.replace("release:\n", "release:\n" + release_extra, 1))
    return load_model(path, CATALOG)


def test_acme_shop_keeps_todays_conventions():
    spec = release_spec(load_model(MODEL, CATALOG))
    c = spec.conventions
    assert (c.colour_label, c.app_label, c.app) == ("color", "app", "acme-shop")
    assert (c.requests_metric, c.latency_bucket_metric) == (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
    )
    assert (spec.namespace, spec.restore_replicas, spec.layout.colour_label) == ("default", 2, "color")
    assert promql.error_ratio(spec.app, "green", spec.namespace, conventions=c) == (
        'sum(rate(http_requests_total{namespace="default",app="acme-shop",color="green",code=~"5.."}[1m]))'
        ' / sum(rate(http_requests_total{namespace="default",app="acme-shop",color="green"}[1m]))'
    )


def test_an_app_with_its_own_labels_and_metrics_is_queried_and_rendered_with_them(tmp_path):
    model = _model(
        tmp_path,
        "  namespace: shop\n"
        "  labels: {colour: track, app: service}\n"
        "  metrics: {app: storefront, requests: shop_requests_total, latency_bucket: shop_latency_bucket}\n"
        "  restore_replicas: 3\n",
        drop_namespace=True,
    )
    assert release_problems(model) == []
    spec = release_spec(model)
    c = spec.conventions
    assert spec.namespace == "shop" and spec.layout.namespace("acme-shop-nginx-green") == "shop"
    assert spec.restore_replicas == 3
    assert promql.latency_quantile(spec.app, "blue", spec.namespace, conventions=c) == (
        "histogram_quantile(0.99, sum by (le) "
        '(rate(shop_latency_bucket{namespace="shop",service="storefront",track="blue"}[1m])))'
    )
    assert 'shop_requests_total{namespace="shop",service="storefront",track="blue"}' in promql.request_rate(
        spec.app, "blue", spec.namespace, conventions=c
    )
    live = {
        "metadata": {"name": "acme-shop-nginx-blue", "labels": {"track": "blue"}},
        "spec": {
            "selector": {"matchLabels": {"track": "blue"}},
            "template": {"metadata": {"labels": {"track": "blue"}}, "spec": {"containers": []}},
        },
    }
    green = recolour(live, "green", None, 1, "run-1", spec.layout.colour_label)
    assert green["spec"]["selector"]["matchLabels"] == {"track": "green"}
    assert "color" not in green["spec"]["template"]["metadata"]["labels"]


def test_a_component_namespace_wins_over_the_release_default(tmp_path):
    spec = release_spec(_model(tmp_path, "  namespace: shop\n"))  # meta.vars.namespace: default stays
    assert spec.namespace == "default"


@pytest.mark.parametrize(
    "extra,key",
    [
        ("  labels: {colour: app.kubernetes.io/colour}\n", "release.labels.colour"),
        ("  metrics: {requests: 'http requests'}\n", "release.metrics.requests"),
        ("  namespace: Shop_NS\n", "release.namespace"),
        ("  restore_replicas: 0\n", "release.restore_replicas"),
    ],
)
def test_a_wrong_convention_is_refused_naming_its_key(tmp_path, extra, key):
    model = _model(tmp_path, extra)
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        release_spec(model)
    problems = release_problems(model)  # what `switchyard model validate` reports
    assert len(problems) == 1 and problems[0].message.startswith(f"{key}: "), problems
    assert problems[0].fix  # the key's description from release.schema.json


def test_an_unknown_convention_key_is_named_with_what_is_expected(tmp_path):
    problems = release_problems(_model(tmp_path, "  labels: {color: colour}\n"))
    assert [p.message for p in problems] == ["release.labels.color: unknown key"]
    assert "colour" in problems[0].fix and "app" in problems[0].fix


def test_the_spec_names_the_switch_mechanisms_the_switch_implements():
    assert set(MECHANISMS) == set(switch.MECHANISMS)
