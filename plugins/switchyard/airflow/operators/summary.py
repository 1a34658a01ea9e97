"""The release's one-paragraph summary: task log, XCom, and the DAG run note (the UI's audit trail)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

GATES = ("pre_checks.live_path_gate", "standby_gate", "live_path_gate_after_switch")


def summarise_release(**context: Any) -> dict[str, Any]:
    """Collect what the release decided from XCom, log it, and set the run note when possible."""
    ti, params = context["ti"], context["params"]
    plan = ti.xcom_pull(task_ids="plan") or {}
    switch = ti.xcom_pull(task_ids="switch_traffic") or {}
    gates = {}
    root_cause = ""
    for gate in GATES:
        verdict = ti.xcom_pull(task_ids=gate, key="verdict")
        if verdict:
            gates[gate] = verdict["outcome"]
            if verdict["outcome"] != "healthy" and not root_cause:
                root_cause = (
                    f"{verdict['root_cause']} ({' → '.join(verdict['chain'])})"
                    if verdict["outcome"] == "failing"
                    else "unknown: " + ", ".join(verdict["unvouched"])
                )
    rollback = ti.xcom_pull(task_ids="rollback") or {}
    live_now = switch.get("target") if switch else plan.get("live", "")
    outcome = "switched" if switch else ("dry run" if params.get("dry_run") else "not switched")
    if rollback:
        live_now, outcome = rollback.get("to", ""), f"switched, then rolled back ({rollback.get('mode')})"
        root_cause = root_cause or rollback.get("root_cause", "")
    summary = {
        "app": plan.get("app", ""),
        "version": params.get("version"),
        "from": f"{plan.get('live') or '-'} {plan.get('live_version') or ''}".strip(),
        "to": plan.get("standby", ""),
        "outcome": outcome,
        "traffic_on": live_now,
        "gates": gates,
        "root_cause": root_cause,
    }
    note = (
        f"{summary['app']} {summary['version']}: {outcome}; traffic on {live_now or '?'}"
        f" (was {summary['from']}); gates: "
        + (", ".join(f"{g.split('.')[-1]} {o}" for g, o in gates.items()) or "none ran")
        + (f"; root cause: {root_cause}" if root_cause else "")
    )
    summary["note"] = note[:1000]
    log.info("RELEASE SUMMARY: %s", summary["note"])
    from switchyard.airflow.notes import set_run_note

    set_run_note(context["dag"].dag_id, context["run_id"], summary["note"])
    return summary
