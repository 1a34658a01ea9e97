"""The same stack with CeleryExecutor (redis-server, two Celery workers): the distributed set-up
users grow into. One healthy release through watch and bake, and no worker slot while it bakes."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest
from e2e_helpers import DAG_ID, FAST, STACK_SETTINGS, Cluster
from kubernetes import client, config


@pytest.fixture(scope="module")
def celery_stack(request):
    from switchyard.localenv.stack import Stack, free_port

    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (make test installs it as root: make redis)")
    state_dir = Path(tempfile.mkdtemp(prefix="switchyard-e2e-celery-"))
    try:
        with Stack(
            state_dir=state_dir,
            executor="celery",
            time_scale=60.0,
            quiet=True,
            api_port=free_port(),
            settings=STACK_SETTINGS,
        ) as running:
            api = running.api()
            api.wait_for_dag(DAG_ID)
            api.request("PATCH", "/dags/drift_check", {"is_paused": True})
            yield running
    finally:
        if request.session.testsfailed:
            print(f"stack state (logs, database) kept in {state_dir}")
        else:
            shutil.rmtree(state_dir, ignore_errors=True)


def test_a_healthy_release_on_celery_bakes_without_a_worker_slot(celery_stack):
    api = celery_stack.api()
    kube = client.CoreV1Api(config.new_client_from_config(str(celery_stack.kubeconfig_path)))
    cluster = Cluster(kube, client.AppsV1Api(kube.api_client))
    live = cluster.colour()
    run_id = api.trigger(DAG_ID, {**FAST, "version": "v2", "bake_minutes": 0.3}, note="e2e: celery")[
        "dag_run_id"
    ]
    api.wait_for_task(DAG_ID, run_id, "bake", {"deferred"}, timeout=400)
    slots = []
    while api.task_states(DAG_ID, run_id).get("bake") == "deferred" and len(slots) < 20:
        slots.append(api.occupied_slots())
        time.sleep(0.5)
    final = api.wait_for_run(DAG_ID, run_id, timeout=300)
    assert final["state"] == "success", api.task_states(DAG_ID, run_id)
    assert slots and set(slots) == {0}, slots
    assert cluster.colour() != live and cluster.record(run_id)["status"] == "Active"
    workers = {ti.get("hostname") for ti in api.task_instances(DAG_ID, run_id).values() if ti.get("hostname")}
    assert workers, "the task instances name the Celery worker that ran them"
