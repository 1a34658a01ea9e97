"""Releases of acme-shop on the real runtime (scheduler, triggerer, dag-processor, api-server,
PostgreSQL), triggered and observed through the REST API only.

The tests share one cluster and run in file order; each reads the live colour first and expects
the other one, so none depends on what an earlier one left."""

from __future__ import annotations

import os
import signal
import time

from e2e_helpers import DAG_ID, FAST, wait_until

OTHER = {"blue": "green", "green": "blue"}


def not_live(cluster, live: str) -> str:
    """A healthy version that is not the one serving (releasing the live version is refused)."""
    return "v1" if cluster.images()[f"acme-shop-nginx-{live}"] == "v2" else "v2"


def _bake_started(cluster, run_id: str, checkpoints_done: int = 0):
    def check() -> bool:
        try:
            progress = (cluster.record(run_id).get("checkpoints") or {}).get("bake")
        except StopIteration:
            return False
        return progress is not None and len(progress.get("results", [])) >= checkpoints_done

    return check


def test_healthy_release_through_watch_and_bake_survives_a_triggerer_restart(stack, api, cluster, fresh):
    """v2 (with its migration) goes live; the triggerer is killed after the bake's first
    checkpoint and started again: the bake goes on at the checkpoint it reached. While the bake
    waits, no worker slot is in use (read from the API's pools)."""
    live = cluster.colour()
    run = api.trigger(
        DAG_ID,
        {**FAST, "version": "v2", "run_migration": "auto", "watch_minutes": 0.2, "bake_minutes": 0.4},
        note="e2e: healthy v2",
    )
    run_id = run["dag_run_id"]
    api.wait_for_task(DAG_ID, run_id, "bake", {"deferred"}, timeout=300)
    slots = []
    wait_until(_bake_started(cluster, run_id, 1), timeout=60, what="bake checkpoint 1")
    for _ in range(6):
        slots.append(api.occupied_slots())
        time.sleep(0.25)
    stack.process("triggerer").signal(signal.SIGKILL)
    stack.restart("triggerer")
    final = api.wait_for_run(DAG_ID, run_id, timeout=300)
    states = api.task_states(DAG_ID, run_id)
    assert final["state"] == "success", states
    assert slots and set(slots) == {0}, slots
    assert cluster.colour() == OTHER[live]
    assert cluster.images()[f"acme-shop-nginx-{OTHER[live]}"] == "v2"
    assert cluster.replicas()[f"acme-shop-nginx-{live}"] == 0
    record = cluster.record(run_id)
    assert record["status"] == "Active" and record["migration"] is True
    bake = record["checkpoints"]["bake"]["results"]
    assert [c["checkpoint"] for c in bake] == [1, 2, 3, 4] and all(c["passed"] for c in bake)
    assert [c["checkpoint"] for c in api.xcom(DAG_ID, run_id, "bake", "checkpoints")] == [1, 2, 3, 4]
    assert cluster.leases() == []
    # The audit trail a person reads in the UI: the decision lines, the note, one notification.
    assert "DECISION: saw" in api.task_log(DAG_ID, run_id, "switch_traffic")
    assert "v2" in (api.run(DAG_ID, run_id)["note"] or "")
    assert api.task_log(DAG_ID, run_id, "cleanup_old_colour").count("NOTIFY:") == 1


