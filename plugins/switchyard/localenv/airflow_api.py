"""A small client of Airflow's public REST API (``/api/v2``), as a user or a script drives it:
trigger a run with conf, read run and task states, answer a human-in-the-loop approval, set a
note, read pools. Used by the demo, the end-to-end tests and the release benchmark."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from switchyard.airflow.notes import api_token

TERMINAL = {"success", "failed"}


class AirflowApiError(RuntimeError):
    def __init__(self, status: int, method: str, path: str, detail: str) -> None:
        super().__init__(f"{method} {path} → HTTP {status}: {detail[:500]}")
        self.status = status


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.username, self.password = username, password
        self._token = ""
        self._token_at = 0.0

    def _bearer(self) -> str:
        if not self._token or time.monotonic() - self._token_at > 600:
            self._token = api_token(self.base_url, self.username, self.password, timeout=30)
            self._token_at = time.monotonic()
        return self._token

    def request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        url = f"{self.base_url}/api/v2{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        request = urllib.request.Request(
            url,
            method=method,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._bearer()}"},
            data=None if body is None else json.dumps(body).encode(),
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as exc:
            raise AirflowApiError(exc.code, method, path, exc.read().decode(errors="replace")) from None
        return json.loads(raw) if raw else None

    # ------------------------------------------------------------------ DAGs and runs
    @staticmethod
    def _q(part: str) -> str:
        return urllib.parse.quote(part, safe="")

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict[str, Any]:
        """The DAG once the dag-processor has parsed it (unpaused, as the stack's settings say)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                dag = self.request("GET", f"/dags/{self._q(dag_id)}")
                if dag.get("is_paused"):
                    self.request("PATCH", f"/dags/{self._q(dag_id)}", {"is_paused": False})
                return dag
            except AirflowApiError as exc:
                if exc.status != 404 or time.monotonic() > deadline:
                    raise
            time.sleep(1)

    def trigger(
        self, dag_id: str, conf: dict[str, Any], note: str | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"conf": conf, "logical_date": None}
        if note:
            body["note"] = note
        if run_id:
            body["dag_run_id"] = run_id
        return self.request("POST", f"/dags/{self._q(dag_id)}/dagRuns", body)

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.request("GET", f"/dags/{self._q(dag_id)}/dagRuns/{self._q(run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        answer = self.request(
            "GET", f"/dags/{self._q(dag_id)}/dagRuns/{self._q(run_id)}/taskInstances", query={"limit": 100}
        )
        return {ti["task_id"]: ti for ti in answer["task_instances"]}

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {task: ti["state"] for task, ti in self.task_instances(dag_id, run_id).items()}

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout: float = 300, poll: float = 1.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if run["state"] in TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{dag_id} {run_id} still {run['state']} after {timeout:.0f} s: "
                    f"{self.task_states(dag_id, run_id)}"
                )
            time.sleep(poll)

    def wait_for_task(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        states: set[str],
        timeout: float = 300,
        poll: float = 1.0,
    ) -> str:
        """The task's state once it is one of ``states``. Every poll costs the api-server two
        requests (~75 ms of its CPU on a slow 2-core machine): at 0.3 s, a fifth of a core while a
        release runs, taken from the scheduler and the tasks being waited for."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.task_states(dag_id, run_id).get(task_id)
            if state in states:
                return state
            run_state = self.run(dag_id, run_id)["state"]
            if run_state in TERMINAL or time.monotonic() > deadline:
                raise TimeoutError(
                    f"{task_id} never reached {sorted(states)} (now {state}; run {run_state}): "
                    f"{self.task_states(dag_id, run_id)}"
                )
            time.sleep(poll)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        try:
            entry = self.request(
                "GET",
                f"/dags/{self._q(dag_id)}/dagRuns/{self._q(run_id)}/taskInstances/{self._q(task_id)}/xcomEntries/{self._q(key)}",
                query={"deserialize": "true", "stringify": "false"},
            )
        except AirflowApiError as exc:
            if exc.status == 404:
                return None
            raise
        return entry.get("value")

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        content = self._task_log_content(dag_id, run_id, task_id, try_number)
        if isinstance(content, list):
            return "\n".join(e.get("event", "") if isinstance(e, dict) else str(e) for e in content)
        return str(content)

    def task_log_entries(
        self, dag_id: str, run_id: str, task_id: str, try_number: int = 1
    ) -> list[dict[str, Any]]:
        """The task's structured log lines (``timestamp``, ``event``, ...); [] for a plain-text log."""
        content = self._task_log_content(dag_id, run_id, task_id, try_number)
        return [e for e in content if isinstance(e, dict)] if isinstance(content, list) else []

    def _task_log_content(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> Any:
        answer = self.request(
            "GET",
            f"/dags/{self._q(dag_id)}/dagRuns/{self._q(run_id)}/taskInstances/{self._q(task_id)}/logs/{try_number}",
            query={"full_content": "true"},
        )
        return answer.get("content", "")

    # ------------------------------------------------------------------ people and capacity
    def pending_approvals(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's approvals still waiting for an answer. The run is named in the path: on
        ``/dags/~/dagRuns/~/hitlDetails`` the API takes no ``dag_id``/``dag_run_id`` query and
        lists every run's, so a wait for this run's approval could end on another run's."""
        answer = self.request("GET", f"/dags/{self._q(dag_id)}/dagRuns/{self._q(run_id)}/hitlDetails")
        return [d for d in answer.get("hitl_details", []) if not d.get("response_received")]

    def answer_approval(
        self, dag_id: str, run_id: str, task_id: str, option: str, map_index: int = -1
    ) -> Any:
        return self.request(
            "PATCH",
            f"/dags/{self._q(dag_id)}/dagRuns/{self._q(run_id)}/taskInstances/{self._q(task_id)}/{map_index}/hitlDetails",
            {"chosen_options": [option], "params_input": {}},
        )

    def occupied_slots(self) -> int:
        """Worker slots in use across every pool (running + queued tasks; deferred ones hold none)."""
        pools = self.request("GET", "/pools", query={"limit": 100})["pools"]
        return sum(p.get("running_slots", 0) + p.get("queued_slots", 0) for p in pools)
