"""After the switch: shared-dependency failure, a breach that restores traffic first, resuming a
bake, rollback to a version from history, and the history itself. (A version that degrades during
the bake and is rolled back, and a switch killed before it verified, are end-to-end tests on the
real runtime: tests/e2e.)"""

from __future__ import annotations

import time

from kubernetes import client
from release_helpers import api, cluster_state, history, states, watch_started, when, xcom

FAST = {
    "grace_seconds": 0,
    "rollout_timeout_seconds": 30,
    "watch_minutes": 0,
    "bake_minutes": 0,
    "run_migration": "no",
}


def test_a_delayed_rollback_judges_the_rollout_it_started(cluster_env, release_dag, emulator_for):
    """Issue 11 item 9: the old colour went to 0 (by hand, an autoscaler) and its last rollout is
    older than progressDeadlineSeconds (600 s; this cluster runs 60x, so that is 10 real seconds).
    Scaling it back up is a scale-only change: not a stuck rollout, also while its pods take a
    while to become ready. The rollback scales blue up, waits for it, gates it (its Service still
    selects the failing green) and switches back."""
    emulator = emulator_for(cluster_env)
    apps = client.AppsV1Api(api(cluster_env))

    def blue_cold_and_green_failing() -> None:
        for name in ("acme-shop-nginx-blue", "acme-shop-php-fpm-blue"):
            apps.patch_namespaced_deployment_scale(name, "default", {"spec": {"replicas": 0}})
        emulator.set_behaviour("v1", "healthy", ready_seconds=300)  # 5 real seconds to become ready
        emulator.set_behaviour("v2", "crash_loop")

    acted = when(watch_started(cluster_env, "bake", checkpoints_done=1), blue_cold_and_green_failing)
    run = release_dag.test(
        run_conf={**FAST, "version": "v2", "bake_minutes": 0.4, "watch_interval_seconds": 1}
    )
    acted.check()
    assert run.state == "failed"
    assert states(run)["bake"] == "failed" and states(run)["rollback"] == "success"
    rollback = xcom(run, "rollback")
    assert rollback["mode"] == "delayed" and rollback["to"] == "blue"
    after = cluster_state(cluster_env)
    assert after["colour"] == "blue" and after["endpoint_pods"]
    assert after["replicas"]["acme-shop-nginx-blue"] == 2 and after["replicas"]["acme-shop-nginx-green"] == 0
    blue = apps.read_namespaced_deployment_status("acme-shop-nginx-blue", "default")
    progressing = {c.type: c for c in blue.status.conditions}["Progressing"]
    assert progressing.reason == "NewReplicaSetAvailable"  # as on Kubernetes: scaling is not a new rollout
    [record] = history(cluster_env)
    assert record["status"] == "RolledBack"


def test_rds_down_during_the_bake_names_rds_and_does_not_roll_back(cluster_env, release_dag, local_env):
    """Decision: a shared dependency failing (rds serves both colours) is not rolled back — going
    back to blue cannot help; traffic stays on green, blue stays warm, and the run fails and pages."""
    rds = local_env.aws.client("rds")
    acted = when(
        watch_started(cluster_env, "bake"),  # after the post-switch gate passed: the bake sees it
        lambda: rds.stop_db_instance(DBInstanceIdentifier="acme-shop-stage-rds"),
    )
    try:
        run = release_dag.test(
            run_conf={**FAST, "version": "v2", "bake_minutes": 0.4, "watch_interval_seconds": 1}
        )
    finally:
        rds.start_db_instance(DBInstanceIdentifier="acme-shop-stage-rds")
    acted.check()
    assert run.state == "failed"
    assert states(run)["rollback"] == "failed"  # refused, on purpose
    failed = next(c for c in xcom(run, "bake", "checkpoints") if not c["passed"])
    assert failed["root_cause"] == "rds"
    after = cluster_state(cluster_env)
    assert after["colour"] == "green"  # not rolled back
    assert after["replicas"]["acme-shop-nginx-blue"] == 2  # the old colour stays warm
    [record] = history(cluster_env)
    assert record["status"] == "Active" and record["root_cause"].startswith("rds (shared")
    assert after["leases"] == []
    note = xcom(run, "summary")["note"]  # never "switched … gates healthy"
    assert note.startswith("acme-shop v2: switched, then failed at bake; NOT rolled back; traffic on green")


