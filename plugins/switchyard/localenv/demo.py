"""The README's demo: ``make demo``. Whole releases of acme-shop on Airflow's real runtime.

1. The engine on the model: validate, simulate every scenario.
2. The stack (``make stack``'s PostgreSQL, api-server, scheduler, dag-processor, triggerer and the
   local environment) in ``.local-env/demo``; the releases are triggered through the REST API.
3. Release v2 (v1 → v2, with its migration): a 5 % canary on green through an ingress-nginx canary
   Ingress (two checks against blue), then blue → green, watched and baked (compressed times).
4. Release v3-crashloop: stopped by the standby gate, the crash-looping deployment named as root
   cause, traffic still on green.
5. Release v10-late-regression: healthy at first, it starts crash-looping during the bake; the
   bake catches it, traffic rolls back to green, and the incident report is printed.
Then ``make ui`` opens the same state: the three runs with their logs, notes and artefacts, and the
Releases view reading the demo's cluster.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
MODEL = ROOT / "include" / "models" / "acme-shop.model.yaml"
SCENARIOS = ROOT / "include" / "scenarios" / "acme-shop"
DEMO_HOME = ROOT / ".local-env" / "demo"
DAG_ID = "release_acme_shop"
TIME_SCALE = 60.0
FAST = {
    "grace_seconds": 5,
    "rollout_timeout_seconds": 60,
    "watch_minutes": 0.2,
    "watch_interval_seconds": 2,
    "bake_minutes": 0.5,
}
# Release 1's canary: 5 % of the traffic on green for 21 s, i.e. two checks ~10 s apart (the
# closest checks allowed: each runs the model gate). The runbook's is 10 minutes, 20 checks.
CANARY = {"canary_percent": 5, "canary_minutes": 0.35}
INGRESS = "acme-shop-ingress"
# What each release is triggered with (FAST first, then these), in the order the demo runs them.
RELEASES: dict[str, dict[str, Any]] = {
    "v2": dict(CANARY),
    "v3-crashloop": {"rollout_timeout_seconds": 10, "run_migration": "no"},
    "v10-late-regression": {"run_migration": "no", "watch_minutes": 0, "bake_minutes": 1.0},
}


def release_conf(version: str) -> dict[str, Any]:
    """The conf the demo triggers ``version`` with."""
    return {"version": version, **FAST, **RELEASES[version]}


def _section(title: str) -> None:
    print(f"\n━━ {title} " + "━" * max(0, 76 - len(title)), flush=True)


def engine() -> bool:
    from switchyard.cli import main as cli

    _section(f"switchyard model validate --model {MODEL.relative_to(ROOT)}")
    ok = cli(["model", "validate", "--model", str(MODEL)]) == 0
    _section(f"switchyard simulate --model {MODEL.relative_to(ROOT)} --all {SCENARIOS.relative_to(ROOT)}")
    return cli(["simulate", "--model", str(MODEL), "--all", str(SCENARIOS)]) == 0 and ok


def _release(api: Any, version: str, note: str, during: Any = None) -> tuple[dict, dict]:
    """Trigger one release through the REST API and print its block."""
    started = time.monotonic()
    run = api.trigger(DAG_ID, release_conf(version), note=note)
    run_id = run["dag_run_id"]
    print(f"  triggered {run_id}", flush=True)
    if during:
        during(run_id)
    final = api.wait_for_run(DAG_ID, run_id, timeout=900)
    states = api.task_states(DAG_ID, run_id)
    summary = api.xcom(DAG_ID, run_id, "summary") or {}
    print(f"  {final['state']} in {time.monotonic() - started:.0f}s")
    print(f"  {summary.get('note') or '(no summary)'}")
    failed = [task for task, state in states.items() if state == "failed"]
    if failed:
        print(f"  failed steps: {', '.join(failed)}")
    return final, states


def _ingress_class(stack: Any, name: str | None) -> str | None:
    """Put the app's Ingress on ``name``'s class; returns the class it had."""
    from kubernetes import client, config

    api = client.NetworkingV1Api(config.new_client_from_config(str(stack.kubeconfig_path)))
    before = api.read_namespaced_ingress(INGRESS, "default").spec.ingress_class_name
    api.patch_namespaced_ingress(INGRESS, "default", {"spec": {"ingressClassName": name}})
    return before


def _canary_block(api: Any, run_id: str) -> bool:
    """The canary's weight and checks: the standby's figures against the live colour's."""
    canary = api.xcom(DAG_ID, run_id, "canary", "canary") or {}
    checks = canary.get("checks") or []
    plan = api.xcom(DAG_ID, run_id, "plan") or {}
    standby, live = plan.get("standby", "standby"), plan.get("live", "live")
    print(
        f"  canary: weight {canary.get('percent', 0):g} % of the traffic on {standby} "
        f"({INGRESS}-canary; removed: {', '.join(canary.get('removed') or []) or '-'})"
    )

    def figures(side: dict[str, Any]) -> str:
        rate, ratio, p99 = side.get("request_rate"), side.get("error_ratio"), side.get("p99_seconds")
        return (
            f"{'-' if rate is None else f'{rate:.1f}'} RPS, errors {'-' if ratio is None else f'{ratio:.2%}'}, "
            f"p99 {'-' if p99 is None else f'{p99:.3f}s'}"
        )

    for check in checks:
        metrics = check.get("metrics") or {}
        print(
            f"    check {check.get('checkpoint')}: {standby} {figures(metrics.get('standby') or {})} | "
            f"live {live} {figures(metrics.get('live') or {})} — "
            + ("passed" if check.get("passed") else "FAILED: " + "; ".join(check.get("problems") or []))
        )
    print(f"  canary {canary.get('line') or '(no canary result)'}")
    return bool(checks) and all(c.get("passed") for c in checks)


