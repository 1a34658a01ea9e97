"""Run artefacts (gate pictures, backups, incident reports): files under one directory per run,
linked from the tasks that wrote them.

Locally the directory is ``$SWITCHYARD_ARTIFACTS_DIR`` (default ``$AIRFLOW_HOME/switchyard-artifacts``)
and the Switchyard plugin serves it at ``<api base_url>/switchyard/artifacts/...``. On a shared
deployment point ``SWITCHYARD_ARTIFACTS_DIR`` at a volume every component mounts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from airflow.sdk import BaseOperatorLink, conf

URL_PREFIX = "/switchyard/artifacts"


def artifacts_root() -> Path:
    configured = os.environ.get("SWITCHYARD_ARTIFACTS_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow")) / "switchyard-artifacts"


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", part)


def write_artifact(dag_id: str, run_id: str, name: str, content: str) -> Path:
    """Write one artefact atomically; returns its path."""
    directory = artifacts_root() / _safe(dag_id) / _safe(run_id)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / _safe(name)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(content, encoding="utf-8")
    tmp.replace(path)
    return path


def artifact_url(path: Path) -> str:
    base = (conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")
    relative = path.relative_to(artifacts_root()).as_posix()
    return f"{base}{URL_PREFIX}/{relative}"


def publish_artifact(context, path: Path) -> str:
    """Push the artefact's URL (XCom ``artifact_url``) and keep it on the running task, where the
    task's link button is computed when it ends."""
    url = artifact_url(path)
    context["ti"].xcom_push(key="artifact_url", value=url)
    context["ti"].task.published_artifact_url = url
    return url


class ArtifactLink(BaseOperatorLink):
    """The button on a task that opens what it saved (XCom key ``artifact_url``).

    Airflow computes it when the task ends, with the operator that ran: the URL the task published
    is on it. Asking XCom instead logs an error for every task that failed before it saved one.
    """

    name = "Switchyard artefact"

    def get_link(self, operator, *, ti_key) -> str:
        return getattr(operator, "published_artifact_url", "") or ""
