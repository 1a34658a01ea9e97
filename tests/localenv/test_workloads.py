"""Simulated workloads: convergence over compressed time, the behaviour table, jobs, endpoints."""

from __future__ import annotations

import time

from .manifests import deployment


def _pods(kube, namespace, selector="app=web"):
    return sorted(
        kube.core.list_namespaced_pod(namespace, label_selector=selector).items, key=lambda p: p.metadata.name
    )


def _log(kube, pod, namespace, **kwargs) -> str:
    # Raw read: client 36 turns a text body into "b'...'" when it deserializes it (as on a real cluster).
    return kube.core.read_namespaced_pod_log(pod, namespace, _preload_content=False, **kwargs).data.decode()


def _conditions(obj):
    return {c.type: c for c in obj.status.conditions or []}


def test_a_deployment_converges_to_ready_over_simulated_time(kube, namespace, emulator):
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:converge"))
    emulator.advance(0.5)
    pods = _pods(kube, namespace)
    assert len(pods) == 2 and all(p.status.phase == "Pending" for p in pods)
    assert {p.status.container_statuses[0].state.waiting.reason for p in pods} == {"ContainerCreating"}
    status = kube.apps.read_namespaced_deployment_status("web", namespace).status
    assert status.ready_replicas is None and status.unavailable_replicas == 2  # zero counts are omitted
    assert (
        _conditions(kube.apps.read_namespaced_deployment_status("web", namespace))["Available"].status
        == "False"
    )

    emulator.advance(3.5)  # startup 1 s + readiness 2 s (the default behaviour)
    dep = kube.apps.read_namespaced_deployment_status("web", namespace)
    assert (dep.status.ready_replicas, dep.status.available_replicas, dep.status.updated_replicas) == (
        2,
        2,
        2,
    )
    assert dep.status.unavailable_replicas is None and dep.status.observed_generation == 1
    conditions = _conditions(dep)
    assert conditions["Available"].status == "True"
    assert conditions["Progressing"].reason == "NewReplicaSetAvailable"
    pod = _pods(kube, namespace)[0]
    assert pod.status.phase == "Running" and pod.status.container_statuses[0].ready
    assert pod.metadata.labels["app"] == "web" and "pod-template-hash" in pod.metadata.labels
    assert pod.status.pod_ip.startswith("10.244.")


def test_compressed_clock_converges_without_jumps(kube, namespace, emulator):
    emulator.set_time_scale(100)  # 100 simulated seconds per real second
    try:
        kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:fast"))
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            if kube.apps.read_namespaced_deployment_status("web", namespace).status.ready_replicas == 2:
                break
            time.sleep(0.02)
        assert kube.apps.read_namespaced_deployment_status("web", namespace).status.ready_replicas == 2
    finally:
        emulator.set_time_scale(1)


def test_crash_loop_restart_count_climbs_with_crash_loop_back_off(kube, namespace, emulator):
    emulator.set_behaviour("shop:crash", "crash_loop", restart_interval=10)
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:crash"))
    emulator.advance(1 + 15)  # startup, then 1.5 restart intervals
    first = _pods(kube, namespace)
    assert [p.status.container_statuses[0].restart_count for p in first] == [1, 1]
    state = first[0].status.container_statuses[0]
    assert state.state.waiting.reason == "CrashLoopBackOff" and not state.ready
    assert state.last_state.terminated.exit_code == 1

    emulator.advance(30)
    later = _pods(kube, namespace)
    assert [p.status.container_statuses[0].restart_count for p in later] == [4, 4]
    dep = kube.apps.read_namespaced_deployment_status("web", namespace)
    assert dep.status.ready_replicas is None and _conditions(dep)["Available"].status == "False"
    reasons = {e.reason for e in kube.core.list_namespaced_event(namespace).items}
    assert "BackOff" in reasons
    assert "FATAL" in _log(kube, later[0].metadata.name, namespace)


def test_never_ready_is_a_mount_failure_with_no_restarts(kube, namespace, emulator):
    emulator.set_behaviour("shop:mount", "never_ready")
    body = deployment("web", "shop:mount")
    body["spec"]["progressDeadlineSeconds"] = 30
    kube.apps.create_namespaced_deployment(namespace, body)
    emulator.advance(20)
    pods = _pods(kube, namespace)
    assert all(p.status.phase == "Pending" for p in pods)
    assert [p.status.container_statuses[0].restart_count for p in pods] == [0, 0]
    assert {p.status.container_statuses[0].state.waiting.reason for p in pods} == {"ContainerCreating"}
    assert (
        _conditions(kube.apps.read_namespaced_deployment_status("web", namespace))["Progressing"].status
        == "True"
    )
    assert any(e.reason == "FailedMount" for e in kube.core.list_namespaced_event(namespace).items)

    emulator.advance(15)  # past progressDeadlineSeconds
    progressing = _conditions(kube.apps.read_namespaced_deployment_status("web", namespace))["Progressing"]
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")


