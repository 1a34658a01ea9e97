"""Release benchmark: prints figures, asserts nothing. Run with `make bench-release`.

1. From the failing sample to the selector restored: a release whose new colour starts answering
   5xx during the bake; the trigger's breaching sample ends the wait, the bake fails, the rollback
   patches the selector back and verifies it. Orchestrator time = selector restored − failing
   sample (target ≤ 2 s beyond the sampling interval).
2. Worker slots held during the bake: the share of the bake's wall time during which a task of the
   run is RUNNING (target 0: the bake waits deferred, in the triggerer).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOME = Path(tempfile.mkdtemp(prefix="switchyard-bench-"))
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "include")]

from switchyard.localenv.demo import airflow_env  # noqa: E402 - no Airflow import; the env must come first

os.environ.update(airflow_env(HOME, logging_level="ERROR"))

SAMPLE_SECONDS = 2.0


def main() -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils import db
    from airflow.utils.session import create_session
    from kubernetes import client, config

    from switchyard.localenv.client import EmulatorClient
    from switchyard.localenv.environment import LocalEnvironment

    env = LocalEnvironment(
        ROOT / "include/models/acme-shop.model.yaml",
        behaviours=ROOT / "include/behaviours/acme-shop.yaml",
        time_scale=60.0,
        metrics_period=2.0,
        state_dir=HOME / "env",
    )
    env.start()
    os.environ.update(env.airflow_env())
    db.resetdb()
    dag = DagBag(str(ROOT / "dags")).get_dag("release_acme_shop")
    core = client.CoreV1Api(config.new_client_from_config(str(env.kubeconfig_path)))
    emulator = EmulatorClient(env.kube_url)
    marks: dict[str, float] = {}
    slots: list[tuple[float, int, str]] = []
    stop = threading.Event()
    phase = {"name": "bake"}

    def colour() -> str:
        return (core.read_namespaced_service("acme-shop-svc", "default").spec.selector or {}).get("color", "")

    def watcher() -> None:
        while not stop.is_set():
            try:
                now = time.time()
                with create_session() as session:
                    bake = (
                        session.query(TaskInstance)
                        .filter(TaskInstance.task_id == "bake")
                        .order_by(TaskInstance.start_date.desc())
                        .first()
                    )
                    running = session.query(TaskInstance).filter(TaskInstance.state == "running").count()
                    bake_state = str(bake.state) if bake else ""
                if phase["name"] == "bake":
                    slots.append((now, running, bake_state))
                else:
                    current = colour()
                    if current == "blue" and "switched" not in marks:
                        marks["switched"] = now
                    if "switched" in marks and "regressed" not in marks and bake_state == "deferred":
                        emulator.set_behaviour("v10-late-regression", "http_5xx", rate=0.5)
                        marks["regressed"] = time.time()
                    if "regressed" in marks and current == "green" and "restored" not in marks:
                        marks["restored"] = now
            except Exception as exc:  # SQLite busy, cluster mid-change: sample again
                print(f"  (sampler: {type(exc).__name__})", flush=True)
            time.sleep(0.1)

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    fast = {
        "run_migration": "no",
        "grace_seconds": 0,
        "watch_minutes": 0,
        "watch_interval_seconds": SAMPLE_SECONDS,
        "rollout_timeout_seconds": 60,
    }
    try:
        healthy = dag.test(run_conf={**fast, "version": "v2", "bake_minutes": 1.0})
        phase["name"] = "rollback"
        failing = dag.test(run_conf={**fast, "version": "v10-late-regression", "bake_minutes": 2.0})
    finally:
        stop.set()
        thread.join(2)
        env.stop()

    print(f"healthy release: {healthy.state}")
    deferred = [(t, r) for t, r, st in slots if st == "deferred"]
    if deferred:
        busy = sum(1 for _, r in deferred if r > 0)
        print(
            f"worker slots held while the bake waited: {busy}/{len(deferred)} samples with a RUNNING task "
            f"({busy / len(deferred):.1%}; target 0) over {deferred[-1][0] - deferred[0][0]:.0f} s deferred"
        )
    tis = {ti.task_id: ti for ti in failing.get_task_instances()}
    checkpoints = tis["bake"].xcom_pull(task_ids="bake", key="checkpoints") or []
    first_bad = next((c for c in checkpoints if not c.get("passed")), None)
    print(f"regressing release: {failing.state}; bake {tis['bake'].state}; rollback {tis['rollback'].state}")
    if first_bad and "restored" in marks:
        sampled = float(first_bad.get("sampled_at") or first_bad["at"])
        print(
            f"regression injected → failing sample: {sampled - marks['regressed']:.2f} s "
            f"(sampling interval {SAMPLE_SECONDS:.0f} s)"
        )
        print(
            f"failing sample → selector restored and verified: {marks['restored'] - sampled:.2f} s "
            f"(orchestrator time; target ≤ 2 s beyond the {SAMPLE_SECONDS:.0f} s interval)"
        )
        print(f"regression injected → selector restored: {marks['restored'] - marks['regressed']:.2f} s")
    else:
        print(f"no rollback measured: marks={marks}")


if __name__ == "__main__":
    main()
