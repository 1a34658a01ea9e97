"""The run note through the ``airflow_api`` connection (``switchyard.airflow.notes``), on the real
api-server: the note lands on the run (read back over the REST API); a missing connection or a run
the API does not know is a logged False, never an exception."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from switchyard.localenv.airflow_api import AirflowApi

DAG_ID = "switchyard_note_check"
DAG_FILE = f"""
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("{DAG_ID}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    EmptyOperator(task_id="nothing")
"""


@pytest.fixture(scope="module")
def a_run(api_server, tmp_path_factory):
    """A run of a one-task DAG, made through the REST API (the DAG written to the database first,
    as the dag-processor would)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    folder = tmp_path_factory.mktemp("note-dags")
    (folder / "note_check.py").write_text(DAG_FILE)
    bag = DagBag(dag_folder=str(folder))
    assert not bag.import_errors, bag.import_errors
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    api = AirflowApi(api_server, "admin", "unused")  # every user is an admin on this server
    run = api.request("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": None})
    return api, run["dag_run_id"]


def _connection(monkeypatch, base_url: str) -> None:
    parts = urlsplit(base_url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AIRFLOW_API",
        json.dumps(
            {"conn_type": "http", "host": parts.hostname, "port": parts.port, "schema": "http",
             "login": "admin", "password": "unused"}
        ),
    )  # fmt: skip


def test_the_note_lands_on_the_run(a_run, api_server, monkeypatch):
    from switchyard.airflow.notes import set_run_note

    api, run_id = a_run
    _connection(monkeypatch, api_server)
    note = "acme-shop v2: switched; traffic on green (was blue v1) " + "x" * 2000
    assert set_run_note(DAG_ID, run_id, note) is True
    assert api.request("GET", f"/dags/{DAG_ID}/dagRuns/{api._q(run_id)}")["note"] == note[:1000]


def test_no_connection_or_an_unknown_run_is_false_not_an_error(a_run, api_server, monkeypatch, caplog):
    from switchyard.airflow.notes import set_run_note

    monkeypatch.delenv("AIRFLOW_CONN_AIRFLOW_API", raising=False)
    assert set_run_note(DAG_ID, a_run[1], "no connection") is False
    _connection(monkeypatch, api_server)
    assert set_run_note(DAG_ID, "manual__no-such-run", "nowhere") is False
    assert "could not set the run note through connection airflow_api: 404" in caplog.text
