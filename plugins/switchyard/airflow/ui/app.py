"""The FastAPI app of the Releases view, mounted by the api-server at ``/switchyard``:

* ``GET /switchyard/releases`` — the Releases page (HTML);
* ``GET /switchyard/artifacts/<dag_id>/<run_id>/<file>`` — a run artefact (a directory gives a list);
* ``POST /switchyard/dags/<dag_id>/runs/<run_id>/intervention`` with JSON ``{"action": "abort" |
  "promote", "reason": "..."}`` — a person steps in while the release waits (canary, watch,
  bake): the request goes into the release record with the caller's name, and the waiting
  trigger acts on it at its next sample. Needs edit permission on the DAG's runs; JSON only (a
  cross-site form cannot send it);
* ``POST /switchyard/dags/<dag_id>/runs/<run_id>/intervention/form`` — the same, from the
  Releases view's "Roll back now" / "Promote now" buttons: a plain form (the page runs no script)
  with the synchronizer token the page issued to the user for that run, from this host only
  (``forms.py``); answered with a redirect (303) back to the page, which confirms from the record.

All sit behind Airflow's authentication (the UI's session cookie or a bearer token, as the REST
API) and the auth manager's read permission on DAG runs — of the DAG named in the path for
artefacts. Cluster reads use the Airflow connection ``kubernetes_default`` (override:
``$SWITCHYARD_KUBERNETES_CONN_ID``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
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

    current_user = _user_dependency()

    @app.get("/releases", response_class=HTMLResponse, dependencies=[_authorised()])
    def releases(request: Request, user=current_user) -> HTMLResponse:
        from switchyard.airflow.artifacts import artifacts_root
        from switchyard.airflow.ui.forms import form_key, issue_token
        from switchyard.airflow.ui.page import PAGE_HEADERS, Offer, releases_page
        from switchyard.airflow.ui.releases import model_files, read_app, waiting_runs

        conn_id = os.environ.get("SWITCHYARD_KUBERNETES_CONN_ID", "kubernetes_default")
        views = [read_app(path, conn_id) for path in model_files()]
        prefix = base_path()
        links = {v.app: run_artifact_links(artifacts_root(), v, prefix) for v in views}
        # The buttons: for a run whose canary, watch or bake waits now, to a user who may edit
        # the DAG's runs, each form with its own token (see forms.py). Release DAGs only, as the
        # REST call: a rollback DAG's run is not stepped into here.
        waiting = waiting_runs(sorted({v.dag_id for v in views}))
        key, editable, offers = form_key(), {}, {}
        for (dag_id, run_id), step in waiting.items():
            if dag_id not in editable:
                editable[dag_id] = may_edit_runs(user, dag_id)
            token = issue_token(key, str(user.get_id()), dag_id, run_id) if editable[dag_id] else ""
            offers[(dag_id, run_id)] = Offer(step=step, token=token)
        requested = (request.query_params.get("dag", ""), request.query_params.get("requested", ""))
        return HTMLResponse(
            releases_page(views, prefix, links, offers=offers, requested=requested), headers=PAGE_HEADERS
        )

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

    @app.post("/dags/{dag_id}/runs/{run_id}/intervention", dependencies=[_may_edit_runs()])
    def intervene(dag_id: str, run_id: str, body: InterventionRequest, user=current_user) -> JSONResponse:
        try:
            record = record_intervention(dag_id, run_id, body.action, user_name(user), body.reason)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from None
        return JSONResponse(
            {
                "release": record.number,
                "run_id": run_id,
                "intervention": record.intervention,
                "says": intervention_says(record.intervention),
                "note": "the waiting step acts on it at its next sample",
            },
            status_code=202,
        )

    @app.post("/dags/{dag_id}/runs/{run_id}/intervention/form", dependencies=[_may_edit_runs()])
    async def intervene_by_form(dag_id: str, run_id: str, request: Request, user=current_user) -> Response:
        """The Releases view's buttons: a plain form POST (the page runs no script), refused
        unless it comes from this host and carries the token the page issued to this user for
        this run; then the same path as the REST call, and back to the page (303)."""
        from starlette.concurrency import run_in_threadpool

        from switchyard.airflow.ui.forms import form_key, origin_problem, token_problem
        from switchyard.airflow.ui.page import PAGE_HEADERS, message_page

        prefix = base_path()
        problem = origin_problem(
            request.headers.get("origin"),
            request.headers.get("referer"),
            request.headers.get("host", ""),
            _configured_base_url(),
        )
        if (
            request.headers.get("content-type", "").split(";")[0].strip()
            != "application/x-www-form-urlencoded"
        ):
            problem = problem or "only the Releases view's form may post here"
        try:  # the form has three fields; anything much bigger is not ours
            form = parse_qs((await request.body())[:4096].decode("utf-8", "replace"), max_num_fields=8)
        except ValueError:
            form = {}
        field = {k: v[0] for k, v in form.items() if v}
        problem = problem or token_problem(
            form_key(), field.get("token", ""), str(user.get_id()), dag_id, run_id
        )
        if problem:
            return HTMLResponse(
                message_page("Refused", problem, prefix), status_code=403, headers=PAGE_HEADERS
            )
        action, reason = field.get("action", ""), field.get("reason", "")[:500]
        if action not in ("abort", "promote"):
            return HTMLResponse(
                message_page("Not recorded", f"unknown action {action[:20]!r}: abort or promote", prefix),
                status_code=400,
                headers=PAGE_HEADERS,
            )
        try:
            await run_in_threadpool(record_intervention, dag_id, run_id, action, user_name(user), reason)
        except LookupError as exc:
            return HTMLResponse(
                message_page("Not found", str(exc), prefix), status_code=404, headers=PAGE_HEADERS
            )
        except ValueError as exc:
            return HTMLResponse(
                message_page("Not recorded", str(exc), prefix), status_code=409, headers=PAGE_HEADERS
            )
        return RedirectResponse(
            f"{prefix}/switchyard/releases?{urlencode({'requested': run_id, 'dag': dag_id})}", status_code=303
        )

    return app


def user_name(user) -> str:
    """Who asks, as the record, the note and the notification name them."""
    return str(getattr(user, "get_name", lambda: "")() or getattr(user, "username", "") or "unknown user")


def intervention_says(request: dict) -> str:
    from switchyard.release.records import intervention_line

    return intervention_line(request)


def record_intervention(dag_id: str, run_id: str, action: str, user: str, reason: str):
    """The one implementation of a person stepping in, for the REST call and the page's buttons:
    the request goes into the run's release record, where the waiting trigger reads it.
    LookupError: no model releases ``dag_id``; ValueError: refused (a request already stands, the
    release is over, no record of the run, an unknown action)."""
    from kubernetes.client import CoreV1Api

    from switchyard.airflow.ui.releases import model_files, release_dag_id
    from switchyard.engine.model import load_model
    from switchyard.probes.cluster import ClusterReader
    from switchyard.release.records import ReleaseHistory
    from switchyard.release.spec import release_spec

    spec = None
    for path in model_files():
        if release_dag_id(path.name.removesuffix(".model.yaml")) == dag_id:
            spec = release_spec(load_model(path))
    if spec is None:
        raise LookupError(f"no release DAG {dag_id} (no model for it in the models directory)")
    conn_id = os.environ.get("SWITCHYARD_KUBERNETES_CONN_ID", "kubernetes_default")
    core = ClusterReader(kubernetes_conn_id=conn_id).core
    history = ReleaseHistory(CoreV1Api(core.api_client), spec.app, spec.namespace)
    return history.request_intervention(run_id, action, user, reason)


def may_edit_runs(user, dag_id: str) -> bool:
    """The check ``_may_edit_runs`` makes on a request, for deciding what the page offers."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.models.dag import DagModel

    try:
        team = DagModel.get_team_name(dag_id)
        details = DagDetails(id=dag_id, team_name=team)
        return bool(
            get_auth_manager().is_authorized_dag(
                method="PUT", access_entity=DagAccessEntity.RUN, details=details, user=user
            )
        )
    except Exception:  # no answer is no permission: the POST checks again anyway
        return False


def _configured_base_url() -> str:
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="") or ""


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
