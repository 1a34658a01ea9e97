"""The approval before the switch (seed 002's confirm-promotion with a deadline): nobody answers
before the deadline, which stops the release before the switch, with the standby scaled back to 0
and the lock released. A person's answer through Airflow's REST API, approve and reject, is tested
on the real runtime: tests/e2e/test_releases_on_the_stack.py."""

from __future__ import annotations

import time

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
