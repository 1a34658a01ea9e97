"""A person's hand on the wheel while the release waits (Argo Rollouts' abort / promote --full):
the request goes into the release record, and the waiting trigger sees it at its next sample.
Abort during the bake rolls back with "aborted by <user>: <reason>" as the cause; promote skips
the remaining checkpoints and the release goes on to cleanup. Run whole with dag.test()."""

from __future__ import annotations

import json
import threading
import time

import pytest
from kubernetes import client, config

from switchyard.release.records import ReleaseHistory

RUN = {
    "version": "v2",
    "grace_seconds": 0,
    "rollout_timeout_seconds": 30,
    "run_migration": "no",
    "watch_minutes": 0,
    "watch_interval_seconds": 1,
    "bake_minutes": 1,  # checkpoints at +2.5 s, +7.5 s, +30 s, +60 s
}


def _api(env):
    return config.new_client_from_config(str(env.kubeconfig_path))


def _history(env) -> ReleaseHistory:
    return ReleaseHistory(client.CoreV1Api(_api(env)), "acme-shop", "default")


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def _xcom(run, task_id: str, key: str = "return_value"):
    ti = next(t for t in run.get_task_instances() if t.task_id == task_id)
    return ti.xcom_pull(task_ids=task_id, key=key)


def _step_in_during_the_bake(
    env, action: str, user: str, reason: str, kind: str = "bake"
) -> threading.Thread:
    """Once the bake (or ``kind``) has recorded its first checkpoint, ask for ``action`` as a person would."""
    done: dict = {}

    def act() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                records = _history(env).read()
                progress = (records[-1].checkpoints or {}).get(kind) if records else None
                if progress and progress.get("results"):
                    _history(env).request_intervention(records[-1].run_id, action, user, reason)
                    done["at_checkpoint"] = len(progress["results"])
                    return
            except Exception:  # the record is being written; look again
                pass
            time.sleep(0.2)

    thread = threading.Thread(target=act, daemon=True)
    thread.done = done  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_abort_during_the_bake_rolls_back_naming_who_and_why(cluster_env, release_dag):
    person = _step_in_during_the_bake(cluster_env, "abort", "alice", "checkout complaints from support")
    run = release_dag.test(run_conf=RUN)
    person.join(5)

    assert person.done.get("at_checkpoint"), "the abort was never requested"
    assert run.state == "failed"
    assert _states(run)["bake"] == "failed" and _states(run)["rollback"] == "success"
    bake = _xcom(run, "bake", "checkpoints")
    assert len(bake) < 4 and bake[-1]["problems"] == ["aborted by alice: checkout complaints from support"]
    selector = client.CoreV1Api(_api(cluster_env)).read_namespaced_service("acme-shop-svc", "default")
    assert selector.spec.selector["color"] == "blue"  # traffic back on the old colour
    [record] = _history(cluster_env).read()
    assert record.status == "RolledBack"
    assert record.root_cause == "aborted by alice: checkout complaints from support"
    assert record.intervention["user"] == "alice" and record.intervention["action"] == "abort"
    assert "aborted by alice" in _xcom(run, "summary")["note"]


def test_promote_during_the_bake_skips_the_remaining_checkpoints(cluster_env, release_dag):
    person = _step_in_during_the_bake(cluster_env, "promote", "bob", "the fix must go out now")
    run = release_dag.test(run_conf=RUN)
    person.join(5)

    assert person.done.get("at_checkpoint"), "the promote was never requested"
    assert run.state == "success", _states(run)
    bake = _xcom(run, "bake", "checkpoints")
    assert 1 <= len(bake) < 4 and all(c["passed"] for c in bake)
    decision = _xcom(run, "bake", "decision")
    assert decision["saw"].startswith("promoted by bob: the fix must go out now")
    assert "remaining checkpoint(s) skipped" in decision["decided"]
    deployments = client.AppsV1Api(_api(cluster_env)).list_namespaced_deployment("default").items
    assert {d.metadata.name: d.spec.replicas for d in deployments}["acme-shop-nginx-blue"] == 0  # cleaned up
    [record] = _history(cluster_env).read()
    assert record.status == "Active" and record.intervention["user"] == "bob"
    assert "promoted by bob" in _xcom(run, "summary")["note"]


def test_a_request_names_its_problems(cluster_env):
    history = _history(cluster_env)
    with pytest.raises(ValueError, match="no release record of run nope"):
        history.request_intervention("nope", "abort", "alice")
    with pytest.raises(ValueError, match="must be one of abort, promote"):
        history.request_intervention("nope", "pause", "alice")
    assert json.dumps(history.intervention("nope")) == "{}"


def test_abort_during_the_canary_stops_before_the_switch(cluster_env, release_dag):
    client.NetworkingV1Api(_api(cluster_env)).patch_namespaced_ingress(
        "acme-shop-ingress", "default", {"spec": {"ingressClassName": "nginx"}}
    )
    person = _step_in_during_the_bake(cluster_env, "abort", "carol", "wrong build", kind="canary")
    conf = RUN | {"bake_minutes": 0, "watch_interval_seconds": 10, "canary_percent": 5, "canary_minutes": 1}
    run = release_dag.test(run_conf=conf)
    person.join(5)

    assert person.done.get("at_checkpoint"), "the abort was never requested"
    assert run.state == "failed"
    assert _states(run)["canary"] == "failed" and _states(run)["switch_traffic"] == "upstream_failed"
    ingresses = client.NetworkingV1Api(_api(cluster_env)).list_namespaced_ingress("default").items
    assert [i.metadata.name for i in ingresses] == ["acme-shop-ingress"]  # the canary Ingress is gone
    [record] = _history(cluster_env).read()
    assert record.status == "Failed" and record.failed_step == "canary"
    assert record.root_cause == "aborted by carol: wrong build"
