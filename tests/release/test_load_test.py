"""The load test before the switch (runbook section 3, performance baseline), run whole with
dag.test() against the emulator and moto. The emulator's time runs 60× (the release cluster's
time scale), so a 600-second load lasts 10 s of the test.

A load test that passes lets the release switch, with its figures beside the thresholds; one that
catches a version degrading under load (v11-saturates: healthy at the live traffic, shedding
requests above 25 RPS per pod) stops the release before the switch through the pre-switch failure
path, naming the root cause, while the smoke tests passed.
"""

from __future__ import annotations

import json

from kubernetes import client, config

FAST = {
    "grace_seconds": 0,
    "rollout_timeout_seconds": 30,
    "watch_minutes": 0,
    "bake_minutes": 0,
    "run_migration": "no",
    "watch_interval_seconds": 1,
}
LOAD = {"load_test": "on", "load_rps": 100, "load_seconds": 600}


def _api(env):
    return config.new_client_from_config(str(env.kubeconfig_path))


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def _xcom(run, task_id: str, key: str = "return_value"):
    ti = next(t for t in run.get_task_instances() if t.task_id == task_id)
    return ti.xcom_pull(task_ids=task_id, key=key)


def _history(env) -> list[dict]:
    cm = client.CoreV1Api(_api(env)).read_namespaced_config_map("switchyard-releases-acme-shop", "default")
    return json.loads(cm.data["history.json"])


def _cluster(env) -> dict:
    a = _api(env)
    deployments = client.AppsV1Api(a).list_namespaced_deployment("default").items
    return {
        "replicas": {d.metadata.name: d.spec.replicas for d in deployments},
        "colour": client.CoreV1Api(a)
        .read_namespaced_service("acme-shop-svc", "default")
        .spec.selector["color"],
        "leases": [
            x.metadata.name for x in client.CoordinationV1Api(a).list_namespaced_lease("default").items
        ],
        "load_jobs": [
            j.metadata.name
            for j in client.BatchV1Api(a)
            .list_namespaced_job("default", label_selector="switchyard.io/step=load-test")
            .items
        ],
    }


def test_a_load_test_that_passes_lets_the_release_switch(cluster_env, release_dag):
    run = release_dag.test(run_conf={"version": "v2", **FAST, **LOAD})

    assert run.state == "success", _states(run)
    assert _cluster(cluster_env)["colour"] == "green"
    result = _xcom(run, "load_test", "load_test")
    figures, limits = result["figures"], result["thresholds"]
    assert result["passed"] and result["problems"] == []
    assert figures["samples"] >= limits["min_samples"] == 3
    assert 90 <= figures["request_rate"] <= 110  # the load reached green, and only the load
    assert figures["error_ratio"] == 0 and figures["p99_seconds"] < 0.1
    assert figures["live_p99_seconds"] is not None  # compared with blue at the same moments
    assert 0 < figures["cpu_ratio"] < limits["max_cpu_ratio"]  # of the pods' 500m limit
    assert 0 < figures["memory_ratio"] < limits["max_memory_ratio"]
    decision = _xcom(run, "load_test", "decision")
    assert "rate " in decision["load_test"] and "CPU " in decision["load_test"]
    [record] = _history(cluster_env)
    assert record["status"] == "Active" and record["checkpoints"]["load_test"]["results"][0]["passed"]
    summary = _xcom(run, "summary")
    assert summary["load_test"]["passed"] and "load test passed: " in summary["note"]


def test_a_version_that_degrades_under_load_is_stopped_before_the_switch(cluster_env, release_dag):
    run = release_dag.test(run_conf={"version": "v11-saturates", **FAST, **LOAD})

    assert run.state == "failed"
    task_states = _states(run)
    assert task_states["smoke_tests"] == "success"  # what the smoke tests cannot see
    assert task_states["load_test"] == "failed" and task_states["switch_traffic"] == "upstream_failed"
    assert task_states["abort_standby"] == "success"
    result = _xcom(run, "load_test", "load_test")
    assert not result["passed"]
    assert result["ended"].startswith("error ratio")  # stopped at the first loaded sample
    assert result["figures"]["error_ratio"] > 0.4  # 50 RPS per pod against a capacity of 25
    assert result["root_cause"] == "acme-shop-nginx-green" and result["evidence"] == "metrics"
    assert result["artifact_url"]  # the standby gate ran on the loaded colour
    after = _cluster(cluster_env)
    assert after["colour"] == "blue"
    assert after["replicas"]["acme-shop-nginx-green"] == 0 and after["replicas"]["acme-shop-nginx-blue"] == 2
    assert after["load_jobs"] == []  # the load stopped with the test
    assert after["leases"] == []
    [record] = _history(cluster_env)
    assert record["status"] == "Failed" and record["failed_step"] == "load_test"
    assert record["root_cause"] == "acme-shop-nginx-green"
    note = _xcom(run, "summary")["note"]
    assert "failed at load_test" in note and "load test FAILED: " in note and "errors " in note
