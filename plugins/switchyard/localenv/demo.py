"""The README's demo: ``make demo``. Whole releases of acme-shop against the local environment.

1. The engine on the model: validate, simulate every scenario.
2. Release v2 (v1 → v2, with its migration): blue → green, watched and baked (compressed times).
3. Release v3-crashloop: stopped by the standby gate, the crash-looping deployment named as root
   cause, traffic still on green.
4. Release v10-late-regression: healthy at first, it starts crash-looping during the bake; the bake
   catches it, traffic rolls back to green, and the incident report is printed.
Then the command that opens the Airflow UI on the same database to browse the runs.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
MODEL = ROOT / "include" / "models" / "acme-shop.model.yaml"
SCENARIOS = ROOT / "include" / "scenarios" / "acme-shop"
BEHAVIOURS = ROOT / "include" / "behaviours" / "acme-shop.yaml"
DEMO_HOME = ROOT / ".local-env" / "demo"
FAST = {
    "grace_seconds": 5,
    "rollout_timeout_seconds": 60,
    "watch_minutes": 0.2,
    "watch_interval_seconds": 2,
    "bake_minutes": 0.5,
}


def _section(title: str) -> None:
    print(f"\n━━ {title} " + "━" * max(0, 76 - len(title)), flush=True)


def airflow_env(home: Path, logging_level: str = "WARNING") -> dict[str, str]:
    """Environment for an in-process Airflow on SQLite in ``home`` with this project's DAGs."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": logging_level,
        "SWITCHYARD_ARTIFACTS_DIR": str(home / "artifacts"),
    }


def engine() -> bool:
    from switchyard.cli import main as cli

    _section(f"python -m switchyard model validate --model {MODEL.relative_to(ROOT)}")
    ok = cli(["model", "validate", "--model", str(MODEL)]) == 0
    _section(
        f"python -m switchyard simulate --model {MODEL.relative_to(ROOT)} --all {SCENARIOS.relative_to(ROOT)}"
    )
    return cli(["simulate", "--model", str(MODEL), "--all", str(SCENARIOS)]) == 0 and ok


def _release(dag, version: str, **conf):
    started = time.monotonic()
    run = dag.test(run_conf={"version": version, **FAST, **conf})
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    summary = tis["summary"].xcom_pull(task_ids="summary") or {}
    print(f"  run {run.run_id}: {run.state} in {time.monotonic() - started:.0f}s")
    print(f"  {summary.get('note', '(no summary)')}")
    failed = [t for t, ti in tis.items() if str(ti.state) == "failed"]
    if failed:
        print(f"  failed steps: {', '.join(failed)}")
    return run, tis


def main() -> int:
    ok = engine()
    DEMO_HOME.mkdir(parents=True, exist_ok=True)
    os.environ.update(airflow_env(DEMO_HOME))
    sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "include")]
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    from switchyard.localenv.client import EmulatorClient
    from switchyard.localenv.environment import LocalEnvironment

    _section("local environment: Kubernetes API emulator + moto, seeded from the model")
    env = LocalEnvironment(
        MODEL,
        behaviours=BEHAVIOURS,
        time_scale=60.0,
        metrics_period=2.0,
        state_dir=Path(tempfile.mkdtemp(prefix="switchyard-demo-")),
    )
    env.start()
    try:
        print("\n".join(f"  {line}" for line in env.status_lines()))
        os.environ.update(env.airflow_env())
        db.resetdb()
        dag = DagBag(str(ROOT / "dags")).get_dag("release_acme_shop")
        emulator = EmulatorClient(env.kube_url)

        _section("release 1: acme-shop v2 (migration, blue → green, watch and bake)")
        run, _ = _release(dag, "v2")
        ok = ok and run.state == "success"

        _section("release 2: acme-shop v3-crashloop (stopped by the standby gate)")
        run, tis = _release(dag, "v3-crashloop", rollout_timeout_seconds=10, run_migration="no")
        verdict = tis["standby_gate"].xcom_pull(task_ids="standby_gate", key="verdict") or {}
        print(f"  standby gate: {verdict.get('summary', '-')}")
        ok = ok and run.state == "failed" and verdict.get("outcome") == "failing"

        _section("release 3: acme-shop v10-late-regression (fails during the bake, rolled back)")

        from kubernetes import client, config

        core = client.CoreV1Api(config.new_client_from_config(str(env.kubeconfig_path)))

        def live_colour() -> str:
            return (core.read_namespaced_service("acme-shop-svc", "default").spec.selector or {}).get(
                "color", ""
            )

        def regress_after_switch(before: str) -> None:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                now = live_colour()
                if now != before:
                    time.sleep(4)  # into the bake
                    emulator.set_behaviour("v10-late-regression", "crash_loop")
                    print(f"  (demo) v10-late-regression starts crash-looping on {now}", flush=True)
                    return
                time.sleep(0.3)

        threading.Thread(target=regress_after_switch, args=(live_colour(),), daemon=True).start()
        run, tis = _release(dag, "v10-late-regression", run_migration="no", watch_minutes=0, bake_minutes=1.0)
        report = tis["rollback"].xcom_pull(task_ids="rollback", key="incident_report")
        if report:
            print("\n" + "\n".join(f"  │ {line}" for line in report.splitlines()))
        ok = ok and run.state == "failed" and bool(report)
    finally:
        env.stop()
    _section("browse the runs")
    print(
        f"  AIRFLOW_HOME={DEMO_HOME} AIRFLOW__CORE__DAGS_FOLDER={ROOT / 'dags'} "
        f"AIRFLOW__CORE__PLUGINS_FOLDER={ROOT / 'plugins'} \\\n"
        f"    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///{DEMO_HOME}/airflow.db "
        f"PYTHONPATH={ROOT / 'plugins'} .venv/bin/airflow standalone"
    )
    print("  then open http://localhost:8080 (the password is printed by standalone)")
    _section("demo " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
