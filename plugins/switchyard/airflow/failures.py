"""The error a release step failed with, kept where the failure path can read it.

A gate names a root cause in its verdict; a step that fails by an exception (an API error, a
timeout, a bug) leaves only its task log. ``record_task_error`` is every release task's
``on_failure_callback``: it pushes the error as XCom ``error`` so abort, rollback, record,
notification, incident report and summary can say "failed at <task>: <error>".
"""

from __future__ import annotations

import logging
from typing import Any

from switchyard.release.evidence import ERROR_KEY, describe_error

log = logging.getLogger(__name__)


def record_task_error(context: dict[str, Any]) -> None:
    """on_failure_callback: the failed task's id and its error, as XCom ``error``."""
    ti = context["ti"]
    error = describe_error(context.get("exception"))
    try:
        ti.xcom_push(key=ERROR_KEY, value={"task": ti.task_id, "error": error})
    except Exception as exc:  # a callback must not hide the failure it reports
        log.warning("could not keep the error of %s in XCom: %s", ti.task_id, exc)


def failed_tasks(context: dict[str, Any]) -> list[str]:
    """The ids of this run's tasks that ended ``failed`` (not upstream_failed), from Airflow's own
    record of the run: the fallback when a step left no verdict and no error (killed, lost)."""
    ti = context["ti"]
    try:
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id])
    except Exception as exc:  # the failure path works with what it can read
        log.warning("could not read the task states of run %s: %s", ti.run_id, exc)
        return []
    run_states = states.get(ti.run_id, {}) if isinstance(states, dict) else {}
    return [
        task for task, state in run_states.items() if str(state) in ("failed", "TaskInstanceState.FAILED")
    ]
