"""Whole-release runs of the validation phase: a freshly seeded cluster per test (blue live at v1,
green absent) on its own emulator, with AWS (moto) shared from the session environment."""

from __future__ import annotations

import copy

import pytest

from tests.release_cluster import start_release_cluster


@pytest.fixture
def cluster_env(local_env, tmp_path, monkeypatch, airflow_db):
    env = start_release_cluster(local_env, tmp_path, tmp_path / "artifacts", monkeypatch)
    yield env
    env.stop()


@pytest.fixture
def emulator_for():
    from switchyard.localenv.client import EmulatorClient

    return lambda env: EmulatorClient(env.kube_url)


@pytest.fixture(autouse=True)
def release_params_restored(request):
    """dag.test() resolves the run's conf into the DAG's own Param objects, so one test's
    ``load_test: on`` or ``canary_percent: 5`` would become the next test's default (the DAG is
    shared by the session): put every param's value back after each test here."""
    if "release_dag" not in request.fixturenames:
        yield
        return
    dag = request.getfixturevalue("release_dag")
    holders = [dag.params, *(task.params for task in dag.tasks)]  # each task holds the Params too
    saved = [(h, {name: copy.deepcopy(h.get_param(name).value) for name in h}) for h in holders]
    yield
    for holder, values in saved:
        for name, value in values.items():
            holder.get_param(name).value = value
