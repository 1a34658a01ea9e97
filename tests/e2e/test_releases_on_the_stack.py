"""Releases of acme-shop on the real runtime (scheduler, triggerer, dag-processor, api-server,
PostgreSQL), triggered and observed through the REST API only.

The healthy path, a triggerer restart, a task killed mid-switch and the approval. The failure paths
are in test_failures_on_the_stack.py, another file so that xdist runs it on another worker with its
own stack. The tests of a file share one cluster and run in file order; each reads the live colour
first and expects the other one, so none depends on what an earlier one left."""

from __future__ import annotations

import os
import signal
import time

from e2e_helpers import DAG_ID, FAST, OTHER, bake_started, not_live, wait_until


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
    wait_until(bake_started(cluster, run_id, 1), timeout=180, what="bake checkpoint 1")
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


def test_approved_release_whose_task_is_killed_between_selector_patch_and_verification(
    api, cluster, emulator, fresh
):
    """A person approves through the REST API; the switch task is then SIGKILLed after it patched
    the selector and before it verified the endpoints. Its retry converges: one colour, verified,
    the record consistent, the lock free."""
    live = cluster.colour()
    version = not_live(cluster, live)
    run_id = api.trigger(DAG_ID, {**FAST, "version": version, "require_approval": True})["dag_run_id"]
    api.wait_for_task(DAG_ID, run_id, "approve", {"deferred", "running", "awaiting_input"}, timeout=300)
    wait_until(
        lambda: api.pending_approvals(DAG_ID, run_id), timeout=180, poll=1, what="the approval request"
    )
    # The verification's first read of the Service's endpoints hangs, so the kill lands in between.
    emulator.add_fault(
        "latency",
        path="/api/v1/namespaces/default/endpoints/acme-shop-svc",
        verb="GET",
        latency_ms=20000,
        times=1,
    )
    # As a person would, not within the ~5 s in which Airflow 3.3 kills a task resumed that fast
    # (apache/airflow#71579; README, "The release DAG").
    time.sleep(8)
    api.answer_approval(DAG_ID, run_id, "approve", "Approve")
    wait_until(lambda: cluster.colour() == OTHER[live], timeout=300, what="the selector patch")
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
    wait_until(
        lambda: api.pending_approvals(DAG_ID, run_id), timeout=300, poll=1, what="the approval request"
    )
    time.sleep(8)  # as a person would (see the approval above)
    api.answer_approval(DAG_ID, run_id, "approve", "Reject")
    final = api.wait_for_run(DAG_ID, run_id, timeout=300)
    states = api.task_states(DAG_ID, run_id)
    assert final["state"] == "failed" and states["approve"] == "failed", states
    assert states["switch_traffic"] in ("upstream_failed", None) and states["abort_standby"] == "success"
    assert cluster.colour() == live and cluster.replicas()[f"acme-shop-nginx-{OTHER[live]}"] == 0
    assert cluster.record(run_id)["status"] == "Failed"
    assert cluster.leases() == []
