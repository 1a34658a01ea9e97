"""Shared by the end-to-end tests: the DAG, short params, what a user checks on the cluster."""

from __future__ import annotations

import json
import time

from kubernetes import client

DAG_ID = "release_acme_shop"
FAST = {
    "grace_seconds": 0,
    "rollout_timeout_seconds": 60,
    "watch_minutes": 0,
    "watch_interval_seconds": 2,
    "bake_minutes": 0,
    "run_migration": "no",
}

# Over the stack's own settings: the DAG files do not change while the tests run, so the
# dag-processor need not parse them again every 30 s (a tenth of an idle stack's CPU).
STACK_SETTINGS = {"AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600"}


class Cluster:
    """What a user checks with kubectl after a release."""

    def __init__(self, kube: client.CoreV1Api, apps: client.AppsV1Api) -> None:
        self.kube, self.apps = kube, apps

    def colour(self) -> str:
        return (self.kube.read_namespaced_service("acme-shop-svc", "default").spec.selector or {}).get(
            "color", ""
        )

    def replicas(self) -> dict[str, int]:
        return {
            d.metadata.name: d.spec.replicas for d in self.apps.list_namespaced_deployment("default").items
        }

    def images(self) -> dict[str, str]:
        return {
            d.metadata.name: d.spec.template.spec.containers[0].image.rsplit(":", 1)[-1]
            for d in self.apps.list_namespaced_deployment("default").items
        }

    def history(self) -> list[dict]:
        try:
            cm = self.kube.read_namespaced_config_map("switchyard-releases-acme-shop", "default")
        except client.ApiException as exc:
            if exc.status == 404:
                return []
            raise
        return json.loads(cm.data["history.json"])

    def record(self, run_id: str) -> dict:
        return next(r for r in self.history() if r["run_id"] == run_id)

    def leases(self) -> list[str]:
        coordination = client.CoordinationV1Api(self.kube.api_client)
        return [lease.metadata.name for lease in coordination.list_namespaced_lease("default").items]


def wait_until(condition, timeout: float = 240, poll: float = 0.3, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"{what} not reached in {timeout:.0f} s")


OTHER = {"blue": "green", "green": "blue"}


def not_live(cluster, live: str) -> str:
    """A healthy version that is not the one serving (releasing the live version is refused)."""
    return "v1" if cluster.images()[f"acme-shop-nginx-{live}"] == "v2" else "v2"


def bake_started(cluster, run_id: str, checkpoints_done: int = 0):
    def check() -> bool:
        try:
            progress = (cluster.record(run_id).get("checkpoints") or {}).get("bake")
        except StopIteration:
            return False
        return progress is not None and len(progress.get("results", [])) >= checkpoints_done

    return check
