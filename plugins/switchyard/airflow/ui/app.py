"""The FastAPI app of the Releases view, mounted by the api-server at ``/switchyard``:

* ``GET /switchyard/releases`` — the Releases page (HTML);
* ``GET /switchyard/artifacts/<dag_id>/<run_id>/<file>`` — a run artefact (a directory gives a list);
* ``POST /switchyard/dags/<dag_id>/runs/<run_id>/intervention`` with JSON ``{"action": "abort" |
  "promote", "reason": "..."}`` — a person steps in while the release waits (canary, watch,
  bake): the request goes into the release record with the caller's name, and the waiting
  trigger acts on it at its next sample. Needs edit permission on the DAG's runs; JSON only (a
  cross-site form cannot send it).

Both sit behind Airflow's authentication (the UI's session cookie or a bearer token, as the REST
API) and the auth manager's read permission on DAG runs — of the DAG named in the path for
artefacts. Cluster reads use the Airflow connection ``kubernetes_default`` (override:
``$SWITCHYARD_KUBERNETES_CONN_ID``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field


class InterventionRequest(BaseModel):
    action: Literal["abort", "promote"]
    reason: str = Field("", max_length=500)


def _authorised():
    """The dependency chain: Airflow's ``get_user`` then the DAG-run read check."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return Depends(requires_access_dag("GET", DagAccessEntity.RUN))


def _may_edit_runs():
    """Edit permission on the runs of the DAG named in the path (a person stepping in)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return Depends(requires_access_dag("PUT", DagAccessEntity.RUN))


def _user_dependency():
    from airflow.api_fastapi.core_api.security import get_user

    return Depends(get_user)


def base_path() -> str:
    """The path Airflow's UI lives under (``[api] base_url``'s path; empty at the host's root)."""
    from airflow.configuration import conf

    return urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


def create_app() -> FastAPI:
    app = FastAPI(
        title="Switchyard",
        description="Releases view and run artefacts of Switchyard's blue/green release DAGs",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("releases")

    @app.get("/releases", response_class=HTMLResponse, dependencies=[_authorised()])
    def releases() -> HTMLResponse:
        from switchyard.airflow.artifacts import artifacts_root
        from switchyard.airflow.ui.page import PAGE_HEADERS, releases_page
        from switchyard.airflow.ui.releases import model_files, read_app

        conn_id = os.environ.get("SWITCHYARD_KUBERNETES_CONN_ID", "kubernetes_default")
        views = [read_app(path, conn_id) for path in model_files()]
        prefix = base_path()
        links = {v.app: run_artifact_links(artifacts_root(), v, prefix) for v in views}
        return HTMLResponse(releases_page(views, prefix, links), headers=PAGE_HEADERS)

    @app.get("/artifacts/{dag_id}/{rest:path}", dependencies=[_authorised()])
    def artifact(dag_id: str, rest: str, request: Request):
        from switchyard.airflow.artifacts import artifacts_root
        from switchyard.airflow.ui.artifacts import SAFE_HEADERS, listing, media_type, resolve_artifact
        from switchyard.airflow.ui.page import listing_page

        relative = f"{dag_id}/{rest}" if rest else dag_id
        root = artifacts_root()
        target = resolve_artifact(root, relative)
        if target is None:
            raise HTTPException(404, "no such artefact")
        if target.is_dir():
            if not request.url.path.endswith("/"):
                return RedirectResponse(request.url.path + "/")
            return HTMLResponse(listing_page(relative, listing(root, target)), headers=SAFE_HEADERS)
        return FileResponse(target, media_type=media_type(target), headers=SAFE_HEADERS)

    current_user = _user_dependency()

    @app.post("/dags/{dag_id}/runs/{run_id}/intervention", dependencies=[_may_edit_runs()])
    def intervene(dag_id: str, run_id: str, body: InterventionRequest, user=current_user) -> JSONResponse:
        from kubernetes.client import CoreV1Api

        from switchyard.airflow.ui.releases import model_files, release_dag_id
        from switchyard.engine.model import load_model
        from switchyard.probes.cluster import ClusterReader
        from switchyard.release.records import ReleaseHistory, intervention_line
        from switchyard.release.spec import release_spec

        spec = None
        for path in model_files():
            if release_dag_id(path.name.removesuffix(".model.yaml")) == dag_id:
                spec = release_spec(load_model(path))
        if spec is None:
            raise HTTPException(404, f"no release DAG {dag_id} (no model for it in the models directory)")
        conn_id = os.environ.get("SWITCHYARD_KUBERNETES_CONN_ID", "kubernetes_default")
        core = ClusterReader(kubernetes_conn_id=conn_id).core
        history = ReleaseHistory(CoreV1Api(core.api_client), spec.app, spec.namespace)
        name = getattr(user, "get_name", lambda: "")() or getattr(user, "username", "") or "unknown user"
        try:
            record = history.request_intervention(run_id, body.action, str(name), body.reason)
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from None
        return JSONResponse(
            {
                "release": record.number,
                "run_id": run_id,
                "intervention": record.intervention,
                "says": intervention_line(record.intervention),
                "note": "the waiting step acts on it at its next sample",
            },
            status_code=202,
        )

    return app


def run_artifact_links(root: Path, view, prefix: str) -> dict[str, str]:
    """run_id → the URL of its artefact directory, for the runs that wrote any."""
    from switchyard.airflow.artifacts import _safe as safe_part
    from switchyard.airflow.ui.artifacts import resolve_artifact

    links = {}
    for record in view.records:
        dag_id = record.dag_id or view.dag_id
        relative = f"{safe_part(dag_id)}/{safe_part(record.run_id)}"
        if record.run_id and resolve_artifact(root, relative) is not None:
            links[record.run_id] = f"{prefix}/switchyard/artifacts/{quote(relative)}/"
    return links
