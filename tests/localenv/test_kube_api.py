"""The Kubernetes API emulator through the official kubernetes client: CRUD, selectors, patches, errors."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from kubernetes.client import ApiException
from kubernetes.watch import Watch

from .manifests import deployment


def _status(exc: ApiException) -> dict:
    body = json.loads(exc.body)
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == exc.status
    return body


def test_read_and_list_the_seeded_deployments_with_label_selectors(kube):
    nginx = kube.apps.read_namespaced_deployment("acme-shop-nginx-blue", "default")
    assert nginx.spec.template.spec.containers[0].image.endswith("/acme-shop:v1")
    assert nginx.metadata.labels == {"app": "acme-shop", "component": "nginx", "color": "blue"}

    def names(selector: str, namespace: str | None = "default") -> set[str]:
        if namespace is None:
            items = kube.apps.list_deployment_for_all_namespaces(label_selector=selector).items
        else:
            items = kube.apps.list_namespaced_deployment(namespace, label_selector=selector).items
        return {d.metadata.name for d in items}

    coloured = {"acme-shop-nginx-blue", "acme-shop-php-fpm-blue", "acme-shop-consumer-blue"}
    assert names("app=acme-shop,color=blue") == coloured
    colourless = {"acme-shop-cron", "opensearch"}
    assert names("app==acme-shop,color!=blue") == colourless
    assert names("component in (nginx, cron)") == {"acme-shop-nginx-blue", "acme-shop-cron"}
    assert names("app=acme-shop,component notin (nginx,php-fpm)") == {"acme-shop-consumer-blue"} | colourless
    assert names("color") == coloured
    assert names("app=acme-shop,!color") == colourless
    assert names("app.kubernetes.io/name=external-secrets", namespace=None) == {"external-secrets"}
    assert names("app=nothing-here") == set()


def test_field_selectors(kube):
    pods = kube.core.list_namespaced_pod("default", field_selector="status.phase=Running").items
    assert pods and all(p.status.phase == "Running" for p in pods)
    assert kube.core.list_namespaced_pod("default", field_selector="status.phase=Failed").items == []
    one = kube.apps.list_deployment_for_all_namespaces(field_selector="metadata.name=opensearch").items
    assert [d.metadata.name for d in one] == ["opensearch"]
    ns = kube.apps.list_deployment_for_all_namespaces(
        field_selector="metadata.namespace=external-secrets"
    ).items
    assert [d.metadata.name for d in ns] == ["external-secrets"]
    not_default = kube.apps.list_deployment_for_all_namespaces(
        field_selector="metadata.namespace!=default"
    ).items
    assert {d.metadata.namespace for d in not_default} == {"external-secrets"}


def test_not_found_is_a_status_404(kube):
    with pytest.raises(ApiException) as err:
        kube.apps.read_namespaced_deployment("no-such-deployment", "default")
    body = _status(err.value)
    assert err.value.status == 404 and body["reason"] == "NotFound"
    assert body["message"] == 'deployments.apps "no-such-deployment" not found'


def test_invalid_objects_are_a_status_422_naming_the_field(kube, namespace):
    with pytest.raises(ApiException) as err:
        kube.apps.create_namespaced_deployment(namespace, deployment("Bad_Name", "img:v1"))
    body = _status(err.value)
    assert err.value.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"

    mismatched = deployment("web", "img:v1")
    mismatched["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(ApiException) as err:
        kube.apps.create_namespaced_deployment(namespace, mismatched)
    assert err.value.status == 422
    assert "`selector` does not match template `labels`" in _status(err.value)["message"]


def test_create_twice_is_409_already_exists(kube, namespace):
    kube.core.create_namespaced_config_map(namespace, {"metadata": {"name": "history"}, "data": {"a": "1"}})
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_config_map(namespace, {"metadata": {"name": "history"}})
    assert err.value.status == 409 and _status(err.value)["reason"] == "AlreadyExists"


def test_stale_resource_version_is_409_conflict(kube, namespace):
    created = kube.core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "history"}, "data": {"releases": "[]"}}
    )
    stale = created.metadata.resource_version
    created.data = {"releases": "[1]"}
    updated = kube.core.replace_namespaced_config_map("history", namespace, created)
    assert updated.metadata.resource_version != stale and updated.data == {"releases": "[1]"}

    created.metadata.resource_version = stale
    created.data = {"releases": "[2]"}
    with pytest.raises(ApiException) as err:
        kube.core.replace_namespaced_config_map("history", namespace, created)
    body = _status(err.value)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]
    assert kube.core.read_namespaced_config_map("history", namespace).data == {"releases": "[1]"}

    # A patch carrying a stale resourceVersion is a precondition and fails the same way.
    with pytest.raises(ApiException) as err:
        kube.core.patch_namespaced_config_map(
            "history", namespace, {"metadata": {"resourceVersion": stale}, "data": {"x": "y"}}
        )
    assert err.value.status == 409


def test_lease_lock_first_create_wins(kube, namespace):
    lease = {
        "metadata": {"name": "release-acme-shop"},
        "spec": {"holderIdentity": "run-1", "leaseDurationSeconds": 3600},
    }
    kube.coordination.create_namespaced_lease(namespace, lease)
    with pytest.raises(ApiException) as err:
        kube.coordination.create_namespaced_lease(namespace, {**lease, "spec": {"holderIdentity": "run-2"}})
    assert err.value.status == 409
    held = kube.coordination.read_namespaced_lease("release-acme-shop", namespace)
    assert held.spec.holder_identity == "run-1"
    kube.coordination.delete_namespaced_lease("release-acme-shop", namespace)
    assert kube.coordination.list_namespaced_lease(namespace).items == []


def test_strategic_merge_patch_merges_containers_by_name(kube, namespace):
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:v1"))
    # The kubernetes client sends a dict body as application/strategic-merge-patch+json.
    patched = kube.apps.patch_namespaced_deployment(
        "web",
        namespace,
        {
            "metadata": {"annotations": {"switchyard.io/release": "7"}, "labels": {"color": "green"}},
            "spec": {
                "replicas": 3,
                "template": {"spec": {"containers": [{"name": "app", "image": "shop:v2"}]}},
            },
        },
    )
    container = patched.spec.template.spec.containers[0]
    assert container.image == "shop:v2" and container.ports[0].container_port == 8080  # merged, not replaced
    assert patched.spec.replicas == 3 and patched.metadata.generation == 2
    # ours added; beside it only what the deployment controller writes (as soon as it has seen the
    # Deployment: the revision, which it may or may not have written before this patch)
    annotations = dict(patched.metadata.annotations)
    assert annotations.pop("switchyard.io/release") == "7"
    assert set(annotations) <= {"deployment.kubernetes.io/revision"}
    assert patched.metadata.labels == {"app": "web", "color": "green"}


def test_merge_patch_and_json_patch(kube, namespace):
    kube.core.create_namespaced_service(
        namespace,
        {
            "metadata": {"name": "shop"},
            "spec": {
                "selector": {"app": "shop", "color": "blue"},
                "ports": [{"port": 80, "targetPort": 8080}],
            },
        },
    )
    merged = kube.core.patch_namespaced_service(
        "shop",
        namespace,
        {"spec": {"selector": {"color": "green"}}},
        _content_type="application/merge-patch+json",
    )
    assert merged.spec.selector == {"app": "shop", "color": "green"}
    removed = kube.core.patch_namespaced_service(
        "shop",
        namespace,
        {"spec": {"selector": {"color": None}}},
        _content_type="application/merge-patch+json",
    )
    assert removed.spec.selector == {"app": "shop"}
    jsonpatched = kube.core.patch_namespaced_service(
        "shop",
        namespace,
        [
            {"op": "add", "path": "/spec/selector/color", "value": "blue"},
            {"op": "test", "path": "/spec/selector/app", "value": "shop"},
        ],
    )
    assert jsonpatched.spec.selector == {"app": "shop", "color": "blue"}
    with pytest.raises(ApiException) as err:
        kube.core.patch_namespaced_service(
            "shop", namespace, [{"op": "test", "path": "/spec/selector/app", "value": "other"}]
        )
    assert err.value.status == 422


def test_dry_run_validates_without_storing(kube, namespace):
    would_be = kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:v1"), dry_run="All")
    assert would_be.metadata.name == "web" and would_be.spec.replicas == 2
    assert kube.apps.list_namespaced_deployment(namespace).items == []
    with pytest.raises(ApiException) as err:
        kube.apps.create_namespaced_deployment(namespace, deployment("web", ""), dry_run="All")
    assert err.value.status == 422

    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:v1"))
    kube.apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 5}}, dry_run="All")
    assert kube.apps.read_namespaced_deployment("web", namespace).spec.replicas == 2


def test_scale_subresource(kube, namespace):
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:v1"))
    scale = kube.apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 0}})
    assert scale.kind == "Scale" and scale.spec.replicas == 0 and scale.status.selector == "app=web"
    assert kube.apps.read_namespaced_deployment("web", namespace).spec.replicas == 0
    assert kube.apps.read_namespaced_deployment_scale("web", namespace).spec.replicas == 0


def test_status_is_not_writable_through_the_main_resource(kube, namespace):
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:v1"))
    kube.apps.patch_namespaced_deployment("web", namespace, {"status": {"readyReplicas": 99}})
    assert kube.apps.read_namespaced_deployment("web", namespace).status.ready_replicas != 99


def test_watch_streams_changes_since_a_resource_version(kube, namespace):
    seen: list[tuple[str, str]] = []
    since = kube.core.list_namespaced_config_map(namespace).metadata.resource_version

    def follow():
        for event in Watch().stream(
            kube.core.list_namespaced_config_map, namespace, timeout_seconds=3, resource_version=since
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                return

    watcher = threading.Thread(target=follow)
    watcher.start()
    kube.core.create_namespaced_config_map(namespace, {"metadata": {"name": "a"}})
    kube.core.patch_namespaced_config_map("a", namespace, {"data": {"k": "v"}})
    kube.core.delete_namespaced_config_map("a", namespace)
    watcher.join(timeout=5)
    assert seen == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_secret_values_are_stored_base64_and_never_logged_by_the_emulator(kube, namespace, caplog):
    caplog.set_level(logging.DEBUG, logger="switchyard.localenv")
    kube.core.create_namespaced_secret(
        namespace, {"metadata": {"name": "db"}, "stringData": {"password": "hunter2-do-not-log"}}
    )
    secret = kube.core.read_namespaced_secret("db", namespace)
    assert secret.data == {"password": "aHVudGVyMi1kby1ub3QtbG9n"} and secret.string_data is None
    emulator_lines = [r.getMessage() for r in caplog.records if r.name.startswith("switchyard")]
    assert emulator_lines  # the requests were logged ...
    assert not any("hunter2" in line or "aHVudGVy" in line for line in emulator_lines)  # ... never the values


def test_discovery_lists_the_served_resources(kube):
    from kubernetes import client

    groups = {g.name for g in client.ApisApi(kube.api).get_api_versions().groups}
    assert {"apps", "batch", "networking.k8s.io", "coordination.k8s.io", "discovery.k8s.io"} <= groups
    core = {r.name for r in kube.core.get_api_resources().resources}
    assert {"pods", "pods/log", "services", "services/proxy", "endpoints", "secrets", "events"} <= core
    apps = {r.name: r for r in kube.apps.get_api_resources().resources}
    assert apps["deployments"].short_names == ["deploy"] and "deployments/scale" in apps


def test_a_watch_with_bookmarks_gets_bookmark_events(local_env, namespace):
    import json as _json
    import urllib.request

    url = (
        f"{local_env.kube_url}/api/v1/namespaces/{namespace}/configmaps?watch=true&allowWatchBookmarks=true"
        "&resourceVersion=0&timeoutSeconds=7"
    )
    with urllib.request.urlopen(url, timeout=15) as answer:
        events = [_json.loads(line) for line in answer.read().splitlines() if line.strip()]
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks and bookmarks[0]["object"]["kind"] == "ConfigMap"
    assert int(bookmarks[-1]["object"]["metadata"]["resourceVersion"]) >= 1
