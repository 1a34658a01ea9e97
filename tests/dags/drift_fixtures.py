"""Fixtures and helpers for the drift-check DAG tests (imported by test_drift_check.py).

``drift_dag`` is the real ``drift_check`` DAG from the DagBag; ``kube`` gives the Kubernetes clients
of the test's own emulator (``cluster_env``); ``seed_record`` writes the release record that matches
the seeded cluster (blue Active at v1); ``run_drift`` runs the DAG with ``dag.test()`` and returns
what it decided (run and task states, the report from XCom).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client, config

from switchyard.release.colours import layout
from switchyard.release.records import ReleaseHistory

APP, NAMESPACE = "acme-shop", "default"
SEED_RUN = "manual__2026-01-01T00:00:00+00:00"


@pytest.fixture(scope="session")
def drift_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag()
    assert bag.import_errors == {}, bag.import_errors
    return bag.get_dag("drift_check")


@dataclass
class Kube:
    apps: client.AppsV1Api
    core: client.CoreV1Api
    coordination: client.CoordinationV1Api


@pytest.fixture
def kube(cluster_env) -> Kube:
    api = config.new_client_from_config(str(cluster_env.kubeconfig_path))
    return Kube(client.AppsV1Api(api), client.CoreV1Api(api), client.CoordinationV1Api(api))


def seed_record(kube: Kube, model, colour: str = "blue", version: str = "v1", **fields: Any) -> None:
    """The release record of the seeded cluster: ``colour`` Active at ``version``, with the images
    its deployments run now."""
    images = {
        c: kube.apps.read_namespaced_deployment(c, NAMESPACE).spec.template.spec.containers[0].image
        for c in layout(model).components(colour)
    }
    history = ReleaseHistory(kube.core, APP, NAMESPACE)
    history.begin(SEED_RUN, "release_acme_shop", version, colour, previous_version="")
    history.finish(SEED_RUN, "Active", images=images, **fields)


@pytest.fixture
def seeded(cluster_env, kube) -> Kube:
    """The cluster of ``cluster_env`` with its matching release record: no drift to find."""
    seed_record(kube, cluster_env.model)
    return kube


@dataclass
class DriftRun:
    state: str
    tasks: dict[str, str]  # "task" or "task[model]" → state
    report: dict[str, Any]

    def result(self, check: str, model: str = APP) -> dict[str, Any]:
        return next(r for r in self.report["results"] if r["model"] == model and r["check"] == check)

    def statuses(self, model: str = APP) -> dict[str, str]:
        return {r["check"]: r["status"] for r in self.report["results"] if r["model"] == model}

    def findings(self, check: str, model: str = APP) -> list[tuple[str, str, str]]:
        """(status, kind, object) of every finding of a check."""
        return sorted((f["status"], f["kind"], f["object"]) for f in self.result(check, model)["findings"])


def run_drift(dag, **conf: Any) -> DriftRun:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    run = dag.test(run_conf=conf)
    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=dag.dag_id, task_ids="report", key="return_value")
        ).first()
        report = XComModel.deserialize_value(row) if row is not None else {}
    tasks = {
        ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.rendered_map_index or ti.map_index}]": ti.state
        for ti in run.get_task_instances()
    }
    return DriftRun(run.state, tasks, report)
