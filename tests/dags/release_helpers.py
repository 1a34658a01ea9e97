"""Helpers for whole-DAG release tests: reading the cluster back and acting during a run."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import ClassVar

from kubernetes import client, config

log = logging.getLogger(__name__)


def api(env):
    return config.new_client_from_config(str(env.kubeconfig_path))


def cluster_state(env) -> dict:
    a = api(env)
    apps, core, coord = client.AppsV1Api(a), client.CoreV1Api(a), client.CoordinationV1Api(a)
    deployments = apps.list_namespaced_deployment("default").items
    selector = core.read_namespaced_service("acme-shop-svc", "default").spec.selector
    endpoints = core.read_namespaced_endpoints("acme-shop-svc", "default")
    return {
        "replicas": {d.metadata.name: d.spec.replicas for d in deployments},
        "images": {
            d.metadata.name: d.spec.template.spec.containers[0].image.rsplit(":", 1)[-1] for d in deployments
        },
        "colour": selector.get("color"),
        "leases": [lease.metadata.name for lease in coord.list_namespaced_lease("default").items],
        "endpoint_pods": sorted(
            a.target_ref.name for s in endpoints.subsets or [] for a in s.addresses or []
        ),
    }


def history(env) -> list[dict]:
    try:
        cm = client.CoreV1Api(api(env)).read_namespaced_config_map("switchyard-releases-acme-shop", "default")
    except client.ApiException as exc:
        if exc.status == 404:
            return []
        raise
    return json.loads(cm.data["history.json"])


def states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def xcom(run, task_id: str, key: str = "return_value"):
    ti = next(t for t in run.get_task_instances() if t.task_id == task_id)
    return ti.xcom_pull(task_ids=task_id, key=key)


class Background(threading.Thread):
    """An action run once its condition holds, polled in the background (see ``when``)."""

    # started and not yet checked (the autouse fixture in tests/dags/conftest.py asserts none is left)
    unchecked: ClassVar[set[Background]] = set()

    def __init__(self, condition: Callable[[], bool], action: Callable[[], None], timeout: float) -> None:
        super().__init__(daemon=True)
        self.condition, self.action, self.timeout = condition, action, timeout
        self.errors: list[str] = []  # failed polls and actions, newest last
        self.acted = False
        self.stopping = threading.Event()  # set at the end of its test: it must not act in the next one
        Background.unchecked.add(self)

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and not self.stopping.is_set():
            try:
                if self.condition():
                    self.action()
                    self.acted = True
                    return
            except Exception as exc:  # the cluster or the DB may be mid-change; poll again
                self.errors.append(f"{type(exc).__name__}: {exc}")
                log.warning("background action not done yet: %s", self.errors[-1])
            self.stopping.wait(0.2)

    def check(self, timeout: float = 10.0) -> None:
        """Join the thread and fail the test when the action never ran (a test whose fault was never
        injected proves nothing)."""
        Background.unchecked.discard(self)
        self.join(timeout)
        if self.is_alive():
            self.stop()
        assert self.acted, (
            f"the background action never ran within {self.timeout:.0f}s; "
            f"last errors: {self.errors[-3:] or 'none (the condition never held)'}"
        )


def when(condition: Callable[[], bool], action: Callable[[], None], timeout: float = 300.0) -> Background:
    """Run ``action`` once ``condition`` holds (polled in a background thread), e.g. break the new
    colour right after the switch. Call ``.check()`` on the result after the run."""
    thread = Background(condition, action, timeout)
    thread.start()
    return thread


def watch_started(env, kind: str, checkpoints_done: int = 0) -> Callable[[], bool]:
    """True once the run's watch or bake has started (its clock is in the release record) and
    recorded at least ``checkpoints_done`` checkpoints: after the post-switch gate, in the wait."""

    def check() -> bool:
        for record in history(env):
            progress = (record.get("checkpoints") or {}).get(kind)
            if progress is not None and len(progress.get("results", [])) >= checkpoints_done:
                return True
        return False

    return check


def selector_is(env, colour: str) -> Callable[[], bool]:
    core = client.CoreV1Api(api(env))
    return lambda: (
        (core.read_namespaced_service("acme-shop-svc", "default").spec.selector or {}).get("color") == colour
    )


def task_state(dag_id: str, task_id: str, wanted: str) -> Callable[[], bool]:
    """True once the (latest run's) task instance reaches ``wanted`` in the metadata DB."""

    def check() -> bool:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session

        with create_session() as session:
            ti = (
                session.query(TaskInstance)
                .filter(TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id)
                .order_by(TaskInstance.start_date.desc())
                .first()
            )
            return ti is not None and str(ti.state) == wanted

    return check


def retry_quickly(dag):
    """``dag``, whose tasks wait 1 s between tries instead of the DAG's 10 s: whole-DAG tests check
    that a step is tried again and how the run converges, not the delay (three tries of a failing
    unlock were 30 of that test's 43 s)."""
    for task in dag.tasks:
        task.retry_delay = timedelta(seconds=1)
    return dag
