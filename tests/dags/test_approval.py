"""The approval before the switch (seed 002's confirm-promotion with a deadline): a person
rejects through Airflow's own REST API, or nobody answers before the deadline. Both stop the
release before the switch, with the standby scaled back to 0 and the lock released."""

from __future__ import annotations

import time

import pytest
from release_helpers import cluster_state, states, when

FAST = {
    "grace_seconds": 0,
    "rollout_timeout_seconds": 30,
    "watch_minutes": 0,
    "bake_minutes": 0,
    "run_migration": "no",
    "require_approval": True,
    "approval_timeout_minutes": 1,
}


@pytest.fixture(scope="module")
def api_client(airflow_db):
    """Airflow's REST API on the test's metadata DB (what the UI's Required Actions page calls).
    Every user is an admin for this module only: the setting is undone after it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        from airflow.api_fastapi.app import create_app
        from fastapi.testclient import TestClient

        yield TestClient(create_app("core"))


def awaiting(dag_id: str):
    """The approve task instance now waiting for a person, or None."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        return (
            session.query(TaskInstance)
            .filter(
                TaskInstance.dag_id == dag_id,
                TaskInstance.task_id == "approve",
                TaskInstance.state == "awaiting_input",
            )
            .first()
        )


def respond(api_client, dag_id: str, choice: str):
    run_id = awaiting(dag_id).run_id
    reply = api_client.patch(
        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails",
        json={"chosen_options": [choice], "params_input": {}},
    )
    assert reply.status_code == 200, reply.text


def expire(dag_id: str):
    """Move the deadline to the past and run the scheduler's sweep that resolves it."""
    from datetime import timedelta

    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils import timezone
    from airflow.utils.session import create_session

    waiting = awaiting(dag_id)
    with create_session() as session:
        session.get(TaskInstance, waiting.id).trigger_timeout = timezone.utcnow() - timedelta(seconds=1)
    SchedulerJobRunner(job=Job()).check_awaiting_input_timeouts()


def test_approval_rejected_stops_the_release(cluster_env, release_dag, api_client):
    acted = when(
        lambda: awaiting(release_dag.dag_id) is not None,
        lambda: respond(api_client, release_dag.dag_id, "Reject"),
    )
    run = release_dag.test(run_conf={"version": "v2", **FAST})
    acted.check()
    assert run.state == "failed"
    assert states(run)["approve"] == "failed" and states(run)["switch_traffic"] == "upstream_failed"
    after = cluster_state(cluster_env)
    assert (
        after["colour"] == "blue"
        and after["replicas"]["acme-shop-nginx-green"] == 0
        and after["leases"] == []
    )


def test_approval_expired_stops_the_release(cluster_env, release_dag):
    acted = when(
        lambda: awaiting(release_dag.dag_id) is not None,
        lambda: (time.sleep(1), expire(release_dag.dag_id)),
    )
    run = release_dag.test(run_conf={"version": "v2", **FAST})
    acted.check()
    assert run.state == "failed"
    assert states(run)["approve"] == "failed" and states(run)["switch_traffic"] == "upstream_failed"
    after = cluster_state(cluster_env)
    assert (
        after["colour"] == "blue"
        and after["replicas"]["acme-shop-nginx-green"] == 0
        and after["leases"] == []
    )


def test_approval_given_switches(cluster_env, release_dag, api_client):
    acted = when(
        lambda: awaiting(release_dag.dag_id) is not None,
        lambda: respond(api_client, release_dag.dag_id, "Approve"),
    )
    run = release_dag.test(run_conf={"version": "v2", **FAST})
    acted.check()
    assert run.state == "success", states(run)
    assert cluster_state(cluster_env)["colour"] == "green"