def test_image_pull_failure(kube, namespace, emulator):
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "registry.local/shop:v9-missing"))
    emulator.advance(8)  # the demo table says v9-missing cannot be pulled
    pods = _pods(kube, namespace)
    waiting = {p.status.container_statuses[0].state.waiting.reason for p in pods}
    assert waiting == {"ImagePullBackOff"}
    assert all(
        p.status.phase == "Pending" and p.status.container_statuses[0].restart_count == 0 for p in pods
    )
    messages = [e.message for e in kube.core.list_namespaced_event(namespace).items]
    assert any("registry.local/shop:v9-missing" in m for m in messages)


def test_a_stuck_rollout_keeps_the_old_pods_and_a_live_fix_completes_it(kube, namespace, emulator):
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:good"))
    emulator.advance(4)
    emulator.set_behaviour("shop:bad", "crash_loop")
    kube.apps.patch_namespaced_deployment(
        "web",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop:bad"}]}}}},
    )
    emulator.advance(5)
    dep = kube.apps.read_namespaced_deployment_status("web", namespace)
    # maxSurge 25 % of 2 rounds up to 1, maxUnavailable rounds down to 0: one new pod, both old ones kept
    assert (dep.status.replicas, dep.status.updated_replicas, dep.status.ready_replicas) == (3, 1, 2)
    assert dep.status.observed_generation == 2
    assert _conditions(dep)["Progressing"].reason == "ReplicaSetUpdated"

    emulator.set_behaviour("shop:bad", "healthy")  # behaviour changes apply to running pods
    emulator.advance(8)  # the surge pod turns ready (2 s), then the second new pod starts (1 s + 2 s)
    dep = kube.apps.read_namespaced_deployment_status("web", namespace)
    assert (dep.status.replicas, dep.status.updated_replicas, dep.status.ready_replicas) == (2, 2, 2)
    assert {p.spec.containers[0].image for p in _pods(kube, namespace)} == {"shop:bad"}


def test_healthy_pods_start_crash_looping_when_their_behaviour_changes(kube, namespace, emulator):
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:bake"))
    emulator.advance(4)
    assert kube.apps.read_namespaced_deployment_status("web", namespace).status.ready_replicas == 2
    emulator.set_behaviour("shop:bake", "crash_loop", after_seconds=10)  # a checkpoint ahead
    emulator.advance(5)
    assert kube.apps.read_namespaced_deployment_status("web", namespace).status.ready_replicas == 2
    emulator.advance(5 + 25)
    dep = kube.apps.read_namespaced_deployment_status("web", namespace)
    assert dep.status.ready_replicas is None
    assert all(p.status.container_statuses[0].restart_count >= 2 for p in _pods(kube, namespace))
    assert any("shop:bake → crash_loop" in e["message"] for e in emulator.log("behaviour"))


def _job(name, image, backoff_limit=1):
    return {
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "migrate", "image": image, "command": ["./migrate", "up"]}],
                }
            },
        },
    }


def test_jobs_complete_or_fail_by_the_behaviour_table_with_logs(kube, namespace, emulator):
    kube.batch.create_namespaced_job(namespace, _job("migrate-ok", "shop:v2"))
    kube.batch.create_namespaced_job(namespace, _job("migrate-bad", "shop:v7-migration-fails"))
    emulator.advance(12)

    ok = kube.batch.read_namespaced_job_status("migrate-ok", namespace)
    assert ok.status.succeeded == 1 and ok.status.failed is None
    assert _conditions(ok)["Complete"].status == "True" and ok.status.completion_time
    pod = kube.core.list_namespaced_pod(namespace, label_selector="job-name=migrate-ok").items[0]
    assert pod.status.phase == "Succeeded"
    assert "0041_add_sku_index ... ok" in _log(kube, pod.metadata.name, namespace)

    bad = kube.batch.read_namespaced_job_status("migrate-bad", namespace)
    assert bad.status.failed == 2 and bad.status.succeeded is None  # backoffLimit 1: two attempts
    failed = _conditions(bad)["Failed"]
    assert failed.status == "True" and failed.reason == "BackoffLimitExceeded"
    pods = kube.core.list_namespaced_pod(namespace, label_selector="job-name=migrate-bad").items
    assert {p.status.phase for p in pods} == {"Failed"}
    log = _log(kube, pods[0].metadata.name, namespace, container="migrate")
    assert log.splitlines() == [
        "started shop:v7-migration-fails",
        "running migrations",
        "0042_drop_legacy_orders ... FAILED",
        "ERROR 1091 (42000): Can't DROP 'legacy_id'; check that column/key exists",
        "exit code 1",
    ]