def releases(stack: Any) -> bool:
    from switchyard.localenv.client import EmulatorClient

    api = stack.api()
    api.wait_for_dag(DAG_ID)
    emulator = EmulatorClient(stack.kube_url)

    _section("release 1: acme-shop v2 (migration, 5 % canary, blue → green, watch and bake)")
    # The seeded Ingress is an ALB one, which cannot split traffic by weight (the plan refuses a
    # canary there): release 1 runs behind ingress-nginx, the others on the seeded Ingress.
    seeded = _ingress_class(stack, "nginx")
    print(f"  (demo) {INGRESS} put on ingress-nginx for the canary (was {seeded or 'no class'})", flush=True)
    try:
        run, _ = _release(api, "v2", "demo 1: v2 — healthy release, with its migration and a 5 % canary")
    finally:
        _ingress_class(stack, seeded)
    ok = _canary_block(api, run["dag_run_id"]) and run["state"] == "success"

    _section("release 2: acme-shop v3-crashloop (stopped by the standby gate)")
    run, _ = _release(api, "v3-crashloop", "demo 2: v3-crashloop — stopped by the standby gate")
    verdict = api.xcom(DAG_ID, run["dag_run_id"], "standby_gate", "verdict") or {}
    print(f"  standby gate: {verdict.get('summary', '-')}")
    ok = ok and run["state"] == "failed" and verdict.get("outcome") == "failing"

    _section("release 3: acme-shop v10-late-regression (fails during the bake, rolled back)")

    def regress_in_the_bake(run_id: str) -> None:
        api.wait_for_task(DAG_ID, run_id, "bake", {"deferred"}, timeout=600)
        time.sleep(3)  # into the bake
        emulator.set_behaviour("v10-late-regression", "crash_loop")
        print("  (demo) v10-late-regression starts crash-looping during the bake", flush=True)

    run, _ = _release(
        api,
        "v10-late-regression",
        "demo 3: v10-late-regression — regresses in the bake, rolled back",
        during=regress_in_the_bake,
    )
    emulator.clear_behaviour("v10-late-regression")
    report = api.xcom(DAG_ID, run["dag_run_id"], "rollback", "incident_report")
    if report:
        print("\n" + "\n".join(f"  │ {line}" for line in report.splitlines()))
    return ok and run["state"] == "failed" and bool(report)


def main(argv: list[str] | None = None) -> int:
    import argparse

    # No options: parsing only makes `--help` say what the demo does instead of starting it.
    argparse.ArgumentParser(
        prog="python -m switchyard.localenv.demo",
        description=(__doc__ or "").split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args(argv)
    ok = engine()
    from switchyard.localenv.stack import Stack, StackError

    _section("the stack: PostgreSQL, api-server, scheduler, dag-processor, triggerer, local environment")
    # Each demo starts from the seeded cluster and an empty database: the three runs it leaves are
    # what `make ui` shows.
    shutil.rmtree(DEMO_HOME, ignore_errors=True)
    stack = Stack(state_dir=DEMO_HOME, time_scale=TIME_SCALE)
    try:
        stack.start()
    except StackError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        stack.stop()
        return 1
    try:
        print("\n".join(f"  {line}" for line in stack.banner()))
        ok = releases(stack) and ok
    finally:
        stack.stop()
    _section("browse the runs")
    print(
        "  make ui        # the same stack on the demo's state: runs, logs, notes, artefacts, Releases view"
    )
    _section("demo " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
