"""The optional canary before the switch (runbook section 3: 5 % of real traffic on the new colour,
checked against the live colour), run whole with dag.test() against the emulator and moto. The
cluster's Ingress is put on ingress-nginx first (the seeded one is an ALB Ingress, which cannot
split traffic by weight: that case is refused at plan time)."""

from __future__ import annotations

import json
import threading
import time

from kubernetes import client, config

from switchyard.release.canary import CANARY, CANARY_WEIGHT, canary_refusal

FAST = {
    "grace_seconds": 0,
    "rollout_timeout_seconds": 30,
    "watch_minutes": 0,
    "bake_minutes": 0,
    "run_migration": "no",
    "watch_interval_seconds": 10,  # checks 10 s apart (the runbook: 30 s)
}


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


def _ingresses(env) -> dict[str, dict]:
    items = client.NetworkingV1Api(_api(env)).list_namespaced_ingress("default").items
    return {i.metadata.name: i for i in items}


def _behind_nginx(env) -> None:
    client.NetworkingV1Api(_api(env)).patch_namespaced_ingress(
        "acme-shop-ingress", "default", {"spec": {"ingressClassName": "nginx"}}
    )


class CanaryWatcher(threading.Thread):
    """Polls the cluster during the run: the canary Ingress as it was written, the green share of
    the traffic while it exists, and (optionally) breaks v2 once the first check is recorded."""

    def __init__(self, env, emulator=None) -> None:
        super().__init__(daemon=True)
        self.env, self.emulator = env, emulator
        self.seen: dict = {}
        self.green_rate: list[float] = []
        self.broke_after: int | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        from switchyard.probes.metrics import colour_metrics

        while not self.stop.is_set():
            try:
                canary = _ingresses(self.env).get("acme-shop-ingress-canary")
                if canary is not None:
                    self.seen = {
                        "annotations": dict(canary.metadata.annotations or {}),
                        "backend": canary.spec.rules[0].http.paths[0].backend.service.name,
                        "class": canary.spec.ingress_class_name,
                    }
                    self.green_rate.append(
                        colour_metrics("acme-shop", "default", "green").request_rate or 0.0
                    )
                if self.emulator is not None and self.broke_after is None:
                    records = _history(self.env)
                    done = (records[-1].get("checkpoints") or {}).get("canary", {}).get("results", [])
                    if len(done) >= 1:
                        self.emulator.set_behaviour("v2", "http_5xx", rate=0.2)
                        self.broke_after = len(done)
            except Exception:  # the cluster is mid-change; poll again
                pass
            time.sleep(0.5)


def test_a_canary_that_passes_then_the_switch(cluster_env, release_dag):
    _behind_nginx(cluster_env)
    watcher = CanaryWatcher(cluster_env)
    watcher.start()
    run = release_dag.test(run_conf={"version": "v2", **FAST, "canary_percent": 5, "canary_minutes": 0.35})
    watcher.stop.set()

    assert run.state == "success", _states(run)
    checks = _xcom(run, "canary", "checkpoints")
    assert [c["passed"] for c in checks] == [True, True]
    assert all(c["metrics"]["standby"]["request_rate"] > 0 for c in checks)  # real traffic reached green
    assert watcher.seen == {
        "annotations": {CANARY: "true", CANARY_WEIGHT: "5", "switchyard.io/release-run": run.run_id},
        "backend": "acme-shop-svc-green",
        "class": "nginx",
    }
    assert max(watcher.green_rate) == 1.0  # 5 % of the 20 RPS
    assert "acme-shop-ingress-canary" not in _ingresses(cluster_env)  # removed before the switch
    [record] = _history(cluster_env)
    assert record["status"] == "Active" and len(record["checkpoints"]["canary"]["results"]) == 2
    # The figures beside their thresholds: in each recorded check, the summary and the run note.
    assert record["checkpoints"]["canary"]["results"][-1]["thresholds"]["max_error_ratio"] > 0
    summary = _xcom(run, "summary")
    assert summary["canary"]["passed"] and summary["canary"]["checks"] == 2
    assert summary["canary"]["line"].startswith("5 %: 2/2 checks passed; last check 2: rate ")
    assert "; canary 5 %: 2/2 checks passed" in summary["note"] and "vs live; live " in summary["note"]


def test_a_canary_aborted_at_its_second_check(cluster_env, release_dag, emulator_for):
    _behind_nginx(cluster_env)
    watcher = CanaryWatcher(cluster_env, emulator_for(cluster_env))
    watcher.start()
    run = release_dag.test(run_conf={"version": "v2", **FAST, "canary_percent": 5, "canary_minutes": 0.5})
    watcher.stop.set()

    assert watcher.broke_after == 1, "v2 was not broken after the first check"
    assert run.state == "failed"
    states = _states(run)
    assert states["canary"] == "failed" and states["switch_traffic"] == "upstream_failed"
    checks = _xcom(run, "canary", "checkpoints")
    assert [(c["checkpoint"], c["passed"]) for c in checks] == [(1, True), (2, False)]
    assert any("error ratio" in p for p in checks[1]["problems"])
    assert checks[1]["root_cause"] == "acme-shop-nginx-green"
    assert "acme-shop-ingress-canary" not in _ingresses(cluster_env)  # weight 0, then removed
    deployments = client.AppsV1Api(_api(cluster_env)).list_namespaced_deployment("default").items
    replicas = {d.metadata.name: d.spec.replicas for d in deployments}
    assert replicas["acme-shop-nginx-green"] == 0 and replicas["acme-shop-nginx-blue"] == 2
    selector = client.CoreV1Api(_api(cluster_env)).read_namespaced_service("acme-shop-svc", "default")
    assert selector.spec.selector["color"] == "blue"
    [record] = _history(cluster_env)
    assert record["status"] == "Failed" and record["failed_step"] == "canary"
    assert record["root_cause"] == "acme-shop-nginx-green"


def test_a_canary_the_ingress_cannot_split_is_refused_at_plan_time(cluster_env, release_dag):
    run = release_dag.test(run_conf={"version": "v2", **FAST, "canary_percent": 5})  # the ALB Ingress

    assert run.state == "failed"
    assert _states(run)["plan"] == "failed" and _states(run)["deploy_standby"] == "upstream_failed"
    [record] = _history(cluster_env)
    assert record["failed_step"] == "plan"
    assert "class alb, not nginx" in record["root_cause"] and "canary_percent=0" in record["root_cause"]


def test_the_gateway_configmap_switch_cannot_split_traffic():
    why = canary_refusal("gateway_configmap", 5)
    assert "cannot split traffic" in why and "canary_percent=0" in why
    assert canary_refusal("gateway_configmap", 0) == "" and canary_refusal("service_selector", 5) == ""
