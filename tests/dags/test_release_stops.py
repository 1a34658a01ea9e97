"""Releases that stop before the switch, run whole with dag.test() against the emulator and moto:
the live colour must be left exactly as it was.

Each test starts from a freshly seeded cluster: blue live at v1 (2 replicas per serving tier),
green absent, the Service selecting blue. Times are compressed through the params.
"""

from __future__ import annotations

from release_helpers import cluster_state, history, states, xcom

FAST = {"grace_seconds": 0, "rollout_timeout_seconds": 30, "watch_minutes": 0, "bake_minutes": 0}


def assert_untouched_blue(env) -> dict:
    """What a release that stopped before the switch must leave: blue live and whole, green at 0."""
    after = cluster_state(env)
    assert after["colour"] == "blue"
    assert after["endpoint_pods"] and all("-nginx-blue-" in p for p in after["endpoint_pods"])
    assert after["replicas"]["acme-shop-nginx-blue"] == 2 and after["images"]["acme-shop-nginx-blue"] == "v1"
    assert after["replicas"].get("acme-shop-nginx-green", 0) == 0
    assert after["replicas"].get("acme-shop-php-fpm-green", 0) == 0
    assert after["leases"] == []
    return after


def test_crash_looping_standby_is_stopped_by_the_standby_gate(cluster_env, release_dag):
    run = release_dag.test(run_conf={"version": "v3-crashloop", **FAST, "rollout_timeout_seconds": 10})
    assert run.state == "failed"
    task_states = states(run)
    # the rollout timed out: deploy_standby is red, and the standby gate still ran to name why
    assert task_states["deploy_standby"] == "failed"
    assert xcom(run, "deploy_standby", "decision")["saw"].startswith("standby green not rolled out after 10s")
    assert task_states["standby_gate"] == "failed" and task_states["switch_traffic"] == "upstream_failed"
    assert task_states["migration_needed"] == "upstream_failed"
    verdict = xcom(run, "standby_gate", "verdict")
    assert verdict["outcome"] == "failing"
    assert verdict["root_cause"] in ("acme-shop-nginx-green", "acme-shop-php-fpm-green")
    assert verdict["root_state"] in ("crashed", "degraded")  # depends on how far the crash loop got
    assert_untouched_blue(cluster_env)
    [record] = history(cluster_env)
    assert record["status"] == "Failed" and record["failed_step"] == "deploy_standby"
    assert record["root_cause"] == verdict["root_cause"]  # the gate's diagnosis, not only "timed out"
    assert f"failed at deploy_standby; root cause: {verdict['root_cause']}" in xcom(run, "summary")["note"]


def test_image_missing_in_ecr_stops_before_deploying(cluster_env, release_dag):
    run = release_dag.test(run_conf={"version": "v9-missing", **FAST})
    assert run.state == "failed"
    assert states(run)["pre_checks.image_in_registry"] == "failed"
    assert states(run)["deploy_standby"] == "upstream_failed"
    after = assert_untouched_blue(cluster_env)
    assert "acme-shop-nginx-green" not in after["replicas"]  # nothing was created
    assert xcom(run, "abort_standby", "decision")["decided"].startswith(
        "nothing to scale down (green has no deployment)"  # not "scaled green to 0"
    )
    [record] = history(cluster_env)  # a refused attempt is recorded, with why
    assert record["status"] == "Failed" and record["failed_step"] == "pre_checks.image_in_registry"
    assert record["root_cause"].startswith("no image") and "v9-missing in ECR" in record["root_cause"]


def test_failed_migration_leaves_the_live_colour_untouched(cluster_env, release_dag):
    run = release_dag.test(run_conf={"version": "v7-migration-fails", **FAST, "run_migration": "yes"})
    assert run.state == "failed"
    assert states(run)["migrate"] == "failed" and states(run)["switch_traffic"] == "upstream_failed"
    assert_untouched_blue(cluster_env)
    [record] = history(cluster_env)
    assert record["status"] == "Failed" and record["failed_step"] == "migrate"
    assert record["root_cause"].startswith("migration job acme-shop-migrate-v7-migration-fails-")
    assert (
        "ERROR 1091 (42000)" in record["root_cause"] and "b'" not in record["root_cause"]
    )  # text, not bytes


def test_smoke_test_failure_stops_before_the_switch(cluster_env, release_dag, emulator_for):
    emulator_for(cluster_env).set_behaviour("v4-flaky", "http_5xx", rate=1.0)
    run = release_dag.test(run_conf={"version": "v4-flaky", **FAST, "run_migration": "no"})
    assert run.state == "failed"
    assert states(run)["standby_gate"] == "success"  # pods are ready: only requests show the fault
    assert states(run)["smoke_tests"] == "failed"
    assert_untouched_blue(cluster_env)


