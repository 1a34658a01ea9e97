"""The release's one-paragraph summary: task log, XCom, and the DAG run note (the UI's audit trail)."""

from __future__ import annotations

import logging
from typing import Any

from switchyard.release.evidence import BEFORE_TRAFFIC_MOVES, GATES, first_failure

log = logging.getLogger(__name__)


def summarise_release(app: str = "", **context: Any) -> dict[str, Any]:
    """Collect what the release decided from XCom, log it, and set the run note when possible.
    It always names the app, the version, where traffic is and, for a failed run, the step that
    failed and why — also when the run stopped before it had a plan (lock, plan, pre-checks)."""
    from switchyard.release.records import intervention_line  # records needs the cluster client

    ti, params = context["ti"], context["params"]
    plan = ti.xcom_pull(task_ids="plan") or {}
    abort = ti.xcom_pull(task_ids="abort_standby") or {}
    switch = ti.xcom_pull(task_ids="switch_traffic") or {}
    gates = {}
    for gate in GATES:
        verdict = ti.xcom_pull(task_ids=gate, key="verdict")
        if verdict:
            gates[gate] = verdict["outcome"]
    evidence = first_failure(ti)
    root_cause = evidence.root_text() if evidence.root_cause else ""
    if root_cause and evidence.chain:
        root_cause += f"; chain: {evidence.chain_text()}"
    rollback = ti.xcom_pull(task_ids="rollback") or {}
    load = ti.xcom_pull(task_ids="load_test", key="load_test") or {}
    canary = ti.xcom_pull(task_ids="canary", key="canary") or {}
    stepped_in = [
        (step, request)
        for step in ("canary", "watch", "bake")
        for request in [ti.xcom_pull(task_ids=step, key="intervention")]
        if request
    ]
    load_line = (ti.xcom_pull(task_ids="load_test", key="decision") or {}).get("load_test", "")
    live_now = switch.get("target") if switch else plan.get("live", "") or abort.get("traffic_on", "")
    outcome = "switched" if switch else ("dry run" if params.get("dry_run") else "not switched")
    if rollback:
        live_now, outcome = rollback.get("to", ""), f"switched, then rolled back ({rollback.get('mode')})"
    elif switch and evidence.step and evidence.step not in BEFORE_TRAFFIC_MOVES:
        outcome = f"switched, then failed at {evidence.step}; NOT rolled back"
    # the failed step and its error; with a root cause from the model, the step alone (no repeat)
    failure = (
        "" if not evidence.step else f"failed at {evidence.step}" if root_cause else evidence.failed_at()
    )
    summary = {
        "app": plan.get("app") or app,
        "version": params.get("version"),
        "from": f"{plan.get('live') or '-'} {plan.get('live_version') or ''}".strip(),
        "to": plan.get("standby", ""),
        "outcome": outcome,
        "traffic_on": live_now,
        "gates": gates,
        "root_cause": root_cause or evidence.cause,
        "failed_step": evidence.step,
    }
    if load:
        summary["load_test"] = {
            "passed": bool(load.get("passed")),
            "figures": load.get("figures") or {},
            "thresholds": load.get("thresholds") or {},
            "problems": load.get("problems") or [],
        }
    if canary:
        checks = canary.get("checks") or []
        summary["canary"] = {
            "percent": canary.get("percent"),
            "passed": bool(checks) and all(c.get("passed") for c in checks),
            "checks": len(checks),
            "last": {k: (checks[-1] if checks else {}).get(k) for k in ("metrics", "thresholds", "problems")},
            "line": canary.get("line", ""),
        }
    note = (
        f"{summary['app']} {summary['version']}: {outcome}; traffic on {live_now or 'unknown'}"
        + (f" (was {summary['from']})" if plan.get("live") else "")
        + "; gates: "
        + (", ".join(f"{g.split('.')[-1]} {o}" for g, o in gates.items()) or "none ran")
        + (f"; {failure}" if failure else "")
        + (f"; root cause: {root_cause}" if root_cause else "")
        + (f"; reason: {params['reason']}" if params.get("reason") else "")
        + (f"; load test {'passed' if load.get('passed') else 'FAILED'}: {load_line}" if load else "")
        + (f"; canary {canary.get('line', '')}" if canary else "")
        + "".join(f"; {intervention_line(r)} (during the {step})" for step, r in stepped_in)
    )
    summary["note"] = note[:1000]
    log.info("RELEASE SUMMARY: %s", summary["note"])
    from switchyard.airflow.notes import set_run_note

    set_run_note(context["dag"].dag_id, context["run_id"], summary["note"])
    return summary
