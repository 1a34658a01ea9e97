"""Whole-release runs of the validation phase: a freshly seeded cluster per test (blue live at v1,
green absent) on its own emulator, with AWS (moto) shared from the session environment."""

from __future__ import annotations

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
