"""Failure paths of acme-shop releases on the real runtime, through the REST API only: a regression
during the bake (rolled back, traffic restored by the trigger; a second release meanwhile refused
at the lock) and a standby that crash-loops (stopped before the switch). Its own file, so that xdist
runs it beside test_releases_on_the_stack.py on another worker with its own stack."""

from __future__ import annotations

from e2e_helpers import DAG_ID, FAST, OTHER, bake_started, not_live, wait_until


def test_regression_in_the_bake_is_rolled_back_and_a_second_release_meanwhile_is_refused(
    api, cluster, emulator, fresh
):
    live = cluster.colour()
    conf = {**FAST, "version": "v10-late-regression", "bake_minutes": 0.5}
    run_id = api.trigger(DAG_ID, conf, note="e2e: late regression")["dag_run_id"]
    # the second release comes once the first holds the lock (about 1 s after it was triggered)
    api.wait_for_task(DAG_ID, run_id, "lock", {"success"}, timeout=300, poll=0.3)
    second = api.trigger(DAG_ID, {**FAST, "version": not_live(cluster, live)}, note="e2e: second")
    api.wait_for_task(DAG_ID, run_id, "bake", {"deferred"}, timeout=300)
    wait_until(bake_started(cluster, run_id, 1), timeout=180, what="bake checkpoint 1")
    emulator.set_behaviour("v10-late-regression", "crash_loop")  # the new version starts failing
    final = api.wait_for_run(DAG_ID, run_id, timeout=300)
    states = api.task_states(DAG_ID, run_id)
    assert final["state"] == "failed" and states["bake"] == "failed" and states["rollback"] == "success", (
        states
    )
    assert states["cleanup_old_colour"] == "upstream_failed"
    assert cluster.colour() == live and cluster.replicas()[f"acme-shop-nginx-{OTHER[live]}"] == 0
    assert f"traffic restored to {live} by the bake" in api.xcom(
        DAG_ID, run_id, "rollback", "incident_report"
    )
    record = cluster.record(run_id)
    assert record["status"] == "RolledBack"
    # the bake's trigger put traffic back itself, before the diagnosis and the rollback task
    failing = next(c for c in record["checkpoints"]["bake"]["results"] if not c["passed"])
    assert failing["traffic_restored"]["done"] is True and failing["traffic_restored"]["to"] == live
    # every deployment of the new colour runs the regressing image: the cause is one of them
    assert record["root_cause"].startswith("acme-shop-") and record["root_cause"].endswith(f"-{OTHER[live]}")
    # the second release, triggered 1 s after the first, was refused at the lock, naming the first
    refused = api.wait_for_run(DAG_ID, second["dag_run_id"], timeout=300)
    refused_states = api.task_states(DAG_ID, second["dag_run_id"])
    assert refused["state"] == "failed" and refused_states["lock"] == "failed", refused_states
    assert refused_states["switch_traffic"] != "success"
    assert run_id in api.task_log(DAG_ID, second["dag_run_id"], "lock")
    assert cluster.leases() == []


def test_a_crash_looping_standby_stops_before_the_switch(api, cluster, fresh):
    live = cluster.colour()
    run_id = api.trigger(DAG_ID, {**FAST, "version": "v3-crashloop", "rollout_timeout_seconds": 10})[
        "dag_run_id"
    ]
    final = api.wait_for_run(DAG_ID, run_id, timeout=300)
    states = api.task_states(DAG_ID, run_id)
    assert final["state"] == "failed" and states["standby_gate"] == "failed", states
    assert states["switch_traffic"] in ("upstream_failed", None) and states["abort_standby"] == "success"
    verdict = api.xcom(DAG_ID, run_id, "standby_gate", "verdict")
    assert verdict["outcome"] == "failing"
    assert verdict["root_cause"].startswith(("acme-shop-nginx-", "acme-shop-php-fpm-"))
    assert cluster.colour() == live and cluster.replicas()[f"acme-shop-nginx-{OTHER[live]}"] == 0
    assert cluster.record(run_id)["status"] == "Failed"