def test_endpoints_follow_the_service_selector(kube, namespace, emulator):
    for colour in ("blue", "green"):
        labels = {"app": "web", "color": colour}
        kube.apps.create_namespaced_deployment(namespace, deployment(f"web-{colour}", "shop:v1", 2, labels))
    kube.core.create_namespaced_service(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"app": "web", "color": "blue"},
                "ports": [{"port": 80, "targetPort": "http"}],
            },
        },
    )
    emulator.advance(4)

    def endpoint_pods():
        subsets = kube.core.read_namespaced_endpoints("web", namespace).subsets or []
        return {a.target_ref.name for s in subsets for a in s.addresses or []}

    def colour_pods(colour):
        return {p.metadata.name for p in _pods(kube, namespace, f"color={colour}")}

    assert endpoint_pods() == colour_pods("blue")
    port = kube.core.read_namespaced_endpoints("web", namespace).subsets[0].ports[0]
    assert port.port == 8080  # the named targetPort resolved through the pods' container ports
    kube.core.patch_namespaced_service("web", namespace, {"spec": {"selector": {"color": "green"}}})
    emulator.reconcile()
    assert endpoint_pods() == colour_pods("green")
    from kubernetes import client

    slices = (
        client.DiscoveryV1Api(kube.api)
        .list_namespaced_endpoint_slice(namespace, label_selector="kubernetes.io/service-name=web")
        .items
    )
    assert {e.target_ref.name for e in slices[0].endpoints if e.conditions.ready} == colour_pods("green")

    kube.apps.delete_namespaced_deployment("web-green", namespace)
    emulator.reconcile()
    assert endpoint_pods() == set() and colour_pods("green") == set()  # pods are garbage-collected


def test_a_long_clock_jump_reconciles_at_changes_not_every_second(kube, namespace, emulator, local_env):
    """A 600 s jump past the progress deadline stops only where something changes (pods start,
    back off, the deadline passes); restart counts still follow elapsed time. Speed is in
    benchmarks/localenv_clock_bench.py; here the reconcile passes are counted."""
    emulator.set_behaviour("shop:jump-crash", "crash_loop", restart_interval=10)
    kube.apps.create_namespaced_deployment(namespace, deployment("web", "shop:jump-crash"))
    controller = local_env.cluster.controller
    before = controller.ticks
    emulator.advance(700)
    passes = controller.ticks - before
    assert passes <= 30, f"a 700 s jump took {passes} reconcile passes (one per second would be 700)"
    pods = _pods(kube, namespace)
    # (700 s - 1 s startup) // 10, plus the real seconds that pass meanwhile at scale 1
    assert all(p.status.container_statuses[0].restart_count in (69, 70) for p in pods)
    progressing = _conditions(kube.apps.read_namespaced_deployment_status("web", namespace))["Progressing"]
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")


def _scale(kube, namespace, replicas, name="web"):
    kube.apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}})


def test_scaling_a_completed_rollout_up_long_after_its_deadline_is_not_a_stuck_rollout(
    kube, namespace, emulator
):
    """Issue 11 item 9: a colour scaled to 0 and scaled back up (a delayed rollback) is a scale-only
    change; as on Kubernetes (progress.go: a complete deployment is not judged again until a new
    template rolls out, kubernetes#106054) it keeps Progressing=NewReplicaSetAvailable."""
    from switchyard.release.workloads import rollout_status_of

    body = deployment("web", "shop:good")
    body["spec"]["progressDeadlineSeconds"] = 30
    kube.apps.create_namespaced_deployment(namespace, body)
    emulator.advance(4)
    progressing = _conditions(kube.apps.read_namespaced_deployment_status("web", namespace))["Progressing"]
    assert progressing.reason == "NewReplicaSetAvailable"
    _scale(kube, namespace, 0)
    emulator.advance(120)  # at 0 for four deadlines
    _scale(kube, namespace, 2)
    emulator.advance(0.5)  # pods created, not ready yet
    dep = kube.apps.read_namespaced_deployment_status("web", namespace)
    progressing = _conditions(dep)["Progressing"]
    assert (progressing.status, progressing.reason) == ("True", "NewReplicaSetAvailable")
    assert _conditions(dep)["Available"].status == "False"
    raw = kube.api.sanitize_for_serialization(dep)
    assert rollout_status_of(raw) == (False, "0/2 replicas ready")  # waiting, not "rollout stuck"

    emulator.advance(4)
    dep = kube.apps.read_namespaced_deployment_status("web", namespace)
    assert rollout_status_of(kube.api.sanitize_for_serialization(dep)) == (True, "2/2 replicas ready")
    assert _conditions(dep)["Progressing"].reason == "NewReplicaSetAvailable"


