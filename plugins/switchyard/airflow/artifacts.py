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
from airflow.sdk.execution_time.xcom import XCom

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


class ArtifactLink(BaseOperatorLink):
    """The button on a task that opens what it saved (XCom key ``artifact_url``)."""

    name = "Switchyard artefact"

    def get_link(self, operator, *, ti_key) -> str:
        return XCom.get_value(ti_key=ti_key, key="artifact_url") or ""
