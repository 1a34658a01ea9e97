"""DAG-run notes through Airflow's REST API (the Task SDK has no call for its own run's note).

Configure an HTTP connection ``airflow_api`` (host = the api-server URL, login/password of a user
allowed to edit runs). Without it the note is skipped with a log line: the summary stays in the
task log and XCom.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request

log = logging.getLogger(__name__)


def set_run_note(dag_id: str, run_id: str, note: str, conn_id: str = "airflow_api") -> bool:
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # a missing connection is the documented "notes off" switch
        log.info("no %s connection: run note not set (the summary is in this log and in XCom)", conn_id)
        return False
    base = (conn.host or "").rstrip("/")
    if conn.port and "://" in base and base.count(":") < 2:
        base = f"{base}:{conn.port}"
    try:
        token_request = urllib.request.Request(
            f"{base}/auth/token",
            method="POST",
            headers={"Content-Type": "application/json"},
            data=json.dumps({"username": conn.login, "password": conn.password}).encode(),
        )
        with urllib.request.urlopen(token_request, timeout=10) as response:
            token = json.load(response)["access_token"]
        path = f"/api/v2/dags/{urllib.parse.quote(dag_id)}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
        patch = urllib.request.Request(
            f"{base}{path}?update_mask=note",
            method="PATCH",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            data=json.dumps({"note": note[:1000]}).encode(),
        )
        with urllib.request.urlopen(patch, timeout=10):
            pass
    except Exception as exc:  # the note is best effort; the release outcome is not
        log.warning("could not set the run note through %s: %s", base, exc)
        return False
    return True