def test_an_unfinished_rollout_restarts_its_deadline_when_a_scale_up_makes_progress(
    kube, namespace, emulator
):
    """A rollout that timed out and is then scaled up makes progress (more updated pods): its deadline
    runs again from then, and a second timeout carries a newer lastUpdateTime (what the release code
    tells apart from an older rollout's). Scaled to 0 it is complete, as on Kubernetes."""
    from switchyard.release.workloads import deadline_exceeded_at

    emulator.set_behaviour("shop:stuck", "never_ready")
    body = deployment("web", "shop:stuck")
    body["spec"]["progressDeadlineSeconds"] = 30
    kube.apps.create_namespaced_deployment(namespace, body)
    emulator.advance(35)

    def progressing():
        dep = kube.apps.read_namespaced_deployment_status("web", namespace)
        condition = _conditions(dep)["Progressing"]
        return (
            condition.status,
            condition.reason,
            deadline_exceeded_at(kube.api.sanitize_for_serialization(dep)),
        )

    status, reason, first_timeout = progressing()
    assert (status, reason) == ("False", "ProgressDeadlineExceeded") and first_timeout

    _scale(kube, namespace, 3)
    emulator.advance(1)
    assert progressing()[:2] == ("True", "ReplicaSetUpdated")  # a new pod is progress
    emulator.advance(20)  # 56 s after creation, 21 s after the scale-up
    assert progressing()[:2] == ("True", "ReplicaSetUpdated")
    emulator.advance(15)  # 36 s after the scale-up: its own deadline has passed
    status, reason, second_timeout = progressing()
    assert (status, reason) == ("False", "ProgressDeadlineExceeded")
    assert second_timeout > first_timeout  # this rollout's deadline, not the first one's

    _scale(kube, namespace, 0)
    emulator.advance(2)
    assert progressing()[:2] == ("True", "NewReplicaSetAvailable")
    _scale(kube, namespace, 2)
    emulator.advance(60)  # never ready, but a scale-only change of a complete rollout is not judged
    assert progressing()[:2] == ("True", "NewReplicaSetAvailable")


def test_an_idle_cluster_is_not_reconciled_until_something_changes(tmp_path):
    """The controller passes when the store or the behaviours change or the clock reaches the next
    change (as an informer wakes a real controller), not ten times a second on an idle cluster; a
    change through the API is still acted on within a tick."""
    from kubernetes import client, config

    from switchyard.localenv.controller import MAX_QUIET_SECONDS
    from switchyard.localenv.environment import LocalEnvironment

    with LocalEnvironment(None, with_aws=False, time_scale=60.0, state_dir=tmp_path) as env:
        api = config.new_client_from_config(config_file=str(env.kubeconfig_path))
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        controller = env.cluster.controller
        time.sleep(0.3)
        passes = controller.ticks
        time.sleep(1.5)
        idle = controller.ticks - passes
        assert idle <= 1.5 / MAX_QUIET_SECONDS + 1  # was 15 at one pass per 0.1 s

        apps.create_namespaced_deployment("default", deployment("web", "shop:v1"))
        started = time.monotonic()
        while not core.list_namespaced_pod("default", label_selector="app=web").items:
            assert time.monotonic() - started < 0.5, "the new Deployment got no pods within 0.5 s"
            time.sleep(0.02)
        # and its pods become ready at their simulated start-up time, not at the next quiet pass
        while (apps.read_namespaced_deployment_status("web", "default").status.ready_replicas or 0) < 2:
            assert time.monotonic() - started < 5, "the pods did not become ready"
            time.sleep(0.05)

        env.cluster.behaviours.set("shop:v1", "crash_loop")
        started = time.monotonic()
        while apps.read_namespaced_deployment_status("web", "default").status.ready_replicas:
            assert time.monotonic() - started < 0.5, "a behaviour change was not acted on within 0.5 s"
            time.sleep(0.02)
