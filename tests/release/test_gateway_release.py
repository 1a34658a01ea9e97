"""Whole releases of the second app, payments, whose traffic moves through a gateway ConfigMap
(seed 001's shape: the gateway's upstream names the live colour's Service), run with dag.test()
against the emulator and moto.

Each test starts from a freshly seeded payments cluster: blue live at v1, green absent, configmap
api-gateway naming payments-svc-blue. The app's Service selects both colours: only the gateway
says which one serves, so every step has to ask the gateway (the bug these tests guard: the next
release read a Service selector and redeployed over the colour that served).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config
from release_helpers import retry_quickly

from tests.release_cluster import INCLUDE, start_release_cluster

MODEL = INCLUDE / "models" / "payments.model.yaml"
BEHAVIOURS = INCLUDE / "behaviours" / "payments.yaml"
NAMESPACE = "default"
UPSTREAM = "payments-svc-{colour}.default.svc.cluster.local:80"
FAST = {"grace_seconds": 0, "rollout_timeout_seconds": 30, "watch_minutes": 0, "bake_minutes": 0}


@pytest.fixture
def payments_env(local_env, tmp_path, monkeypatch, airflow_db):
    env = start_release_cluster(
        local_env, tmp_path, tmp_path / "artifacts", monkeypatch, model=MODEL, behaviours=BEHAVIOURS
    )
    yield env
    env.stop()


@pytest.fixture(scope="session")
def payments_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag()
    assert bag.import_errors == {}, bag.import_errors
    dag = bag.get_dag("release_payments")
    assert dag is not None, sorted(bag.dag_ids)
    return retry_quickly(dag)


def _core(env) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(str(env.kubeconfig_path)))


def state(env) -> dict:
    """What serves: the gateway's upstream, the endpoints of each colour's Service, the deployments."""
    api = config.new_client_from_config(str(env.kubeconfig_path))
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    upstream = core.read_namespaced_config_map("api-gateway", NAMESPACE).data["upstream"]
    endpoints = {}
    for colour in ("blue", "green"):
        found = core.read_namespaced_endpoints(f"payments-svc-{colour}", NAMESPACE)
        endpoints[colour] = sorted(a.target_ref.name for s in found.subsets or [] for a in s.addresses or [])
    deployments = {d.metadata.name: d for d in apps.list_namespaced_deployment(NAMESPACE).items}
    return {
        "upstream": upstream,
        "endpoints": endpoints,
        "replicas": {n: d.spec.replicas for n, d in deployments.items()},
        "images": {
            n: d.spec.template.spec.containers[0].image.rsplit(":", 1)[-1] for n, d in deployments.items()
        },
        "service_selector": core.read_namespaced_service("payments-svc", NAMESPACE).spec.selector,
    }


def records(env) -> list[dict]:
    found = _core(env).read_namespaced_config_map("switchyard-releases-payments", NAMESPACE)
    return json.loads(found.data["history.json"])


def states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def xcom(run, task_id: str, key: str = "return_value"):
    ti = next(t for t in run.get_task_instances() if t.task_id == task_id)
    return ti.xcom_pull(task_ids=task_id, key=key)


def test_the_seeded_gateway_names_blue_and_the_model_has_its_own_dags(payments_env, payments_dag):
    before = state(payments_env)
    assert before["upstream"] == UPSTREAM.format(colour="blue")
    assert before["endpoints"]["blue"] and before["endpoints"]["green"] == []
    assert "color" not in before["service_selector"]  # the Service does not say which colour serves
    assert payments_dag.dag_id == "release_payments" and "payments" in payments_dag.tags


def test_a_release_switches_through_the_gateway_configmap(payments_env, payments_dag):
    run = payments_dag.test(run_conf={"version": "v2", **FAST})

    after = state(payments_env)
    assert run.state == "success", states(run)
    assert after["upstream"] == UPSTREAM.format(colour="green")
    assert after["endpoints"]["green"] and all(
        "payments-api-green-" in p for p in after["endpoints"]["green"]
    )
    assert after["images"]["payments-api-green"] == "v2"
    assert after["replicas"]["payments-api-blue"] == 0  # no bake asked for: cleaned up at once
    assert "color" not in after["service_selector"]  # the switch wrote the gateway, not the Service
    switched = xcom(run, "switch_traffic")
    assert switched["mechanism"] == "gateway_configmap" and switched["previous"] == "blue"
    assert switched["endpoints"] == after["endpoints"]["green"]  # verified on the green Service
    assert [(r["version"], r["colour"], r["status"]) for r in records(payments_env)] == [
        ("v2", "green", "Active")
    ]


def test_after_a_gateway_switch_the_ui_live_diagnosis_and_drift_check_read_the_gateway(
    payments_env, payments_dag, tmp_path, monkeypatch
):
    from airflow.dag_processing.dagbag import DagBag

    from switchyard.airflow.ui.releases import read_app
    from switchyard.engine.model import load_model
    from switchyard.probes.live import live_view
    from tests.dags.drift_fixtures import run_drift
    from tests.release_cluster import single_model_include

    assert payments_dag.test(run_conf={"version": "v2", **FAST}).state == "success"

    view = read_app(MODEL)
    assert (view.live_colour, view.live_version) == ("green", "v2"), view.problems
    live = live_view(load_model(MODEL))
    assert live.colour == "green" and "configmap default/api-gateway key upstream" in live.note
    monkeypatch.setenv("SWITCHYARD_INCLUDE_DIR", str(single_model_include(tmp_path, "payments")))
    drift = run_drift(DagBag().get_dag("drift_check"))
    assert drift.state == "success", drift.report
    assert drift.statuses("payments") == dict.fromkeys(
        ["model_reasoning", "model_vs_live", "record_vs_live", "live_health"], "ok"
    )
    notes = drift.result("record_vs_live", "payments")["notes"]
    assert "configmap default/api-gateway selects green, as recorded" in notes  # read from the gateway


def test_the_next_release_after_a_gateway_switch_deploys_to_the_colour_that_does_not_serve(
    payments_env, payments_dag
):
    first = payments_dag.test(run_conf={"version": "v2", **FAST})
    assert first.state == "success", states(first)
    assert state(payments_env)["upstream"] == UPSTREAM.format(colour="green")

    second = payments_dag.test(run_conf={"version": "v3", **FAST})

    after = state(payments_env)
    assert second.state == "success", states(second)
    plan = xcom(second, "plan")
    assert (plan["live"], plan["standby"], plan["live_version"]) == ("green", "blue", "v2")
    assert after["upstream"] == UPSTREAM.format(colour="blue")
    assert after["images"]["payments-api-blue"] == "v3" and after["replicas"]["payments-api-blue"] == 2
    assert after["images"]["payments-api-green"] == "v2" and after["replicas"]["payments-api-green"] == 0
    assert all("payments-api-blue-" in p for p in after["endpoints"]["blue"]) and after["endpoints"]["blue"]
    assert [(r["version"], r["colour"], r["status"]) for r in records(payments_env)] == [
        ("v2", "green", "Superseded"),
        ("v3", "blue", "Active"),
    ]


def test_a_failing_release_rolls_back_through_the_gateway_configmap(payments_env, payments_dag):
    from tests.dags.release_helpers import when

    emulator = payments_env.emulator

    def watching() -> bool:  # the watch has recorded its clock: traffic is on green
        return any("watch" in (r.get("checkpoints") or {}) for r in records(payments_env))

    acted = when(watching, lambda: emulator.set_behaviour("v2", "crash_loop"))
    run = payments_dag.test(
        run_conf={"version": "v2", **FAST, "watch_minutes": 0.5, "watch_interval_seconds": 2}
    )
    acted.check()

    after = state(payments_env)
    assert run.state == "failed"
    assert states(run)["rollback"] == "success", states(run)
    rollback = xcom(run, "rollback")
    assert rollback["mode"] == "immediate" and rollback["to"] == "blue"
    assert after["upstream"] == UPSTREAM.format(colour="blue")  # the gateway names blue again
    assert after["endpoints"]["blue"] and all("payments-api-blue-" in p for p in after["endpoints"]["blue"])
    assert after["replicas"]["payments-api-green"] == 0 and after["replicas"]["payments-api-blue"] == 2
    [record] = records(payments_env)
    assert record["status"] == "RolledBack" and record["colour"] == "green"


def test_a_dry_run_backs_up_the_gateway_configmap_and_changes_nothing(payments_env, payments_dag):
    before = state(payments_env)

    run = payments_dag.test(run_conf={"version": "v2", **FAST, "dry_run": True})

    assert run.state == "success", states(run)
    documents = list(yaml.safe_load_all(Path(xcom(run, "pre_checks.backup_live")).read_text()))
    names = sorted(d["metadata"]["name"] for d in documents)
    assert names == ["api-gateway", "payments-api-blue", "payments-svc"]
    gateway = next(d for d in documents if d["metadata"]["name"] == "api-gateway")
    assert gateway["data"]["upstream"] == UPSTREAM.format(colour="blue")
    assert state(payments_env) == before
