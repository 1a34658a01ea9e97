"""Fixtures for the production set-up tests (helpers in ``support.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.support import apply_objects
from tests.release_cluster import start_release_cluster


@pytest.fixture
def rbac_cluster(local_env, tmp_path, monkeypatch, airflow_db):
    """Start the tests/dags cluster (blue live at v1, AWS shared from the session) with RBAC
    enforced for the given manifests' ServiceAccount on every Kubernetes API request, and point
    the Airflow connections at it: ``env = rbac_cluster([RBAC_MANIFEST])``."""
    started = []

    def start(manifests: list[Path], model: Path | None = None, behaviours: Path | None = None):
        env = start_release_cluster(
            local_env,
            tmp_path / "localenv",
            tmp_path / "artifacts",
            monkeypatch,
            rbac=manifests,
            model=model,
            behaviours=behaviours,
        )
        started.append(env)
        for manifest in manifests:
            apply_objects(env, manifest)
        return env

    yield start
    for env in started:
        env.stop()


@pytest.fixture(scope="session")
def payments_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag
    from release_helpers import retry_quickly

    return retry_quickly(DagBag().get_dag("release_payments"))


@pytest.fixture(scope="session")
def drift_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag().get_dag("drift_check")
