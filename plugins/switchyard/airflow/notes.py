"""DAG-run notes through Airflow's REST API (the Task SDK has no call for its own run's note).

Configure an HTTP connection ``airflow_api`` (host = the api-server URL, login/password of a user
allowed to edit runs). Without it the note is skipped with a log line: the summary stays in the
task log and XCom. The PATCH goes through the http provider's ``HttpHook`` on that connection (its
URL, port, TLS and proxy settings, extras); the api-server wants a JWT, not the Basic auth the hook
would send, so the hook's auth is ``ApiServerToken``, which trades the login for a token with
``api_token`` — the one token fetch of the project (``switchyard.localenv.airflow_api`` uses it too).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request
from typing import Any

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
API_PREFIX = "/api/v2/"  # the public REST API; the token endpoint is /auth/token beside it


def api_token(base_url: str, username: str, password: str, timeout: float = TIMEOUT_SECONDS) -> str:
    """A JWT for the REST API from the api-server at ``base_url`` (``POST /auth/token``, which the
    simple and the FAB auth managers both serve)."""
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/auth/token",
        method="POST",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"username": username, "password": password}).encode(),
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.load(answer)["access_token"]


class ApiServerToken:
    """``requests`` auth for ``HttpHook`` (its ``auth_type``: built with the connection's login and
    password): a bearer token from the api-server the request goes to."""

    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password

    def __call__(self, request: Any) -> Any:
        base = request.url.split(API_PREFIX, 1)[0]
        request.headers["Authorization"] = f"Bearer {api_token(base, self.username, self.password)}"
        return request


def set_run_note(dag_id: str, run_id: str, note: str, conn_id: str = "airflow_api") -> bool:
    """Set the run's note (the first 1000 characters); False, with a log line, when it could not be
    set. Never raises: the note is best effort, the release outcome is not."""
    from airflow.providers.http.hooks.http import HttpHook
    from airflow.sdk import BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except Exception:  # a missing connection is the documented "notes off" switch
        log.info("no %s connection: run note not set (the summary is in this log and in XCom)", conn_id)
        return False
    path = f"{API_PREFIX}dags/{urllib.parse.quote(dag_id, safe='')}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
    hook = HttpHook(method="PATCH", http_conn_id=conn_id, auth_type=ApiServerToken)
    try:
        hook.run(
            f"{path}?update_mask=note",
            json={"note": note[:1000]},
            extra_options={"timeout": TIMEOUT_SECONDS},
        )
    except Exception as exc:  # the note is best effort; the release outcome is not
        log.warning("could not set the run note through connection %s: %s", conn_id, exc)
        return False
    return True
