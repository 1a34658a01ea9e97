"""The release lock against the Kubernetes emulator: taken over only when its run is over,
renewed by long steps, and a give-back that lost a race says what happened."""

from __future__ import annotations

import contextlib

import pytest
from kubernetes import client, config

from switchyard.release.lock import LockHeld, ReleaseLock


@pytest.fixture
def lock(local_env, request):
    api = client.CoordinationV1Api(config.new_client_from_config(str(local_env.kubeconfig_path)))
    app = f"lock-test-{request.node.name[-20:].replace('_', '-').strip('-')}"
    yield ReleaseLock(api, app, "default")
    with contextlib.suppress(client.ApiException):  # already given back
        api.delete_namespaced_lease(f"switchyard-release-{app}", "default")


def test_a_dead_runs_unexpired_lock_is_taken_over_at_once(lock):
    lock.acquire("run-crashed", "release_x", "v2", 6 * 3600)
    outcome = lock.acquire("run-next", "release_x", "v3", 6 * 3600, holder_ended=lambda holder: True)
    assert outcome == "took over the lock of run run-crashed (its run is over)"
    assert lock.holder().run_id == "run-next"


def test_a_running_runs_expired_lock_is_not_taken_over(lock):
    lock.acquire("run-approving", "release_x", "v2", 6 * 3600)
    # last renewed long ago: a 24 h approval outlives the 6 h lease
    lock.api.patch_namespaced_lease(
        lock.name, "default", {"spec": {"renewTime": "2026-01-01T00:00:00.000000Z"}}
    )
    with pytest.raises(LockHeld, match="its run is still running, its lease expired"):
        lock.acquire("run-next", "release_x", "v3", 6 * 3600, holder_ended=lambda holder: False)
    assert lock.holder().run_id == "run-approving"
    # Airflow cannot be asked: the lease's expiry decides, as before
    assert "lease expired" in lock.acquire("run-next", "release_x", "v3", 3600)


def test_renewing_moves_the_expiry_only_for_the_holder(lock):
    lock.acquire("run-baking", "release_x", "v2", 600)
    before = lock.holder().expires
    assert lock.renew("run-baking") == "renewed"
    assert lock.holder().expires > before
    assert lock.renew("run-other").startswith("held by another run")


def test_giving_back_a_lock_taken_over_meanwhile_says_so(lock):
    lock.acquire("run-old", "release_x", "v2", 600)
    lock.acquire("run-new", "release_x", "v3", 600, holder_ended=lambda holder: True)
    assert lock.release("run-old") == "held by another run (run-new); left in place"
    assert lock.release("run-new") == "released"
    assert lock.release("run-new") == "not held"
