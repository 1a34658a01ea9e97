"""Whole-DAG runs: each test gets a freshly seeded cluster (blue live at v1, green absent) on its
own emulator, with AWS (moto) shared from the session environment, and runs ``dag.test()``."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchyard.localenv.connections import airflow_connections, env_vars

DEMO_BEHAVIOURS = Path(__file__).resolve().parents[2] / "include" / "behaviours" / "acme-shop.yaml"


@pytest.fixture
def cluster_env(local_env, tmp_path, monkeypatch, airflow_db):
    from switchyard.localenv.environment import DEFAULT_MODEL, LocalEnvironment

    env = LocalEnvironment(
        DEFAULT_MODEL,
        behaviours=DEMO_BEHAVIOURS,
        time_scale=60.0,
        state_dir=tmp_path,
        with_aws=False,
        metrics_period=1.0,
    )
    env.start()
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
    yield env
    env.stop()


@pytest.fixture(scope="session")
def release_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag()
    assert bag.import_errors == {}, bag.import_errors
    return bag.get_dag("release_acme_shop")


@pytest.fixture
def emulator_for():
    from switchyard.localenv.client import EmulatorClient

    return lambda env: EmulatorClient(env.kube_url)


@pytest.fixture(scope="session")
def rollback_dag(release_dag):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag().get_dag("rollback_acme_shop")
