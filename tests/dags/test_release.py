"""The release DAG, run whole with dag.test() against the Kubernetes emulator and moto.

Each test starts from a freshly seeded cluster: blue live at v1 (2 replicas per serving tier),
green absent, the Service selecting blue. Times are compressed through the params.
"""

from __future__ import annotations

import pytest
from release_helpers import cluster_state, history, states, watch_started, when, xcom

FAST = {"grace_seconds": 0, "rollout_timeout_seconds": 30, "watch_minutes": 0, "bake_minutes": 0}


def test_release_through_watch_bake_and_cleanup(cluster_env, release_dag):
    run = release_dag.test(
        run_conf={
            "version": "v2",
            **FAST,
            "watch_minutes": 0.05,
            "watch_interval_seconds": 1,
            "bake_minutes": 0.1,
        }
    )
    after = cluster_state(cluster_env)
    assert run.state == "success", states(run)
    assert after["colour"] == "green"
    assert after["endpoint_pods"] and all("-nginx-green-" in p for p in after["endpoint_pods"])
    assert after["images"]["acme-shop-nginx-green"] == "v2"
    assert after["replicas"]["acme-shop-nginx-blue"] == 0 and after["replicas"]["acme-shop-nginx-green"] == 2
    assert (
        after["replicas"]["acme-shop-consumer-green"] > 0
        and after["replicas"]["acme-shop-consumer-blue"] == 0
    )
    assert after["leases"] == []
    assert states(run)["migrate"] == "success"  # v2's image says it needs a migration
    records = history(cluster_env)
    assert [(r["version"], r["colour"], r["status"]) for r in records] == [("v2", "green", "Active")]
    assert records[0]["cleanup_after"] and records[0]["migration"] is True  # the record says a Job ran
    assert xcom(run, "summary")["note"].startswith("acme-shop v2: switched; traffic on green (was blue v1)")
    bake = xcom(run, "bake", "checkpoints")
    assert [c["passed"] for c in bake] == [True, True, True, True]
    assert bake[0]["label"].endswith("immediate stability: error rate < 0.1 %, no crash loops")
    [watch] = xcom(run, "watch", "checkpoints")  # 3 s: one gate; metrics sampled every second
    assert watch["passed"] and watch["gate"] == "healthy" and watch["metrics"]["error_ratio"] == 0


@pytest.mark.parametrize(
    ("conf", "fragment"),
    [
        ({"version": "not a tag!"}, "version"),
        ({"version": "v2\n"}, "version"),  # "$" alone matches before a trailing newline
        ({"version": "v2", "run_migration": "sometimes"}, "run_migration"),
        ({"version": "v2", "grace_seconds": -1}, "grace_seconds"),
        ({}, "version"),
    ],
)
def test_bad_params_fail_before_any_task_runs(release_dag, conf, fragment):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError) as failure:
        release_dag.test(run_conf=conf)
    assert fragment in str(failure.value)


def test_degradation_during_the_watch_rolls_back(cluster_env, release_dag, emulator_for):
    emulator = emulator_for(cluster_env)
    acted = when(
        watch_started(cluster_env, "watch"),
        lambda: emulator.set_behaviour("v2", "crash_loop"),
    )
    run = release_dag.test(
        run_conf={
            "version": "v2",
            **FAST,
            "run_migration": "no",
            "watch_minutes": 0.5,
            "watch_interval_seconds": 2,
        }
    )
    acted.check()
    assert run.state == "failed"
    assert states(run)["rollback"] == "success"
    after = cluster_state(cluster_env)
    assert after["colour"] == "blue" and all("-nginx-blue-" in p for p in after["endpoint_pods"])
    assert after["replicas"]["acme-shop-nginx-green"] == 0 and after["replicas"]["acme-shop-nginx-blue"] == 2
    rollback = xcom(run, "rollback")
    assert rollback["mode"] == "immediate" and rollback["root_cause"] in (
        "acme-shop-nginx-green",
        "acme-shop-php-fpm-green",
    )
    report = xcom(run, "rollback", "incident_report")
    assert "## Root cause" in report and rollback["root_cause"] in report and "## Timeline (UTC)" in report
    [record] = history(cluster_env)
    assert record["status"] == "RolledBack" and record["root_cause"] == rollback["root_cause"]
    assert after["leases"] == []
