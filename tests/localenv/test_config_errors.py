"""A pod whose Secret or ConfigMap is missing never starts, as on EKS (the external-secrets failure)."""

from __future__ import annotations

import pytest

from switchyard.engine.diagnose import diagnose
from switchyard.release.colours import layout

from .manifests import deployment


def _pod_state(kube, namespace, selector):
    pods = kube.core.list_namespaced_pod(namespace, label_selector=selector).items
    return [(p.status.phase, p.status.container_statuses[0].state.waiting) for p in pods]


def test_env_from_a_missing_secret_is_create_container_config_error_until_it_exists(
    kube, namespace, emulator
):
    body = deployment("web", "shop:v2")
    body["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [{"secretRef": {"name": "app-secrets"}}]
    kube.apps.create_namespaced_deployment(namespace, body)
    emulator.advance(30)
    states = _pod_state(kube, namespace, "app=web")
    assert [(phase, w.reason, w.message) for phase, w in states] == [
        ("Pending", "CreateContainerConfigError", 'secret "app-secrets" not found')
    ] * 2
    events = kube.core.list_namespaced_event(namespace).items
    assert any(e.reason == "Failed" and e.message == 'Error: secret "app-secrets" not found' for e in events)
    assert kube.apps.read_namespaced_deployment_status("web", namespace).status.ready_replicas is None

    kube.core.create_namespaced_secret(
        namespace, {"metadata": {"name": "app-secrets"}, "stringData": {"DB_PASSWORD": "x"}}
    )
    emulator.advance(4)  # startup 1 s + readiness 2 s from the moment the Secret exists
    assert kube.apps.read_namespaced_deployment_status("web", namespace).status.ready_replicas == 2


def test_a_missing_key_and_a_missing_config_map_volume(kube, namespace, emulator):
    kube.core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "settings"}, "data": {"mode": "blue"}}
    )
    body = deployment("keyed", "shop:v2")
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "COLOUR", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "colour"}}},
        {"name": "FLAG", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "x", "optional": True}}},
    ]
    kube.apps.create_namespaced_deployment(namespace, body)
    mounted = deployment("mounted", "shop:v2")
    mounted["spec"]["template"]["spec"]["volumes"] = [
        {"name": "app-config", "configMap": {"name": "app-config"}}
    ]
    kube.apps.create_namespaced_deployment(namespace, mounted)
    emulator.advance(10)
    (phase, waiting), _ = _pod_state(kube, namespace, "app=keyed")
    assert (phase, waiting.reason) == ("Pending", "CreateContainerConfigError")
    assert waiting.message == f"couldn't find key colour in ConfigMap {namespace}/settings"
    (phase, waiting), _ = _pod_state(kube, namespace, "app=mounted")
    assert (phase, waiting.reason) == ("Pending", "ContainerCreating")  # a volume blocks before the container
    messages = {
        e.message for e in kube.core.list_namespaced_event(namespace).items if e.reason == "FailedMount"
    }
    assert messages == {'MountVolume.SetUp failed for volume "app-config" : configmap "app-config" not found'}


@pytest.fixture
def standby_gate(local_env, airflow_connections):
    """The standby gate of green (its serving deployments before it takes traffic), as the DAG runs it."""
    from switchyard.probes import LiveProbe

    colours = layout(local_env.model)

    def run():
        return diagnose(
            colours.live_path("green"),
            LiveProbe(local_env.model),
            scope=colours.serving("green"),
            prefer=colours.components("green"),
            max_probes=100,
            deadline_seconds=60,
        )

    return run


def test_a_release_whose_secret_is_missing_fails_the_standby_gate_on_the_stuck_deployment(
    local_env, kube, standby_gate
):
    """The standby colour deployed (as a release does: the live one's manifest, green, new image) with
    an env reference to a Secret external-secrets never produced: its pods stay in
    CreateContainerConfigError, the rollout times out and the standby gate names the deployment."""
    live = kube.api.sanitize_for_serialization(
        kube.apps.read_namespaced_deployment("acme-shop-php-fpm-blue", "default")
    )
    name = "acme-shop-php-fpm-green"
    green = {
        "metadata": {"name": name, "labels": {**live["metadata"]["labels"], "color": "green"}},
        "spec": {
            **live["spec"],
            "selector": {"matchLabels": {**live["spec"]["selector"]["matchLabels"], "color": "green"}},
        },
    }
    template = green["spec"]["template"]
    template["metadata"]["labels"]["color"] = "green"
    container = template["spec"]["containers"][0]
    container["image"] = container["image"].rsplit(":", 1)[0] + ":v2"
    container["envFrom"] = [{"secretRef": {"name": "acme-shop-release-secrets"}}]
    kube.apps.create_namespaced_deployment("default", green)
    try:
        local_env.emulator.advance(700)  # past progressDeadlineSeconds (600): the rollout has timed out
        result = standby_gate()
        dep = kube.apps.read_namespaced_deployment_status(name, "default")
        selector = ",".join(f"{k}={v}" for k, v in green["spec"]["selector"]["matchLabels"].items())
        states = _pod_state(kube, "default", selector)
    finally:
        kube.apps.delete_namespaced_deployment(name, "default")
        local_env.emulator.advance(1)
    assert [(phase, w.reason, w.message) for phase, w in states] == [
        ("Pending", "CreateContainerConfigError", 'secret "acme-shop-release-secrets" not found')
    ] * len(states)
    assert states
    progressing = next(c for c in dep.status.conditions if c.type == "Progressing")
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")
    verdict = result.verdict
    assert verdict.outcome == "failing", verdict.summary()
    assert verdict.root_cause == name, verdict.summary()
