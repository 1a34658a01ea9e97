"""The standby's Deployments are rendered from the live ones with the other colour wherever the
colour is written: name, labels, selector, labels and annotations naming the live Deployment, and
containers named after it (a green pod's events say `Started container acme-shop-consumer-green`)."""

from __future__ import annotations

import json
from pathlib import Path

from kubernetes import config

from switchyard.engine.catalog import load_catalog
from switchyard.engine.model import load_model
from switchyard.release.colours import layout
from switchyard.release.workloads import DEFAULT_CONTAINER, Workloads, recolour

MODEL = Path(__file__).resolve().parents[2] / "include" / "models" / "acme-shop.model.yaml"


def test_the_standby_rendered_from_the_live_cluster_names_its_containers_green(local_env):
    api = config.new_client_from_config(config_file=str(local_env.kubeconfig_path))
    workloads = Workloads(api, layout(load_model(MODEL, load_catalog(use_env=False))), log=lambda _: None)

    bodies = workloads.render_standby("blue", "v2", "run-1")

    assert {b["metadata"]["name"] for b in bodies} == {
        "acme-shop-nginx-green",
        "acme-shop-php-fpm-green",
        "acme-shop-consumer-green",
    }
    for body in bodies:
        containers = body["spec"]["template"]["spec"]["containers"]
        assert [c["name"] for c in containers] == [body["metadata"]["name"]]
        assert "blue" not in json.dumps(body), body["metadata"]["name"]


def test_only_names_that_end_in_the_colour_change():
    live = {
        "metadata": {
            "name": "web-blue",
            "labels": {"color": "blue", "app.kubernetes.io/instance": "web-blue"},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"color": "blue"}},
            "template": {
                "metadata": {"labels": {"color": "blue"}, "annotations": {DEFAULT_CONTAINER: "web-blue"}},
                "spec": {
                    "initContainers": [{"name": "migrate-blue", "image": "r/web:v1"}],
                    "containers": [
                        {"name": "web-blue", "image": "r/web:v1"},
                        {"name": "envoy", "image": "envoyproxy/envoy:v1.30"},
                        {"name": "bluebird", "image": "r/bird:1"},
                    ],
                },
            },
        },
    }
    green = recolour(live, "green", "v2", 2, "run-1")
    pod = green["spec"]["template"]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["web-green", "envoy", "bluebird"]
    assert [c["image"] for c in pod["spec"]["containers"]] == [
        "r/web:v2",
        "envoyproxy/envoy:v1.30",
        "r/bird:1",
    ]
    assert pod["spec"]["initContainers"][0]["name"] == "migrate-green"
    assert pod["metadata"]["annotations"][DEFAULT_CONTAINER] == "web-green"
    assert green["metadata"]["labels"] == {"color": "green", "app.kubernetes.io/instance": "web-green"}
    assert (
        live["spec"]["template"]["spec"]["containers"][0]["name"] == "web-blue"
    )  # the live one is untouched
