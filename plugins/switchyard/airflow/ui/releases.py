"""What the Releases view shows for one app: live colour and version, the release records, and the
model's graph with the chain of the last failed or rolled-back release drawn on it.

Everything is read, nothing is written: the records from the app's ConfigMap
(``switchyard.release.records``), the live colour from the switch the model's release spec names (the
Service selector or the gateway ConfigMap), the live version from the image of the live colour's
first serving deployment. A read that fails is shown on the page with its reason; it never hides
the other apps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from switchyard.engine.graph import svg
from switchyard.engine.model import Model, load_model
from switchyard.engine.notation import root_text
from switchyard.engine.reasoning import Health
from switchyard.release.records import ReleaseHistory, ReleaseRecord
from switchyard.release.spec import ReleaseSpec, release_spec

FAILED_STATUSES = ("Failed", "RolledBack")
DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[4] / "include" / "models"


def models_dir() -> Path:
    """``$SWITCHYARD_MODELS_DIR``, else ``$SWITCHYARD_INCLUDE_DIR/models`` (as the drift check), else
    ``include/models`` of the project (beside ``plugins/``)."""
    if os.environ.get("SWITCHYARD_MODELS_DIR"):
        return Path(os.environ["SWITCHYARD_MODELS_DIR"])
    if os.environ.get("SWITCHYARD_INCLUDE_DIR"):
        return Path(os.environ["SWITCHYARD_INCLUDE_DIR"]) / "models"
    return DEFAULT_MODELS_DIR


def model_files(directory: Path | None = None) -> list[Path]:
    """One model per app, as the release DAGs are generated: ``<app>.model.yaml``."""
    return sorted((directory or models_dir()).glob("*.model.yaml"))


def release_dag_id(app: str) -> str:
    """The release DAG of an app (dags/release.py names it so)."""
    return f"release_{app.replace('-', '_')}"


@dataclass
class AppReleases:
    app: str
    dag_id: str
    namespace: str = ""
    service: str = ""
    live_colour: str | None = None
    live_version: str = ""
    records: list[ReleaseRecord] = field(default_factory=list)  # newest first
    problems: list[str] = field(default_factory=list)  # reads that failed, with their reason
    graph_svg: str = ""

    @property
    def active(self) -> ReleaseRecord | None:
        return next((r for r in self.records if r.status == "Active"), None)

    @property
    def last_failure(self) -> ReleaseRecord | None:
        return next((r for r in self.records if r.status in FAILED_STATUSES), None)


def chain_health(model: Model, record: ReleaseRecord | None) -> dict[str, Health]:
    """Colour the components of a recorded failure chain: the root cause and what it took down."""
    if record is None:
        return {}
    health = {}
    for name in record.chain:
        if name in model.components:
            state = "root cause" if name == record.root_cause else "on the chain"
            health[name] = Health(name, state, "ok", observed=True)
    return health


def read_app(
    model_file: Path, kubernetes_conn_id: str = "kubernetes_default", request_timeout: float = 5.0
) -> AppReleases:
    """Everything the page shows for the app of one model file."""
    app = model_file.name.removesuffix(".model.yaml")
    view = AppReleases(app=app, dag_id=release_dag_id(app))
    try:
        model = load_model(model_file)
        spec = release_spec(model)
    except Exception as exc:  # a broken model is shown, not a broken page
        view.problems.append(f"model {model_file.name}: {exc}")
        return view
    view.app, view.namespace, view.service = spec.app, spec.namespace, spec.service
    view.dag_id = release_dag_id(spec.app)

    from switchyard.probes.cluster import ClusterReader

    cluster = ClusterReader(kubernetes_conn_id=kubernetes_conn_id, request_timeout=request_timeout)
    try:
        records, unreadable = ReleaseHistory(cluster.core, spec.app, spec.namespace).read_readable()
        view.records = list(reversed(records))
        view.problems.extend(unreadable)
    except Exception as exc:
        view.problems.append(
            f"release records (configmap {spec.namespace}/switchyard-releases-{spec.app}): {_why(exc)}"
        )
    try:
        view.live_colour, view.live_version = live_release(cluster, spec)
    except Exception as exc:
        view.problems.append(f"live colour ({spec.switch} of {spec.namespace}/{spec.service}): {_why(exc)}")
    failure = view.last_failure
    title = f"{spec.app}: " + (
        f"release #{failure.number} {failure.version} ({failure.status}), root cause "
        f"{root_text(failure.root_cause, failure.root_state) if failure.root_cause else 'unknown'}"
        if failure
        else "no failed release on record"
    )
    view.graph_svg = svg(model, failure.chain if failure else [], chain_health(model, failure), title)
    return view


def live_release(cluster, spec: ReleaseSpec) -> tuple[str | None, str]:
    """(live colour, the version its first serving deployment runs) — (None, "") before a first release."""
    from switchyard.release.switch import switch_for

    switch = switch_for(spec, cluster.core.api_client, request_timeout=cluster.request_timeout)
    colour = switch.live_colour()
    if colour is None:
        return None, ""
    first = spec.layout.serving(colour)[0]
    deployment = cluster.deployment(first, spec.layout.namespace(first))
    image = deployment.image if deployment else ""
    return colour, image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""


def _why(exc: Exception) -> str:
    from switchyard.probes.errors import ReadFailed, from_kubernetes

    failed = exc if isinstance(exc, ReadFailed) else from_kubernetes(exc, type(exc).__name__)
    return f"{failed.status}: {failed.detail}"


# The steps that wait in the triggerer and read a person's abort / promote at every sample.
WAITING_STEPS = ("canary", "watch", "bake")


def waiting_runs(dag_ids: list[str]) -> dict[tuple[str, str], str]:
    """(dag_id, run_id) → the step it waits in, for the runs whose canary, watch or bake task is
    deferred now (read from Airflow's database: the only place that knows a trigger holds it)."""
    if not dag_ids:
        return {}
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id).where(
                TaskInstance.dag_id.in_(dag_ids),
                TaskInstance.task_id.in_(WAITING_STEPS),
                TaskInstance.state == TaskInstanceState.DEFERRED,
            )
        ).all()
    return {(dag_id, run_id): task_id for dag_id, run_id, task_id in rows}
