"""Whole-DAG runs: each test gets a freshly seeded cluster (blue live at v1, green absent) on its
own emulator, with AWS (moto) shared from the session environment, and runs ``dag.test()``."""

from __future__ import annotations

import pytest

from tests.release_cluster import start_release_cluster


@pytest.fixture
def cluster_env(local_env, tmp_path, monkeypatch, airflow_db):
    env = start_release_cluster(local_env, tmp_path, tmp_path / "artifacts", monkeypatch)
    yield env
    env.stop()


@pytest.fixture(autouse=True)
def background_actions_are_checked():
    """Every ``when()`` of a test is joined and its outcome asserted (``.check()``): an action that
    never ran proves nothing, and one still polling must not act in the next test's cluster."""
    from release_helpers import Background

    yield
    left = list(Background.unchecked)
    Background.unchecked.clear()
    for thread in left:
        thread.stop()
    assert not left, f"{len(left)} when() action(s) never checked: call .check() after the run"


@pytest.fixture(autouse=True)
def param_defaults_restored(request):
    """Each test's DAGs start from their declared param defaults. Airflow's ``ParamsDict.update``
    shares the DAG's ``Param`` objects and ``Param.resolve(value)`` stores the run's value on them,
    so in-process (``dag.test()``) one run's conf became the next run's default: a test passing
    ``run_migration: no`` made a later test on the session's DAG skip its migration."""
    dags = [request.getfixturevalue(name) for name in request.fixturenames if name.endswith("_dag")]
    params = [
        holder.get_param(key)
        for dag in dags
        for holder in [dag.params, *(task.params for task in dag.tasks)]
        for key in holder
    ]
    saved = [(param, param.value) for param in params]
    yield
    for param, value in saved:
        param.value = value


@pytest.fixture
def emulator_for():
    from switchyard.localenv.client import EmulatorClient

    return lambda env: EmulatorClient(env.kube_url)
