"""What every Switchyard operator shares: the model, its release spec, the cluster client, and
one logged decision line per task (the audit trail in the task log and XCom)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from switchyard.engine.errors import SwitchyardError
from switchyard.engine.model import Model, load_model
from switchyard.release.spec import ReleaseSpec, release_spec


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
        return KubernetesHook(conn_id=self.kubernetes_conn_id)

    @cached_property
    def api_client(self):
        return self.hook.api_client

    def decide(self, context: Context, saw: str, decided: str, *, stops: bool = False, **details: Any) -> None:
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
