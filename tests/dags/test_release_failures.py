"""Every way a release can fail ends in a clean, recorded, explained state (issue 11): faults
injected into the emulator during whole releases run with dag.test().

Each test starts from a freshly seeded cluster: blue live at v1, green absent, the Service
selecting blue.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from release_helpers import cluster_state, history, states, task_state, when, xcom

FAST = {
    "grace_seconds": 0,
    "rollout_timeout_seconds": 30,
    "watch_minutes": 0,
    "bake_minutes": 0,
    "run_migration": "no",
}
MODEL = Path(__file__).resolve().parents[2] / "include" / "models" / "acme-shop.model.yaml"
PODS = "/api/v1/namespaces/default/pods"
SERVICE = "/api/v1/namespaces/default/services/acme-shop-svc"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases/*"


def notifications(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("NOTIFY:")]


def ended_since(dag_id: str, task_id: str, since):
    """True once ``task_id`` of a run started after ``since`` succeeded (not an earlier test's run)."""

    def check() -> bool:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session

        with create_session() as session:
            return (
                session.query(TaskInstance)
                .filter(
                    TaskInstance.dag_id == dag_id,
                    TaskInstance.task_id == task_id,
                    TaskInstance.start_date >= since,
                    TaskInstance.state == "success",
                )
                .first()
                is not None
            )

    return check


def test_a_switch_that_fails_before_it_patches_scales_the_standby_down_and_records_why(
    cluster_env, release_dag, emulator_for, caplog
):
    emulator = emulator_for(cluster_env)
    # Listing pods answers 500 from the smoke tests on: the switch cannot count the green pods,
    # so it fails before it patches the selector (both tries).
    thread = when(
        ended_since(release_dag.dag_id, "smoke_tests", dt.datetime.now(dt.UTC)),
        lambda: emulator.add_fault("error", path=PODS, verb="GET"),
        timeout=180,
    )
    with caplog.at_level("INFO"):
        run = release_dag.test(run_conf={"version": "v2", **FAST})
    emulator.clear_faults()
    thread.check()
    assert run.state == "failed"
    task_states = states(run)
    assert task_states["switch_traffic"] == "failed" and task_states["rollback"] == "skipped"
    assert task_states["abort_standby"] == "success"
    after = cluster_state(cluster_env)
    assert after["colour"] == "blue" and after["replicas"]["acme-shop-nginx-green"] == 0
    assert after["replicas"]["acme-shop-php-fpm-green"] == 0 and after["leases"] == []
    [record] = history(cluster_env)
    assert record["status"] == "Failed" and record["failed_step"] == "switch_traffic"
    assert "HTTP 500" in record["root_cause"]
    assert any(
        "FAILED before the switch at switch_traffic; traffic on blue" in n for n in notifications(caplog)
    )


def test_a_forbidden_service_read_does_not_crash_the_abort(cluster_env, release_dag, emulator_for, caplog):
    emulator = emulator_for(cluster_env)
    # deploy_standby fails by an API error; before its retry the Service becomes unreadable (403).
    emulator.add_fault(
        "error", path="/apis/apps/v1/namespaces/default/deployments/acme-shop-php-fpm-green", verb="GET"
    )
    thread = when(
        task_state(release_dag.dag_id, "deploy_standby", "up_for_retry"),
        lambda: emulator.add_fault("forbidden", path=SERVICE, verb="GET"),
        timeout=180,
    )
    with caplog.at_level("INFO"):
        run = release_dag.test(run_conf={"version": "v2", **FAST})
    emulator.clear_faults()
    thread.check()
    assert run.state == "failed" and states(run)["deploy_standby"] == "failed"
    abort = next(ti for ti in run.get_task_instances() if ti.task_id == "abort_standby")
    assert abort.state == "failed" and abort.try_number == 1  # said once, not five raw tracebacks
    result = xcom(run, "abort_standby")
    assert result["failed_step"] == "deploy_standby" and result["scaled"]  # green scaled down anyway
    assert any("could not read service default/acme-shop-svc" in p and "403" in p for p in result["problems"])
    [record] = history(cluster_env)
    assert record["status"] == "Failed" and record["failed_step"] == "deploy_standby"
    assert "403" in record["root_cause"]
    [line] = [n for n in notifications(caplog) if "FAILED before the switch" in n]
    assert "at deploy_standby; traffic: unknown (service default/acme-shop-svc unreadable)" in line
    after = cluster_state(cluster_env)
    assert after["replicas"]["acme-shop-php-fpm-green"] == 0 and after["leases"] == []


def test_a_release_refused_at_the_lock_is_recorded_and_summarised(cluster_env, release_dag):
    from kubernetes import client
    from release_helpers import api

    from switchyard.release.lock import ReleaseLock

    lock = ReleaseLock(client.CoordinationV1Api(api(cluster_env)), "acme-shop", "default")
    # held by a run this Airflow cannot be asked about (another Airflow, a script): its unexpired
    # lease decides (a run Airflow knows to be over would be taken over at once)
    lock.acquire("manual__other-run", "", "v5-slow", 3600)
    run = release_dag.test(run_conf={"version": "v10", **FAST})
    assert run.state == "failed" and states(run)["lock"] == "failed"
    [record] = history(cluster_env)
    assert (record["version"], record["status"], record["failed_step"]) == ("v10", "Failed", "lock")
    assert "release v5-slow of acme-shop is in progress" in record["root_cause"]
    note = xcom(run, "summary")["note"]
    assert note.startswith("acme-shop v10: not switched; traffic on blue;")
    assert "failed at lock: release v5-slow of acme-shop is in progress" in note
    assert lock.holder().run_id == "manual__other-run"


def test_a_lock_that_cannot_be_given_back_fails_the_run(cluster_env, release_dag, emulator_for):
    emulator_for(cluster_env).add_fault("error", path=LEASES, verb="DELETE")
    run = release_dag.test(run_conf={"version": "v2", **FAST})
    emulator_for(cluster_env).clear_faults()
    task_states = states(run)
    assert task_states["cleanup_old_colour"] == "success" and task_states["unlock"] == "failed"
    assert run.state == "failed"
    assert cluster_state(cluster_env)["leases"] == ["switchyard-release-acme-shop"]


def test_the_version_reaches_every_task_byte_for_byte(cluster_env, release_dag):
    # "1.10" is not in ECR: the release stops at the pre-check, after lock and plan saw the tag
    run = release_dag.test(run_conf={"version": "1.10", **FAST})
    assert run.state == "failed" and states(run)["pre_checks.image_in_registry"] == "failed"
    assert xcom(run, "plan")["version"] == "1.10"  # native rendering made it 1.1
    assert "1.10" in xcom(run, "pre_checks.image_in_registry", "decision")["saw"]
    [record] = history(cluster_env)
    assert record["version"] == "1.10"


def test_a_cleared_run_that_had_switched_before_it_crashed_resumes_and_finishes(cluster_env, release_dag):
    """What clearing the whole run does after a crash between the selector patch and its
    verification: the plan recognises its own unfinished release and the run converges."""
    from kubernetes import client
    from release_helpers import api

    from switchyard.engine.model import load_model
    from switchyard.release.records import ReleaseHistory
    from switchyard.release.spec import release_spec
    from switchyard.release.workloads import Workloads

    run_after = dt.datetime.now(dt.UTC).replace(microsecond=0)
    run_id = f"manual__{run_after.isoformat()}"
    a = api(cluster_env)
    spec = release_spec(load_model(MODEL))
    workloads = Workloads(a, spec.layout)
    # the crashed run: green deployed at v2, the selector patched, the record still InProgress
    ReleaseHistory(client.CoreV1Api(a), "acme-shop", "default").begin(
        run_id, release_dag.dag_id, "v2", "green", "v1"
    )
    for body in workloads.render_standby("blue", "v2", run_id):
        workloads.apply(body)
    assert workloads.wait_ready(spec.layout.serving("green"), timeout=60) == {}
    client.CoreV1Api(a).patch_namespaced_service(
        "acme-shop-svc", "default", {"spec": {"selector": {"color": "green"}}}
    )

    run = release_dag.test(run_after=run_after, run_conf={"version": "v2", **FAST})
    assert run.run_id == run_id
    assert run.state == "success", states(run)
    assert xcom(run, "plan")["live"] == "blue" and xcom(run, "plan")["standby"] == "green"
    assert xcom(run, "switch_traffic")["changed"] is False  # verified, not patched again
    [record] = history(cluster_env)
    assert (record["version"], record["status"]) == ("v2", "Active")
    after = cluster_state(cluster_env)
    assert after["colour"] == "green" and after["replicas"]["acme-shop-nginx-blue"] == 0
    assert after["leases"] == []


def test_intermittent_server_errors_on_idempotent_calls_are_retried_not_fatal(
    cluster_env, release_dag, emulator_for
):
    emulator = emulator_for(cluster_env)
    # reading the new php-fpm deployment answers 500 twice: a blip, not a failure
    emulator.add_fault(
        "error",
        path="/apis/apps/v1/namespaces/default/deployments/acme-shop-php-fpm-green",
        verb="GET",
        times=2,
    )
    run = release_dag.test(run_conf={"version": "v2", **FAST})
    assert emulator.faults() == []  # both 500s were answered (the rule is used up)
    assert run.state == "success", states(run)
    deploy = next(ti for ti in run.get_task_instances() if ti.task_id == "deploy_standby")
    assert deploy.try_number == 1  # retried per request, not by failing the step


def test_a_later_run_makes_its_own_migration_job(cluster_env, release_dag, emulator_for):
    from switchyard.airflow.operators.release import migration_job_name

    first = migration_job_name("acme-shop", "v7-migration-fails", "manual__2026-03-01T10:00:00+00:00")
    again = migration_job_name("acme-shop", "v7-migration-fails", "manual__2026-03-01T10:00:00+00:00")
    later = migration_job_name("acme-shop", "v7-migration-fails", "manual__2026-03-01T11:00:00+00:00")
    assert first == again != later and len(later) <= 63
    failed = release_dag.test(run_conf={"version": "v7-migration-fails", **FAST, "run_migration": "yes"})
    assert states(failed)["migrate"] == "failed"
    # the migration is fixed under the same tag; the next run must migrate, not inherit the failed Job
    emulator_for(cluster_env).set_behaviour("v7-migration-fails", "healthy")
    fixed = release_dag.test(run_conf={"version": "v7-migration-fails", **FAST, "run_migration": "yes"})
    assert states(fixed)["migrate"] == "success", states(fixed)
    assert fixed.state == "success"
    assert xcom(fixed, "migrate")["job"] != xcom(failed, "migrate", "decision")["saw"].split()[2]


def test_a_lock_left_by_a_run_airflow_knows_is_over_is_taken_over(cluster_env, release_dag):
    from kubernetes import client
    from release_helpers import api

    from switchyard.release.lock import ReleaseLock

    lock = ReleaseLock(client.CoordinationV1Api(api(cluster_env)), "acme-shop", "default")
    lock.acquire("manual__crashed-run", "release_acme_shop", "v5-slow", 6 * 3600)  # no such run in Airflow
    run = release_dag.test(run_conf={"version": "v2", **FAST})
    assert states(run)["lock"] == "success"
    assert xcom(run, "lock") == "took over the lock of run manual__crashed-run (its run is over)"
    assert run.state == "success", states(run)
    assert cluster_state(cluster_env)["leases"] == []