def test_regression_in_the_bake_is_rolled_back_and_a_second_release_meanwhile_is_refused(
    api, cluster, emulator, fresh
):
    live = cluster.colour()
    conf = {**FAST, "version": "v10-late-regression", "bake_minutes": 0.5}
    run_id = api.trigger(DAG_ID, conf, note="e2e: late regression")["dag_run_id"]
    # the second release comes once the first holds the lock (about 1 s after it was triggered)
    api.wait_for_task(DAG_ID, run_id, "lock", {"success"}, timeout=120)
    second = api.trigger(DAG_ID, {**FAST, "version": not_live(cluster, live)}, note="e2e: second")
    api.wait_for_task(DAG_ID, run_id, "bake", {"deferred"}, timeout=300)
    wait_until(_bake_started(cluster, run_id, 1), timeout=60, what="bake checkpoint 1")
    emulator.set_behaviour("v10-late-regression", "crash_loop")  # the new version starts failing
    final = api.wait_for_run(DAG_ID, run_id, timeout=300)
    states = api.task_states(DAG_ID, run_id)
    assert final["state"] == "failed" and states["bake"] == "failed" and states["rollback"] == "success", (
        states
    )
    assert cluster.colour() == live
    record = cluster.record(run_id)
    assert record["status"] == "RolledBack"
    # the bake's trigger put traffic back itself, before the diagnosis and the rollback task
    failing = next(c for c in record["checkpoints"]["bake"]["results"] if not c["passed"])
    assert failing["traffic_restored"]["done"] is True and failing["traffic_restored"]["to"] == live
    # every deployment of the new colour runs the regressing image: the cause is one of them
    assert record["root_cause"].startswith("acme-shop-") and record["root_cause"].endswith(f"-{OTHER[live]}")
    # the second release, triggered 1 s after the first, was refused at the lock, naming the first
    refused = api.wait_for_run(DAG_ID, second["dag_run_id"], timeout=120)
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


def test_approved_release_whose_task_is_killed_between_selector_patch_and_verification(
    api, cluster, emulator, fresh
):
    """A person approves through the REST API; the switch task is then SIGKILLed after it patched
    the selector and before it verified the endpoints. Its retry converges: one colour, verified,
    the record consistent, the lock free."""
    live = cluster.colour()
    version = not_live(cluster, live)
    run_id = api.trigger(DAG_ID, {**FAST, "version": version, "require_approval": True})["dag_run_id"]
    api.wait_for_task(DAG_ID, run_id, "approve", {"deferred", "running"}, timeout=300)
    wait_until(lambda: api.pending_approvals(DAG_ID, run_id), timeout=60, what="the approval request")
    # The verification's first read of the Service's endpoints hangs, so the kill lands in between.
    emulator.add_fault(
        "latency",
        path="/api/v1/namespaces/default/endpoints/acme-shop-svc",
        verb="GET",
        latency_ms=20000,
        times=1,
    )
    api.answer_approval(DAG_ID, run_id, "approve", "Approve")
    wait_until(lambda: cluster.colour() == OTHER[live], timeout=120, what="the selector patch")
    pid = wait_until(lambda: api.task_instances(DAG_ID, run_id)["switch_traffic"].get("pid"), timeout=30)
    os.kill(pid, signal.SIGKILL)
    final = api.wait_for_run(DAG_ID, run_id, timeout=300)
    switch = api.task_instances(DAG_ID, run_id)["switch_traffic"]
    assert final["state"] == "success", api.task_states(DAG_ID, run_id)
    assert switch["try_number"] == 2
    assert api.xcom(DAG_ID, run_id, "switch_traffic")["changed"] is False  # the retry did not patch again
    assert cluster.colour() == OTHER[live]
    record = cluster.record(run_id)
    assert record["status"] == "Active" and record["colour"] == OTHER[live]
    assert [r["status"] for r in cluster.history()].count("Active") == 1
    assert cluster.leases() == []


def test_a_rejected_approval_stops_the_release(api, cluster, fresh):
    live = cluster.colour()
    version = not_live(cluster, live)
    run_id = api.trigger(DAG_ID, {**FAST, "version": version, "require_approval": True})["dag_run_id"]
    wait_until(lambda: api.pending_approvals(DAG_ID, run_id), timeout=300, what="the approval request")
    api.answer_approval(DAG_ID, run_id, "approve", "Reject")
    final = api.wait_for_run(DAG_ID, run_id, timeout=120)
    states = api.task_states(DAG_ID, run_id)
    assert final["state"] == "failed" and states["approve"] == "failed", states
    assert states["abort_standby"] == "success"
    assert cluster.colour() == live and cluster.replicas()[f"acme-shop-nginx-{OTHER[live]}"] == 0
    assert cluster.record(run_id)["status"] == "Failed"
    assert cluster.leases() == []
