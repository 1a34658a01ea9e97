"""End-to-end: releases on Airflow's real runtime, driven only through its public REST API.

One stack per test file (torn down when its file is done, so no idle Airflow keeps a CPU busy while
the worker runs other files; ``switchyard.localenv.stack``: its own PostgreSQL, ``airflow db migrate``,
api-server, scheduler, dag-processor and triggerer with LocalExecutor, and the local environment at
time scale 60), in a temporary state dir on free ports. Tests trigger runs with conf, poll run and
task states, answer approvals and read notes, logs and XCom through ``/api/v2``; they read and break
the cluster through the Kubernetes API and the emulator's control API, as a user would with kubectl.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from e2e_helpers import DAG_ID, STACK_SETTINGS, Cluster
from kubernetes import client, config


@pytest.fixture(scope="module")
def stack(request):
    from switchyard.localenv.stack import Stack, free_port

    # Not under pytest's tmp dir: pytest keeps its root private (0700) on every session start, and
    # PostgreSQL (run as the postgres user when we are root) must reach its data dir.
    state_dir = Path(tempfile.mkdtemp(prefix="switchyard-e2e-"))
    try:
        with Stack(
            state_dir=state_dir, time_scale=60.0, quiet=True, api_port=free_port(), settings=STACK_SETTINGS
        ) as running:
            api = running.api()
            api.wait_for_dag(DAG_ID)
            # The hourly drift check would run at once on a new stack: not what these tests are about.
            api.request("PATCH", "/dags/drift_check", {"is_paused": True})
            yield running
    finally:
        if request.session.testsfailed:  # keep the logs of a failed session to read
            print(f"stack state (logs, database) kept in {state_dir}")
        else:
            shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def api(stack):
    return stack.api()


@pytest.fixture(scope="module")
def kube(stack):
    return client.CoreV1Api(config.new_client_from_config(str(stack.kubeconfig_path)))


@pytest.fixture(scope="module")
def emulator(stack):
    from switchyard.localenv.client import EmulatorClient

    return EmulatorClient(stack.kube_url)


@pytest.fixture
def fresh(emulator):
    """Behaviours and faults a test sets are undone after it."""
    before = emulator.behaviours()
    yield
    emulator.clear_faults()
    emulator.replace_behaviours(before)


@pytest.fixture(scope="module")
def cluster(stack, kube):
    return Cluster(kube, client.AppsV1Api(kube.api_client))
