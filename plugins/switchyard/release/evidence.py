"""What made a release stop: the first failing step, its root cause and chain, or its error, read
back from XCom. Gates leave a verdict, watches checkpoints, operators a decision line; a step that
failed by an exception leaves its error (key ``error``, pushed by ``record_task_error``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from switchyard.engine.notation import chain_text, root_text

# The steps whose failure stops a release, in the order they run.
STEPS = (
    "lock",
    "version_in_history",
    "plan",
    "pre_checks.live_path_gate",
    "pre_checks.backup_live",
    "pre_checks.image_in_registry",
    "pre_checks.standby_manifests_dry_run",
    "deploy_standby",
    "standby_gate",
    "migrate",
    "smoke_tests",
    "load_test",
    "canary",
    "approve",
    "switch_traffic",
    "live_path_gate_after_switch",
    "watch",
    "bake",
)
# The model gates among them (their XCom ``verdict`` is the run's gate summary).
GATES = ("pre_checks.live_path_gate", "standby_gate", "live_path_gate_after_switch")
# Failures up to and including the switch (before it moved traffic) are the abort's; later ones the rollback's.
BEFORE_TRAFFIC_MOVES = STEPS[: STEPS.index("switch_traffic") + 1]
ERROR_KEY = "error"  # XCom key of the error a step failed with
# XCom key of the deployments a rollout step left unfinished (component → why): the gate after it
# still runs on them, and its root cause is the step's (DIAGNOSED_BY).
ROLLOUT_INCOMPLETE = "rollout_incomplete"
DIAGNOSED_BY = {"deploy_standby": "standby_gate"}
MAX_ERROR = 500  # characters of an error kept in XCom, records and notifications


def describe_error(exc: BaseException | None) -> str:
    """One line naming an exception: for a Kubernetes API error its status, reason and the API
    server's message (not the response headers); otherwise the exception's type and message."""
    if exc is None:
        return "failed without an error message (killed, timed out or lost its worker)"
    status = getattr(exc, "status", None)
    if type(exc).__name__ == "ApiException" or (isinstance(status, int) and hasattr(exc, "reason")):
        message = ""
        try:
            message = (json.loads(getattr(exc, "body", "") or "{}") or {}).get("message", "")
        except (ValueError, AttributeError):
            message = str(getattr(exc, "body", "") or "")[:200]
        text = f"Kubernetes API answered HTTP {status} {getattr(exc, 'reason', '') or ''}".rstrip()
        text += f": {message}" if message else ""
    else:
        name = type(exc).__name__
        detail = " ".join(str(exc).split())
        generic = name in ("AirflowFailException", "AirflowException")
        text = detail if generic and detail else f"{name}: {detail}" if detail else name
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


@dataclass
class Evidence:
    step: str = ""
    root_cause: str = ""
    chain: list[str] = field(default_factory=list)
    reason: str = ""
    confirmed: bool = False
    root_state: str = ""  # the root cause's state, when the model named one

    @property
    def cause(self) -> str:
        """The model's root cause when one was named, else what the step saw or failed with."""
        return self.root_cause or self.reason

    def root_text(self) -> str:
        """The root cause as written everywhere (``rds (stopped)``), else what the step saw."""
        return root_text(self.root_cause, self.root_state) if self.root_cause else self.reason

    def chain_text(self) -> str:
        """The chain as written everywhere (``cloudflare → … → rds (stopped)``; ``-``: none)."""
        return chain_text(self.chain, self.root_state)

    def line(self) -> str:
        if self.root_cause:
            return f"{self.root_text()} at {self.step} (chain: {self.chain_text()})"
        return f"{self.reason or 'unknown'} at {self.step}" if self.step else ""

    def failed_at(self) -> str:
        """``failed at <step>: <cause>`` — what every failure message says when nothing better is known."""
        if not self.step:
            return "failed at an unknown step (no task left a verdict or an error)"
        return f"failed at {self.step}: {self.root_text() or 'no reason recorded'}"


