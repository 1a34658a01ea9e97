"""What every Switchyard operator shares: the model, its release spec, the cluster client, and
one logged decision line per task (the audit trail in the task log and XCom)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from switchyard.engine.errors import SwitchyardError
from switchyard.engine.model import Model, load_model
from switchyard.release.spec import ReleaseSpec, release_spec

if TYPE_CHECKING:  # the provider's hook pulls in both Kubernetes clients (~0.4 s): execute-time only
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

ACTIVE_RUN_STATES = ("queued", "running")


def airflow_run_state(ti: Any, dag_id: str, run_id: str) -> str | None:
    """A run's state from Airflow through the Task SDK (tasks have no database access): ``absent``
    when there is no such run, None when Airflow cannot be asked."""
    if not dag_id or dag_id == "?":
        return None
    try:
        if ti.get_dr_count(dag_id=dag_id, run_ids=[run_id]) == 0:
            return "absent"
        state = ti.get_dagrun_state(dag_id=dag_id, run_id=run_id)
        # The Task SDK hands back a DagRunState enum on the real runtime: str() of it reads
        # "DagRunState.RUNNING", which no state name matches (a running holder looked finished).
        return str(getattr(state, "value", state)).lower()
    except Exception:  # an older Task SDK or an API error: the caller falls back on the lease's expiry
        return None


class SwitchyardOperator(BaseOperator):
    """Base: holds ``model_path`` and connection ids; subclasses implement ``execute``.

    :param model_path: the system model file (``include/models/<app>.model.yaml``)
    :param kubernetes_conn_id: Airflow connection of the cluster (kubeconfig, in-cluster or EKS)
    """

    template_fields: Sequence[str] = ("model_path",)
    ui_color = "#e8f0fe"

    def __init__(
        self, *, model_path: str, kubernetes_conn_id: str = "kubernetes_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.model_path = model_path
        self.kubernetes_conn_id = kubernetes_conn_id

    @cached_property
    def model(self) -> Model:
        try:
            return load_model(self.model_path)
        except (SwitchyardError, ValueError, OSError) as exc:
            # A model that does not validate will not validate on a retry: fail at once.
            raise AirflowFailException(f"model {self.model_path} cannot be used: {exc}") from None

    @cached_property
    def spec(self) -> ReleaseSpec:
        model = self.model
        try:
            return release_spec(model)
        except (SwitchyardError, ValueError) as exc:
            raise AirflowFailException(f"model {self.model_path}: release section: {exc}") from None

    @cached_property
    def hook(self) -> KubernetesHook:
        """The provider's hook, its client made the release client (``release_client``: no hidden
        retries, a default request timeout) before any of the hook's API objects
        (``core_v1_client``, ``batch_v1_client``...) is built on it."""
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

        from switchyard.release.calls import release_client

        hook = KubernetesHook(conn_id=self.kubernetes_conn_id)
        release_client(hook.api_client)
        return hook

    @cached_property
    def api_client(self):
        return self.hook.api_client

    @property
    def core(self):
        """The hook's ``CoreV1Api`` (one per task, on the release client)."""
        return self.hook.core_v1_client

    @cached_property
    def coordination(self):
        """``CoordinationV1Api`` on the hook's client (the hook has no accessor for it)."""
        from kubernetes.client import CoordinationV1Api

        return CoordinationV1Api(self.api_client)

    def history(self):
        """The app's release records (``switchyard.release.records.ReleaseHistory``)."""
        from switchyard.release.records import ReleaseHistory

        return ReleaseHistory(self.core, self.spec.app, self.spec.namespace)

    def release_lock(self):
        """The app's release lock (``switchyard.release.lock.ReleaseLock``)."""
        from switchyard.release.lock import ReleaseLock

        return ReleaseLock(self.coordination, self.spec.app, self.spec.namespace)

    def traffic_switch(self):
        """The app's traffic switch (``switchyard.release.switch``), by the model's ``release.switch``:
        every task that reads the live colour or moves traffic asks this one."""
        from switchyard.release.switch import switch_for

        return switch_for(self.spec, self.api_client, log=self.log.info)

    def renew_lock(self, context: Context) -> None:
        """Push this run's release lock forward (long steps call it, so a lease never runs out under
        a release that is still going). Never fails the step: the lock is a guard, not the work."""
        try:
            lock = self.release_lock()
            self.log.info("release lock: %s", lock.renew(context["run_id"]))
        except Exception as exc:  # reported, not raised
            self.log.warning("could not renew the release lock: %s", exc)

    def decide(
        self, context: Context, saw: str, decided: str, *, stops: bool = False, **details: Any
    ) -> None:
        """The task's one decision line: what it saw and what it decided (log + XCom ``decision``).
        ``stops=True``: the decision stops the release (the failure path reads this flag, never the
        wording of ``decided``)."""
        self.log.info("DECISION: saw %s — decided %s", saw, decided)
        context["ti"].xcom_push(
            key="decision",
            value=json.loads(
                json.dumps({"saw": saw, "decided": decided, "stops": stops, **details}, default=str)
            ),
        )
