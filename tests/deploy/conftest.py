"""Fixtures for the production set-up tests (helpers in ``support.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchyard.localenv.connections import airflow_connections, env_vars
from tests.deploy.support import DEMO_BEHAVIOURS, apply_objects


@pytest.fixture
def rbac_cluster(local_env, tmp_path, monkeypatch, airflow_db):
    """Start the tests/dags cluster (blue live at v1, AWS shared from the session) with RBAC
    enforced for the given manifests' ServiceAccount on every Kubernetes API request, and point
    the Airflow connections at it: ``env = rbac_cluster([RBAC_MANIFEST])``."""
    from switchyard.localenv.environment import DEFAULT_MODEL, LocalEnvironment

    started = []

    def start(manifests: list[Path]):
        env = LocalEnvironment(
            DEFAULT_MODEL,
            behaviours=DEMO_BEHAVIOURS,
            time_scale=60.0,
            state_dir=tmp_path / "localenv",
            with_aws=False,
            metrics_period=1.0,
            rbac=manifests,
        )
        env.start()
        started.append(env)
        for manifest in manifests:
            apply_objects(env, manifest)
        conns = airflow_connections(
            kubeconfig_path=str(env.kubeconfig_path),
            namespace="default",
            aws_endpoint=local_env.aws_endpoint,
            region=local_env.region,
            prometheus_url=env.prometheus_url,
        )
        for name, value in env_vars(conns).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("SWITCHYARD_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
        return env

    yield start
    for env in started:
        env.stop()


@pytest.fixture(scope="session")
def release_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag()
    assert bag.import_errors == {}, bag.import_errors
    return bag.get_dag("release_acme_shop")


@pytest.fixture(scope="session")
def drift_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag().get_dag("drift_check")


@pytest.fixture(scope="session")
def rollback_dag(release_dag):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag().get_dag("rollback_acme_shop")