def first_failure(ti: Any, steps: tuple[str, ...] = STEPS) -> Evidence:
    """The earliest step that left failing evidence: a gate verdict, a watch checkpoint, a
    decision line, or the error it failed with. A step that names no root cause itself (a rollout
    that did not finish) takes the one its diagnosing gate named (``DIAGNOSED_BY``)."""
    evidence = _first_failure(ti, steps)
    gate = DIAGNOSED_BY.get(evidence.step)
    if gate and not evidence.root_cause:
        verdict = ti.xcom_pull(task_ids=gate, key="verdict") or {}
        if verdict.get("outcome") == "failing" and verdict.get("root_cause"):
            evidence.root_cause, evidence.chain = verdict["root_cause"], verdict.get("chain") or []
            evidence.confirmed = bool(verdict.get("root_confirmed"))
    return evidence


# Task states of a step that never ran, so left no XCom to read.
NEVER_RAN = frozenset({"skipped", "upstream_failed", "removed", "scheduled", "queued", "none"})


def steps_that_ran(ti: Any, steps: tuple[str, ...]) -> tuple[str, ...]:
    """``steps`` less those Airflow says never ran, from one read of the run's task states: each
    XCom read is a round trip to the execution API (four per step), and on the real runtime reading
    every step took the failure path 6 s. All of ``steps`` when the states cannot be read."""
    try:
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id])
        run_states = states[ti.run_id]
        return tuple(
            step
            for step in steps
            if str(getattr(run_states.get(step), "value", run_states.get(step))).lower() not in NEVER_RAN
        )
    except Exception:  # the failure path works with what it can read: then it reads every step
        return steps


def _first_failure(ti: Any, steps: tuple[str, ...]) -> Evidence:
    for step in steps_that_ran(ti, steps):
        verdict = ti.xcom_pull(task_ids=step, key="verdict")
        checkpoints = ti.xcom_pull(task_ids=step, key="checkpoints") or []
        failed = next((c for c in checkpoints if not c.get("passed")), None)
        if failed:
            root = failed.get("root_cause") or ""
            return Evidence(
                step,
                root if root != "none" else "",
                failed.get("chain") or [],
                "; ".join(failed.get("problems") or []),
                bool(root and root != "none"),
                failed.get("root_state") or "",
            )
        if verdict and verdict.get("outcome") != "healthy":
            if verdict.get("outcome") == "failing":
                return Evidence(
                    step,
                    verdict["root_cause"],
                    verdict.get("chain") or [],
                    verdict.get("summary", ""),
                    bool(verdict.get("root_confirmed")),
                    verdict.get("root_state") or "",
                )
            return Evidence(step, "", [], verdict.get("summary", "unknown"), False)
        decision = ti.xcom_pull(task_ids=step, key="decision")
        if decision and decision.get("stops"):
            return Evidence(
                step,
                decision.get("root_cause", ""),
                decision.get("chain") or [],
                decision.get("saw", ""),
                root_state=decision.get("root_state", ""),
            )
        error = ti.xcom_pull(task_ids=step, key=ERROR_KEY)
        if error:
            return Evidence(step, "", [], str(error.get("error") if isinstance(error, dict) else error))
    return Evidence()


def keep_traffic_on_new(
    evidence: Evidence, new_components: list[str], shared: tuple[str, ...], old_fails_same: Any
) -> str:
    """Why traffic should stay on the new colour instead of rolling back ("" = roll back).

    Only a confirmed root cause that both colours depend on keeps traffic: one the model's
    ``release.shared`` declares, or one the old colour fails its own gate on too
    (``old_fails_same()``, asked only then). Any other root outside the new colour's components
    (the Service, the ingress, a dependency the new version overloads) is rolled back."""
    root = evidence.root_cause
    if not (evidence.confirmed and root) or root in new_components:
        return ""
    if root in shared:
        return f"root cause {root} is shared by both colours (release.shared)"
    if old_fails_same():
        return f"root cause {root}: the old colour fails its gate on it too"
    return ""
