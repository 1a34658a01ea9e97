"""The optional human approval before the switch (Flagger's confirm-promotion, seed 002)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Context


class ReleaseApprovalOperator(ApprovalOperator):
    """Approve or reject the switch, with the gates' evidence in the request body.

    The deadline comes from the run's ``approval_timeout_minutes`` param; when it passes, the
    default answer (Reject) is recorded and the release fails, like Flagger's analysis threshold
    expiring an untested green.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("defaults", self.REJECT)
        kwargs.setdefault("fail_on_reject", True)
        kwargs.setdefault("retries", 0)  # a person's Reject, or an expired deadline, is final
        super().__init__(**kwargs)

    def execute(self, context: Context) -> Any:
        minutes = float(context["params"].get("approval_timeout_minutes", 60))
        self.response_timeout = timedelta(minutes=minutes)
        self.log.info("waiting up to %.0f minute(s) for approval; no answer means Reject", minutes)
        return super().execute(context)
