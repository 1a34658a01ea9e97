"""After the switch: rollback when the new colour fails, cleanup when the bake passes, and the
incident report a rollback leaves behind (the runbook's template, filled)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from kubernetes.client import CoreV1Api

from switchyard.airflow.artifacts import ArtifactLink, artifact_url, write_artifact
from switchyard.airflow.notifications import notification_line, notify, run_link
from switchyard.airflow.operators.base import SwitchyardOperator
from switchyard.release.colours import other
from switchyard.release.evidence import Evidence, first_failure
from switchyard.release.records import ReleaseHistory, now_iso
from switchyard.release.switch import SwitchNotVerified, TrafficSwitch
from switchyard.release.workloads import CLEANUP_ANNOTATION, Workloads, hand_over_workers


def incident_report(
    app: str,
    plan: dict[str, Any],
    evidence: Evidence,
    timeline: list[tuple[str, str]],
    outcome: str,
    migration_warning: str,
) -> str:
    chain = " → ".join(evidence.chain) or "-"
    lines = [
        f"# Incident report: {app} {plan.get('version')} rolled back",
        "",
        "## Summary",
        f"Release of {app} {plan.get('version')} to {plan.get('standby')} (from {plan.get('live')} "
        f"{plan.get('live_version')}) failed at `{evidence.step}`; {outcome}.",
        "",
        "## Root cause",
        f"{evidence.root_cause or 'not named by the model (see the failing step)'}"
        + ("" if evidence.confirmed or not evidence.root_cause else " (unconfirmed)"),
        "",
        f"Chain: {chain}",
        "",
        f"Evidence: {evidence.reason or '-'}",
        "",
        "## Timeline (UTC)",
        *[f"- {when}: {what}" for when, what in timeline],
        "",
        "## Versions",
        f"- failed: {plan.get('version')} on {plan.get('standby')}",
        f"- restored: {plan.get('live_version') or '-'} on {plan.get('live') or '-'}",
        f"- database migration ran: {'yes' if plan.get('run_migration') else 'no'}",
    ]
    if migration_warning:
        lines += ["", f"> **{migration_warning}**"]
    lines += [
        "",
        "## Action items",
        f"- [ ] Fix the root cause ({evidence.root_cause or evidence.step})",
        "- [ ] Add a scenario reproducing this failure to include/scenarios/ and a monitoring check for it",
        "- [ ] Update the runbook / documentation if a step was missing",
        "- [ ] Conduct a post-incident review",
        "",
    ]
    return "\n".join(lines)


class RollbackOperator(SwitchyardOperator):
    """Put traffic back on the old colour and prove it, then scale the failed colour to 0.

    Immediate when the old colour is still warm (one selector patch); delayed when it was scaled
    down (scale it up, wait ready, gate it, then switch). A failure whose root cause is shared by
    both colours (e.g. rds) is not rolled back: the old colour depends on it too.

    :param on_migrated_rollback: after a migration ran, ``proceed`` with the rollback (the schema
        may not be backward compatible) or ``stop`` and page
    :param verify_timeout_seconds: how long endpoints may take to converge
    """

    template_fields: Sequence[str] = ("model_path", "on_migrated_rollback")
    operator_extra_links = (ArtifactLink(),)
    ui_color = "#ffebee"

    def __init__(
        self,
        *,
        on_migrated_rollback: str = "proceed",
        verify_timeout_seconds: float = 60.0,
        rollout_timeout_seconds: float = 600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.on_migrated_rollback = on_migrated_rollback
        self.verify_timeout_seconds, self.rollout_timeout_seconds = (
            verify_timeout_seconds,
            rollout_timeout_seconds,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        ti = context["ti"]
        plan = ti.xcom_pull(task_ids="plan") or {}
        spec = self.spec
        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        evidence = first_failure(ti)
        timeline = [(now_iso(), f"rollback started after {evidence.line() or 'a failed step'}")]
        old, new = plan.get("live"), plan.get("standby")
        history = ReleaseHistory(CoreV1Api(self.api_client), spec.app, spec.namespace)
        link = run_link(dag_id, run_id)
        switch = TrafficSwitch(self.api_client, spec.service, spec.namespace, log=self.log.info)
        if not plan or (switch.live_colour() == old and not ti.xcom_pull(task_ids="switch_traffic")):
            # Triggered by a failure before the switch: traffic never left the old colour.
            raise AirflowSkipException(f"traffic never left {old or 'the old colour'}: nothing to roll back")
        if not old:
            raise AirflowFailException(
                "first deployment: there is no previous colour to roll back to; traffic stays"
            )
        if (
            evidence.confirmed
            and evidence.root_cause
            and evidence.root_cause not in spec.layout.components(new)
        ):
            why = (
                f"root cause {evidence.root_cause} is shared by both colours: rolling back to {old} cannot "
                f"help; traffic stays on {new}, {old} stays warm, paging"
            )
            self.decide(context, evidence.line(), "do not roll back", root_cause=evidence.root_cause)
            history.finish(
                run_id,
                "Active",
                root_cause=f"{evidence.root_cause} (shared, not rolled back)",
                chain=evidence.chain,
            )
            notify(
                notification_line(
                    spec.app,
                    plan.get("version", ""),
                    "release stopped, NOT rolled back",
                    evidence.root_cause,
                    link,
                ),
                context,
            )
            raise AirflowFailException(why)
        migration_warning = ""
        if plan.get("run_migration"):
            migration_warning = (
                f"A database migration ran for {plan.get('version')}: the schema may not be "
                f"backward compatible with {plan.get('live_version')}."
            )
            self.log.warning("!!! %s on_migrated_rollback=%s", migration_warning, self.on_migrated_rollback)
            if self.on_migrated_rollback == "stop":
                notify(
                    notification_line(
                        spec.app,
                        plan.get("version", ""),
                        "rollback STOPPED (migration ran), paging",
                        evidence.root_cause,
                        link,
                    ),
                    context,
                )
                raise AirflowFailException(
                    f"{migration_warning} Rollback stopped by on_migrated_rollback=stop; "
                    f"traffic stays on {new}: a person must decide"
                )
        workloads = Workloads(self.api_client, spec.layout, log=self.log.info)
        mode = "immediate"
        cold = [
            c
            for c in spec.layout.serving(old)
            if not ((workloads.read(c) or {}).get("spec") or {}).get("replicas")
        ]
        if cold:
            mode = "delayed"
            replicas = plan.get("live_replicas") or {}
            for component in spec.layout.components(old):
                if component not in spec.layout.workers:
                    workloads.scale(component, int(replicas.get(component) or 2))
            timeline.append((now_iso(), f"scaled {old} back up ({', '.join(cold)} were at 0)"))
            not_ready = workloads.wait_ready(spec.layout.serving(old), timeout=self.rollout_timeout_seconds)
            if not_ready:
                raise AirflowFailException(
                    f"delayed rollback: {old} did not become ready: {not_ready}; traffic stays on {new}"
                )
            from switchyard.airflow.operators.gate import run_gate

            gate = run_gate(self, context, "standby", old, "rollback_gate")
            if not gate.verdict.passed:
                raise AirflowFailException(
                    f"delayed rollback: {old} failed its gate ({gate.verdict.summary()}); "
                    f"traffic stays on {new}"
                )
        try:
            result = switch.switch(old, timeout=self.verify_timeout_seconds)
        except SwitchNotVerified as exc:
            raise AirflowFailException(f"rollback switch to {old} not verified: {exc}") from None
        timeline.append(
            (now_iso(), f"traffic back on {old}, endpoints verified ({len(result.endpoints)} pods)")
        )
        hand_over_workers(workloads, old)
        if not evidence.root_cause:
            # Traffic is safe again; before the failed colour goes to 0, let the model name why it
            # failed (e.g. the switch did not verify because its pods stopped being ready).
            from switchyard.airflow.operators.gate import run_gate

            verdict = run_gate(self, context, "standby", new, "post_rollback_diagnosis").verdict
            if verdict.outcome == "failing":
                evidence.root_cause, evidence.chain = verdict.root_cause, verdict.chain
                evidence.confirmed = verdict.root_confirmed
                timeline.append((now_iso(), f"diagnosed {new}: {verdict.root_cause} ({verdict.root_state})"))
        scaled = {c: workloads.scale(c, 0) for c in spec.layout.components(new)}
        timeline.append((now_iso(), f"{new} scaled to 0"))
        history.finish(
            run_id, "RolledBack", root_cause=evidence.root_cause or evidence.reason, chain=evidence.chain
        )
        previous = next(
            (
                r
                for r in reversed(history.read())
                if r.run_id != run_id and r.status == "Superseded" and r.version == plan.get("live_version")
            ),
            None,
        )
        if previous:
            history.mark(previous.number, status="Active")
        report = incident_report(
            spec.app, plan, evidence, timeline, f"{mode} rollback to {old} verified", migration_warning
        )
        path = write_artifact(dag_id, run_id, "incident-report.md", report)
        ti.xcom_push(key="artifact_url", value=artifact_url(path))
        ti.xcom_push(key="incident_report", value=report)
        self.log.info("incident report (%s):\n%s", path, report)
        notify(
            notification_line(
                spec.app,
                plan.get("version", ""),
                f"ROLLED BACK to {old} {plan.get('live_version')}",
                evidence.root_cause or evidence.reason,
                link,
            ),
            context,
        )
        self.decide(
            context,
            evidence.line(),
            f"{mode} rollback to {old}, verified; {new} scaled to 0",
            root_cause=evidence.root_cause,
            chain=evidence.chain,
            scaled=scaled,
        )
        return {
            "mode": mode,
            "to": old,
            "root_cause": evidence.root_cause,
            "chain": evidence.chain,
            "report": str(path),
        }


class CleanupOperator(SwitchyardOperator):
    """After the bake: scale the old colour to 0 and annotate it ``cleanup-after`` (+24 h); its
    manifests and the pre-release backup stay, so a delayed rollback can bring it back.

    :param old: the colour that served before the switch
    :param keep_hours: how long the old colour's manifests are kept before deletion is allowed
    """

    template_fields: Sequence[str] = ("model_path", "old")

    def __init__(self, *, old: str, keep_hours: float = 24.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.old, self.keep_hours = old, keep_hours

    def execute(self, context: Context) -> dict[str, Any]:
        spec = self.spec
        ti = context["ti"]
        plan = ti.xcom_pull(task_ids="plan") or {}
        if not self.old:
            self.decide(context, "first deployment", "no old colour to clean up")
            return {}
        switch = TrafficSwitch(self.api_client, spec.service, spec.namespace)
        if switch.live_colour() != other(self.old):
            raise AirflowFailException(f"cleanup refused: the Service does not select {other(self.old)}")
        workloads = Workloads(self.api_client, spec.layout, log=self.log.info)
        after = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=self.keep_hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        scaled = {}
        for component in spec.layout.components(self.old):
            if workloads.read(component) is None:
                continue
            workloads.annotate(component, {CLEANUP_ANNOTATION: after})
            scaled[component] = workloads.scale(component, 0)
        history = ReleaseHistory(CoreV1Api(self.api_client), spec.app, spec.namespace)
        history.finish(context["run_id"], "Active", cleanup_after=after)
        notify(
            notification_line(
                spec.app,
                plan.get("version", ""),
                f"released: {other(self.old)} live, bake passed",
                "",
                run_link(context["dag"].dag_id, context["run_id"]),
            ),
            context,
        )
        self.decide(
            context,
            f"bake passed; {self.old} replicas {scaled}",
            f"scaled {self.old} to 0, {CLEANUP_ANNOTATION}={after}; backup kept",
        )
        return {"scaled": scaled, "cleanup_after": after}