def test_a_breach_restores_traffic_first_and_a_shared_cause_found_after_keeps_it_there(
    cluster_env, release_dag, local_env, emulator_for
):
    """Decision: at a metrics breach the bake puts traffic back on blue before it diagnoses. When the
    diagnosis then names a shared dependency, traffic stays on blue (the colour verified before the
    switch; flapping back cannot help) and green stays warm for a person to decide."""
    emulator = emulator_for(cluster_env)
    rds = local_env.aws.client("rds")

    def break_green_and_rds() -> None:
        rds.stop_db_instance(DBInstanceIdentifier="acme-shop-stage-rds")
        emulator.set_behaviour("v2", "http_5xx", rate=1.0)

    # after the second checkpoint: the third is 11 s away (a 30 s bake), time enough for the breach to
    # be scraped and sampled first. After the first, the second (2.5 s later) was already due on a
    # loaded machine, and its gate found RDS stopped before any 5xx had been scraped.
    acted = when(watch_started(cluster_env, "bake", checkpoints_done=2), break_green_and_rds)
    try:
        run = release_dag.test(
            run_conf={**FAST, "version": "v2", "bake_minutes": 0.5, "watch_interval_seconds": 1}
        )
    finally:
        rds.start_db_instance(DBInstanceIdentifier="acme-shop-stage-rds")
        emulator.clear_behaviour("v2")
    acted.check()
    assert run.state == "failed"
    assert states(run)["rollback"] == "success"
    failed = next(c for c in xcom(run, "bake", "checkpoints") if not c["passed"])
    assert failed["problems"][-1].startswith("metrics: error ratio")
    assert failed["traffic_restored"]["done"] is True and failed["root_cause"] == "rds"
    after = cluster_state(cluster_env)
    assert after["colour"] == "blue"
    assert after["replicas"]["acme-shop-nginx-green"] == 2  # kept warm
    [record] = history(cluster_env)
    assert record["status"] == "RolledBack"
    assert record["root_cause"].startswith("rds") and "shared: blue depends on it too" in record["root_cause"]


def test_rollback_to_a_version_from_history(cluster_env, release_dag, rollback_dag):
    first = release_dag.test(run_conf={**FAST, "version": "v2"})
    assert first.state == "success", states(first)
    assert cluster_state(cluster_env)["images"]["acme-shop-nginx-green"] == "v2"
    refused = rollback_dag.test(run_conf={"version": "v0-never", "grace_seconds": 0, "watch_minutes": 0})
    assert refused.state == "failed" and states(refused)["version_in_history"] == "failed"
    # v1 was live before (seeded): record it so the history knows it
    from switchyard.release.records import ReleaseHistory

    history_api = ReleaseHistory(client.CoreV1Api(api(cluster_env)), "acme-shop", "default")
    # what v1 served, per the record: php-fpm ran a hotfix build under the v1 release
    apps = client.AppsV1Api(api(cluster_env))
    served = {
        name: apps.read_namespaced_deployment(name, "default").spec.template.spec.containers[0].image
        for name in ("acme-shop-nginx-blue", "acme-shop-php-fpm-blue", "acme-shop-consumer-blue")
    }
    served["acme-shop-php-fpm-blue"] = served["acme-shop-php-fpm-blue"].rsplit(":", 1)[0] + ":v1-hotfix"
    history_api.update(
        lambda rs: [type(rs[0])(0, "v1", "blue", "Superseded", "seeded", images=dict(served)), *rs]
    )
    back = rollback_dag.test(
        run_conf={
            "version": "v1",
            "grace_seconds": 0,
            "watch_minutes": 0,
            "rollout_timeout_seconds": 30,
            "reason": "v2 slow checkout",
        }
    )
    assert back.state == "success", states(back)
    after = cluster_state(cluster_env)
    assert after["colour"] == "blue" and after["images"]["acme-shop-nginx-blue"] == "v1"
    assert after["images"]["acme-shop-php-fpm-blue"] == "v1-hotfix"  # all images of the record, not a re-tag
    assert history(cluster_env)[-1]["reason"] == "v2 slow checkout"
    assert xcom(back, "summary")["note"].endswith("; reason: v2 slow checkout")
    assert after["replicas"]["acme-shop-nginx-green"] == 0
    statuses = [(r["version"], r["status"]) for r in history(cluster_env)]
    assert statuses[-1] == ("v1", "Active") and ("v2", "Superseded") in statuses


