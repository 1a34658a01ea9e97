"""Local environment clock benchmark: prints figures, asserts nothing.

Real time and reconciles for jumping the simulated clock 600 s (past a Deployment's
progressDeadlineSeconds) on the seeded acme-shop cluster plus a namespace holding a healthy
rollout, a crash-looping rollout, a stuck image pull and a migration Job. Target: < 1 s per jump.

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/localenv_clock_bench.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "include")]

from switchyard.localenv.environment import DEFAULT_MODEL, LocalEnvironment  # noqa: E402
from switchyard.localenv.store import DEPLOYMENTS, JOBS, NAMESPACES, PODS  # noqa: E402


def _deployment(name: str, image: str) -> dict:
    labels = {"app": name}
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": labels},
            "progressDeadlineSeconds": 300,
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def main() -> None:
    with LocalEnvironment(
        DEFAULT_MODEL, behaviours=ROOT / "include" / "behaviours" / "acme-shop.yaml", with_aws=False
    ) as env:
        cluster = env.cluster
        assert cluster is not None
        cluster.behaviours.set("bench:crash", "crash_loop")
        cluster.behaviours.set("bench:missing", "image_pull_failure")
        store = cluster.store
        store.create(NAMESPACES, None, {"metadata": {"name": "bench"}})
        for name, image in (
            ("healthy", "bench:ok"),
            ("crashing", "bench:crash"),
            ("pulling", "bench:missing"),
        ):
            store.create(DEPLOYMENTS, "bench", _deployment(name, image))
        store.create(
            JOBS,
            "bench",
            {
                "metadata": {"name": "migrate"},
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "migrate", "image": "bench:ok"}],
                        }
                    }
                },
            },
        )
        controller = cluster.controller
        print(
            f"objects: {len(store.list(DEPLOYMENTS))} deployments, {len(store.list(JOBS))} job, "
            f"{len(store.list(PODS))} pods before the jump"
        )
        for jump in (600.0, 600.0, 3600.0):
            ticks = controller.ticks
            started = time.perf_counter()
            controller.advance(jump)
            elapsed = time.perf_counter() - started
            print(
                f"jump {jump:6.0f} s simulated: {elapsed:6.3f} s real, {controller.ticks - ticks:3d} reconciles "
                "(target < 1 s)"
            )
        one = time.perf_counter()
        controller.tick()
        print(
            f"one reconcile: {1000 * (time.perf_counter() - one):.1f} ms "
            f"(the previous per-second jump made 600 of them for 600 s)"
        )


if __name__ == "__main__":
    main()