def test_forbidden_probes_on_the_live_path_fail_the_gate_as_unknown(cluster_env, release_dag, emulator_for):
    # a view-only role that cannot read the operator's namespace (the seed's lesson on ESO)
    emulator_for(cluster_env).add_fault(
        "forbidden", path="/apis/apps/v1/namespaces/external-secrets/deployments*", verb="GET"
    )
    run = release_dag.test(run_conf={"version": "v2", **FAST})
    assert run.state == "failed"
    verdict = xcom(run, "pre_checks.live_path_gate", "verdict")
    assert verdict["outcome"] == "unknown"  # never healthy
    assert any(
        item.startswith("external-secrets.") and "forbidden" in item for item in verdict["partial_visibility"]
    )
    assert "external-secrets" in verdict["unvouched"]
    assert states(run)["deploy_standby"] == "upstream_failed"
    emulator_for(cluster_env).clear_faults()
    assert_untouched_blue(cluster_env)


def test_a_second_release_fails_fast_while_one_is_in_progress(cluster_env, release_dag):
    from kubernetes import client
    from release_helpers import api

    from switchyard.release.lock import ReleaseLock

    lock = ReleaseLock(client.CoordinationV1Api(api(cluster_env)), "acme-shop", "default")
    # held by a run this Airflow cannot be asked about (another Airflow, a script): its unexpired
    # lease decides (a run Airflow knows to be over would be taken over at once)
    lock.acquire("manual__other-run", "", "v5-slow", 3600)
    run = release_dag.test(run_conf={"version": "v2", **FAST})
    assert run.state == "failed"
    assert states(run)["lock"] == "failed" and states(run)["plan"] == "upstream_failed"
    decision = xcom(run, "lock", "decision")
    assert decision["saw"].startswith("release v5-slow of acme-shop is in progress")
    after = cluster_state(cluster_env)
    assert after["colour"] == "blue" and after["leases"] == [
        "switchyard-release-acme-shop"
    ]  # not ours to free
    assert lock.holder().run_id == "manual__other-run"


def test_first_deployment_stops_with_what_to_do(cluster_env, release_dag):
    from kubernetes import client
    from release_helpers import api

    a = api(cluster_env)
    apps, core = client.AppsV1Api(a), client.CoreV1Api(a)
    for name in ("acme-shop-nginx-blue", "acme-shop-php-fpm-blue", "acme-shop-consumer-blue"):
        apps.delete_namespaced_deployment(name, "default")
    core.patch_namespaced_service(
        "acme-shop-svc", "default", [{"op": "remove", "path": "/spec/selector/color"}]
    )
    run = release_dag.test(run_conf={"version": "v2", **FAST})
    assert run.state == "failed" and states(run)["plan"] == "failed"
    assert xcom(run, "plan", "decision")["decided"] == "stop: first deployment"
    after = cluster_state(cluster_env)
    assert (
        after["colour"] is None and "acme-shop-nginx-green" not in after["replicas"] and after["leases"] == []
    )


def test_a_step_failing_by_an_exception_is_named_with_its_error_everywhere(
    cluster_env, release_dag, emulator_for, caplog
):
    # Reading the new php-fpm deployment answers 500: deploy_standby fails by an API error, not a gate.
    emulator_for(cluster_env).add_fault(
        "error", path="/apis/apps/v1/namespaces/default/deployments/acme-shop-php-fpm-green", verb="GET"
    )
    with caplog.at_level("INFO"):
        run = release_dag.test(run_conf={"version": "v2", **FAST, "run_migration": "no"})
    emulator_for(cluster_env).clear_faults()
    assert run.state == "failed"
    assert states(run)["deploy_standby"] == "failed" and states(run)["abort_standby"] == "success"
    assert states(run)["standby_gate"] == "skipped"  # an API error, not a rollout to diagnose
    assert xcom(run, "deploy_standby", "error")["error"].startswith("Kubernetes API answered HTTP 500")
    [record] = history(cluster_env)
    assert record["status"] == "Failed" and record["failed_step"] == "deploy_standby"
    assert "HTTP 500" in record["root_cause"]
    [notification] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("NOTIFY:")]
    assert (
        "FAILED before the switch at deploy_standby; traffic on blue — root cause: Kubernetes API answered HTTP 500"
        in notification
    )
    note = xcom(run, "summary")["note"]
    assert "not switched; traffic on blue" in note
    assert "failed at deploy_standby: Kubernetes API answered HTTP 500" in note
    assert_untouched_blue(cluster_env)
