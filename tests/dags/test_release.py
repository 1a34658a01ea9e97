"""The release DAG, run whole with dag.test() against the Kubernetes emulator and moto."""

from __future__ import annotations

from kubernetes import client, config

FAST = {"grace_seconds": 0, "rollout_timeout_seconds": 60, "watch_minutes": 0, "bake_minutes": 0}


def cluster_state(env) -> dict:
    api = config.new_client_from_config(str(env.kubeconfig_path))
    apps, core, coord = client.AppsV1Api(api), client.CoreV1Api(api), client.CoordinationV1Api(api)
    replicas = {d.metadata.name: d.spec.replicas for d in apps.list_namespaced_deployment("default").items}
    images = {
        d.metadata.name: d.spec.template.spec.containers[0].image.rsplit(":", 1)[-1]
        for d in apps.list_namespaced_deployment("default").items
    }
    selector = core.read_namespaced_service("acme-shop-svc", "default").spec.selector
    leases = [lease.metadata.name for lease in coord.list_namespaced_lease("default").items]
    endpoints = core.read_namespaced_endpoints("acme-shop-svc", "default")
    ready = sorted(a.target_ref.name for s in endpoints.subsets or [] for a in s.addresses or [])
    return {
        "replicas": replicas,
        "images": images,
        "colour": selector.get("color"),
        "leases": leases,
        "endpoint_pods": ready,
    }


def states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_happy_path_switches_traffic_to_green(cluster_env, release_dag):
    run = release_dag.test(run_conf={"version": "v2", **FAST})
    after = cluster_state(cluster_env)
    assert run.state == "success", states(run)
    assert after["colour"] == "green"
    assert after["endpoint_pods"] and all("-nginx-green-" in p for p in after["endpoint_pods"])
    assert after["images"]["acme-shop-nginx-green"] == "v2"
    assert after["replicas"]["acme-shop-nginx-blue"] == 2  # the old colour stays warm for a rollback
    assert (
        after["replicas"]["acme-shop-consumer-green"] > 0
        and after["replicas"]["acme-shop-consumer-blue"] == 0
    )
    assert after["leases"] == []
    task_states = states(run)
    assert task_states["migrate"] == "success"  # v2's image says it needs a migration