def test_history_keeps_ten_and_one_active(cluster_env):
    from switchyard.release.records import ReleaseHistory

    records = ReleaseHistory(client.CoreV1Api(api(cluster_env)), "acme-shop", "default")
    for n in range(1, 13):
        records.begin(f"run-{n}", "release_acme_shop", f"v{n}", "green" if n % 2 else "blue", f"v{n - 1}")
        records.finish(f"run-{n}", "Failed" if n == 7 else "Active")
    records.finish("run-12", "RolledBack")
    kept = records.read()
    assert [r.number for r in kept] == list(range(3, 13))
    # run-12 superseded run-11, then rolled back: until the rollback restores it, nothing is Active
    assert [r.status for r in kept] == ["Superseded"] * 4 + ["Failed"] + ["Superseded"] * 4 + ["RolledBack"]
    assert records.active() is None
    records.mark(11, status="Active")  # what the rollback operator does for the release it restores
    assert records.active().version == "v11"
    again = records.begin(
        "run-12", "release_acme_shop", "v12", "blue", "v11"
    )  # a re-run is not a new release
    assert again.number == 12 and len(records.read()) == 10


def test_a_resumed_bake_continues_at_the_checkpoint_it_reached(cluster_env):
    """A worker or triggerer restart: the checkpoints passed are in the release record and the
    clock is absolute; the trigger goes on at the next checkpoint, not the first."""
    import asyncio

    from airflow.sdk.module_loading import import_string

    from switchyard.airflow.triggers import ReleaseWatchTrigger
    from switchyard.release.checkpoints import checkpoints
    from switchyard.release.records import ReleaseHistory

    history = ReleaseHistory(client.CoreV1Api(api(cluster_env)), "acme-shop", "default")
    history.begin("run-1", "release_acme_shop", "v1", "blue", previous_version="v0")
    started = time.time() - 100
    history.start_checkpoints("run-1", "bake", started)
    cps = checkpoints("bake", 0.2, 1)  # 12 s: checkpoints at +0.5 s, +1.5 s, +6 s, +12 s
    for index in (0, 1):
        history.add_checkpoint(
            "run-1", "bake", {"checkpoint": index + 1, "label": cps[index][1], "passed": True}
        )
    trigger = ReleaseWatchTrigger(
        kind="bake",
        model_path="include/models/acme-shop.model.yaml",
        colour="blue",
        dag_id="release_acme_shop",
        run_id="run-1",
        started_at=started,
        checkpoints=[list(c) for c in cps],
        sample_seconds=1,
    )
    path, kwargs = trigger.serialize()  # what the triggerer stores and rebuilds after a restart
    rebuilt = import_string(path)(**kwargs)

    async def first_event():
        generator = rebuilt.run()
        event = await generator.__anext__()
        await generator.aclose()
        return event.payload

    event = asyncio.run(first_event())
    assert event["status"] == "passed"
    assert [r["checkpoint"] for r in event["results"]] == [1, 2, 3, 4]
    recorded = history.checkpoint_progress("run-1", "bake")
    assert recorded["started_at"] == started and [r["checkpoint"] for r in recorded["results"]] == [
        1,
        2,
        3,
        4,
    ]
    assert all(r["passed"] for r in recorded["results"][2:]) and recorded["results"][2]["gate"] == "healthy"
