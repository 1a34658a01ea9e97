"""The model gate: probe the live system, let the engine decide, pass or fail with a named cause."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from switchyard.airflow.artifacts import ArtifactLink, publish_artifact, write_artifact
from switchyard.airflow.operators.base import SwitchyardOperator
from switchyard.engine.diagnose import Diagnosis, diagnose
from switchyard.engine.graph import mermaid, svg

SCOPES = ("live", "standby", "all")


def gate_message(task_id: str, diagnosis: Diagnosis) -> str:
    """The failure message of a gate: root cause and chain, or what could not be vouched for."""
    v = diagnosis.verdict
    budget = f"probes run {diagnosis.probes_run}/{diagnosis.max_probes} ({diagnosis.stopped})"
    visibility = f"; partial visibility: {', '.join(v.partial_visibility)}" if v.partial_visibility else ""
    if v.outcome == "failing":
        unconfirmed = "" if v.root_confirmed else " [unconfirmed: not observed, behind a failing component]"
        return (
            f"gate {task_id} failed — root cause: {v.root_cause} ({v.root_state}){unconfirmed}; "
            f"chain: {' → '.join(v.chain)}; eliminated: {', '.join(v.eliminated) or '-'}; {budget}{visibility}"
        )
    reasons = "; ".join(f"{c}: {why}" for c, why in v.unvouched.items())
    return (
        f"gate {task_id} cannot vouch for {len(v.unvouched)} component(s) — outcome unknown, which is not "
        f"healthy: {reasons}; {budget}{visibility}"
    )


class ModelGateOperator(SwitchyardOperator):
    """Pass when the engine says the scope is healthy; fail naming the root cause and chain.

    :param scope: ``live`` (the path traffic takes on ``colour``), ``standby`` (the serving
        deployments of ``colour`` before it takes traffic) or ``all`` (the whole model)
    :param colour: the colour the scope is about (templated, e.g. from the plan's XCom)
    :param max_probes: probe budget
    :param deadline_seconds: stop probing after this long (the verdict is then unknown, a failure)
    :param aws_conn_id: AWS connection for the AWS components' probes
    :param prometheus_conn_id: HTTP connection of the Prometheus API
    """

    template_fields: Sequence[str] = ("model_path", "colour", "scope")
    operator_extra_links = (ArtifactLink(),)
    ui_color = "#fff3e0"

    def __init__(
        self,
        *,
        scope: str = "live",
        colour: str = "",
        max_probes: int = 80,
        deadline_seconds: float = 120.0,
        aws_conn_id: str = "aws_default",
        prometheus_conn_id: str = "prometheus_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.scope, self.colour = scope, colour
        self.max_probes, self.deadline_seconds = max_probes, deadline_seconds
        self.aws_conn_id, self.prometheus_conn_id = aws_conn_id, prometheus_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        result = run_gate(self, context, self.scope, self.colour, self.task_id)
        verdict = result.verdict
        self.decide(
            context,
            f"{verdict.outcome} after {result.probes_run} probes",
            "pass" if verdict.passed else "fail the release",
            stops=not verdict.passed,
            summary=verdict.summary(),
        )
        if not verdict.passed:
            raise AirflowFailException(gate_message(self.task_id, result))
        return {"outcome": verdict.outcome, "scope": verdict.scope, "probes_run": result.probes_run}


def gate_view(operator: SwitchyardOperator, scope: str, colour: str):
    """(model view, components to vouch for, components to prefer) for a gate scope."""
    shape = operator.spec.layout
    if scope not in SCOPES:
        raise AirflowFailException(f"scope {scope!r} must be one of {', '.join(SCOPES)}")
    if scope == "all":
        model = operator.model
        names = [n for n, c in model.components.items() if c.type_def and c.type_def.provider != "generic"]
        view, vouch, prefer = model, names, []
    elif colour not in ("blue", "green"):
        # An empty colour (the plan's XCom missing) must not widen the gate to the whole model.
        raise AirflowFailException(
            f"gate scope {scope!r} needs the colour it is about (blue or green), got {colour!r}: "
            "did the plan task run?"
        )
    elif scope == "live":
        view, vouch, prefer = shape.live_path(colour), shape.live_scope(colour), shape.components(colour)
    else:
        view, vouch, prefer = shape.live_path(colour), shape.serving(colour), shape.components(colour)
    # A gate that vouches for nothing, or for names its view does not have, passes on no evidence.
    unknown = [n for n in vouch if n not in view.components]
    if not vouch or unknown:
        raise AirflowFailException(
            f"gate scope {scope!r} on {colour or 'the whole model'} is "
            + (f"missing from the model: {', '.join(unknown)}" if unknown else "empty")
            + f"; check the release: section of {operator.model_path}"
        )
    return view, vouch, prefer


def run_gate(operator: Any, context: Context, scope: str, colour: str, name: str) -> Diagnosis:
    """Probe the scope, decide, and save the evidence: artefacts (SVG, Mermaid, JSON), XCom
    ``verdict`` and ``artifact_url``. Used by the gate operator and by every watch checkpoint."""
    from switchyard.probes import LiveProbe  # imports the providers' hooks

    view, vouch, prefer = gate_view(operator, scope, colour)
    probe = LiveProbe(
        operator.model,
        kubernetes_conn_id=operator.kubernetes_conn_id,
        aws_conn_id=getattr(operator, "aws_conn_id", "aws_default"),
        prometheus_conn_id=getattr(operator, "prometheus_conn_id", "prometheus_default"),
    )
    operator.log.info(
        "%s: scope %s on %s, vouching for %d components: %s",
        name,
        scope,
        colour or "the whole model",
        len(vouch),
        ", ".join(vouch),
    )
    result = diagnose(
        view,
        probe,
        scope=vouch,
        prefer=prefer,
        max_probes=getattr(operator, "max_probes", 80),
        deadline_seconds=getattr(operator, "deadline_seconds", 120.0),
        on_step=lambda s: operator.log.info("%s", s.line()),
    )
    verdict = result.verdict
    report = {"gate": name, "scope": scope, "colour": colour, **result.as_dict()}
    dag_id, run_id = context["dag"].dag_id, context["run_id"]
    title = f"{operator.model.name} · {name} · {verdict.outcome}" + (
        f" · root cause {verdict.root_cause}" if verdict.outcome == "failing" else ""
    )
    safe = name.replace(" ", "-")
    picture = write_artifact(
        dag_id, run_id, f"{safe}.svg", svg(view, verdict.chain, result.conclusion.health, title)
    )
    write_artifact(dag_id, run_id, f"{safe}.mmd", mermaid(view, verdict.chain, result.conclusion.health))
    write_artifact(dag_id, run_id, f"{safe}.json", json.dumps(report, indent=2, default=str))
    publish_artifact(context, picture)
    context["ti"].xcom_push(key="verdict", value=json.loads(json.dumps(report, default=str)))
    return result
