"""The model gate: probe the live system, let the engine decide, pass or fail with a named cause."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from switchyard.airflow.artifacts import ArtifactLink, publish_artifact, write_artifact
from switchyard.airflow.operators.base import SwitchyardOperator
from switchyard.release.colours import COLOURS
from switchyard.release.evidence import ROLLOUT_INCOMPLETE

if TYPE_CHECKING:
    from switchyard.engine.diagnose import Diagnosis

SCOPES = ("live", "standby", "all")


def gate_message(task_id: str, diagnosis: Diagnosis) -> str:
    """The failure message of a gate: root cause and chain, or what could not be vouched for."""
    v = diagnosis.verdict
    requests = f", {diagnosis.requests} API requests" if diagnosis.requests is not None else ""
    budget = f"probes run {diagnosis.probes_run}/{diagnosis.max_probes}{requests} ({diagnosis.stopped})"
    visibility = f"; partial visibility: {', '.join(v.partial_visibility)}" if v.partial_visibility else ""
    if v.outcome == "failing":
        # The verdict's summary: every root as ``component (state) — what was read``, and its chain.
        return f"gate {task_id} failed — {v.summary()}; {budget}"
    # Failures read but not chained are named by what was read; "not enough visibility" is said
    # only of what could not be read (issue 10).
    return f"gate {task_id}: outcome unknown, which is not healthy — {v.unknown_text()}; {budget}{visibility}"


class ModelGateOperator(SwitchyardOperator):
    """Pass when the engine says the scope is healthy; fail naming the root cause and chain.

    :param scope: ``live`` (the path traffic takes on ``colour``), ``standby`` (the serving
        deployments of ``colour`` before it takes traffic) or ``all`` (the whole model)
    :param colour: the colour the scope is about (templated, e.g. from the plan's XCom)
    :param max_probes: probe budget
    :param deadline_seconds: stop probing after this long (the verdict is then unknown, a failure)
    :param aws_conn_id: AWS connection for the AWS components' probes
    :param prometheus_conn_id: HTTP connection of the Prometheus API
    :param after_rollout: the task that rolled the scope out; the gate also runs when that task
        failed because its rollout did not finish (to name why), and skips when it failed otherwise
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
        after_rollout: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.scope, self.colour = scope, colour
        self.max_probes, self.deadline_seconds = max_probes, deadline_seconds
        self.aws_conn_id, self.prometheus_conn_id = aws_conn_id, prometheus_conn_id
        self.after_rollout = after_rollout

    def execute(self, context: Context) -> dict[str, Any]:
        if self.after_rollout:
            ti = context["ti"]
            rolled_out = ti.xcom_pull(task_ids=self.after_rollout) is not None
            unfinished = ti.xcom_pull(task_ids=self.after_rollout, key=ROLLOUT_INCOMPLETE)
            if not (rolled_out or unfinished):
                raise AirflowSkipException(
                    f"{self.after_rollout} failed before its rollout could be judged: nothing to diagnose"
                )
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


def gate_view(model: Any, spec: Any, scope: str, colour: str):
    """(model view, components to vouch for, components to prefer) for a gate scope."""
    shape = spec.layout
    if scope not in SCOPES:
        raise AirflowFailException(f"scope {scope!r} must be one of {', '.join(SCOPES)}")
    if scope == "all":
        names = [n for n, c in model.components.items() if c.type_def and c.type_def.provider != "generic"]
        view, vouch, prefer = model, names, []
    elif colour not in COLOURS:
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
            + f"; check the release: section of model {model.name}"
        )
    return view, vouch, prefer


def diagnose_scope(
    model: Any,
    spec: Any,
    scope: str,
    colour: str,
    name: str,
    log: Callable[..., Any],
    *,
    kubernetes_conn_id: str = "kubernetes_default",
    aws_conn_id: str = "aws_default",
    prometheus_conn_id: str = "prometheus_default",
    max_probes: int = 80,
    deadline_seconds: float = 120.0,
) -> tuple[Any, Diagnosis]:
    """Probe the scope live and let the engine decide: (the model view, the diagnosis). Used by the
    gate operator, and by the watch's trigger at every checkpoint."""
    from switchyard.engine.diagnose import diagnose
    from switchyard.probes import LiveProbe  # imports the providers' hooks

    view, vouch, prefer = gate_view(model, spec, scope, colour)
    # One LIST per kind and namespace (and one AWS describe per group) answers the whole gate: a
    # gate judges one moment of the system, and reading it again mid-gate only costs requests.
    probe = LiveProbe(
        model,
        kubernetes_conn_id=kubernetes_conn_id,
        aws_conn_id=aws_conn_id,
        prometheus_conn_id=prometheus_conn_id,
        cache_seconds=deadline_seconds,
    )
    log(
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
        max_probes=max_probes,
        deadline_seconds=deadline_seconds,
        on_step=lambda s: log("%s", s.line()),
    )
    log(
        "%s: %s after %d probes, %d API requests, %.2f s (%s)",
        name,
        result.verdict.outcome,
        result.probes_run,
        probe.requests,
        result.elapsed,
        result.stopped,
    )
    return view, result


def save_evidence(
    model: Any, view: Any, result: Diagnosis, dag_id: str, run_id: str, name: str, scope: str, colour: str
) -> tuple[dict[str, Any], str]:
    """Write the gate's artefacts (SVG, Mermaid, JSON); returns (the verdict report, the picture's path)."""
    from switchyard.engine.graph import mermaid, svg

    verdict = result.verdict
    report = json.loads(
        json.dumps({"gate": name, "scope": scope, "colour": colour, **result.as_dict()}, default=str)
    )
    title = f"{model.name} · {name} · {verdict.outcome}" + (
        f" · root cause {verdict.root_text()}" if verdict.outcome == "failing" else ""
    )
    safe = name.replace(" ", "-")
    picture = write_artifact(
        dag_id, run_id, f"{safe}.svg", svg(view, verdict.chain, result.conclusion.health, title)
    )
    write_artifact(dag_id, run_id, f"{safe}.mmd", mermaid(view, verdict.chain, result.conclusion.health))
    write_artifact(dag_id, run_id, f"{safe}.json", json.dumps(report, indent=2, default=str))
    return report, picture


def run_gate(operator: Any, context: Context, scope: str, colour: str, name: str) -> Diagnosis:
    """Probe the scope, decide, and save the evidence: artefacts (SVG, Mermaid, JSON), XCom
    ``verdict`` and ``artifact_url``."""
    view, result = diagnose_scope(
        operator.model,
        operator.spec,
        scope,
        colour,
        name,
        operator.log.info,
        kubernetes_conn_id=operator.kubernetes_conn_id,
        aws_conn_id=getattr(operator, "aws_conn_id", "aws_default"),
        prometheus_conn_id=getattr(operator, "prometheus_conn_id", "prometheus_default"),
        max_probes=getattr(operator, "max_probes", 80),
        deadline_seconds=getattr(operator, "deadline_seconds", 120.0),
    )
    report, picture = save_evidence(
        operator.model, view, result, context["dag"].dag_id, context["run_id"], name, scope, colour
    )
    publish_artifact(context, picture)
    context["ti"].xcom_push(key="verdict", value=report)
    return result
