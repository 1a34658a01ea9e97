"""After the switch: rollback when the new colour fails, cleanup when the bake passes, and the
incident report a rollback leaves behind (the runbook's template, filled)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from switchyard.airflow.artifacts import ArtifactLink, publish_artifact, write_artifact
from switchyard.airflow.failures import failed_tasks
from switchyard.airflow.notifications import notification_line, notify, run_link
from switchyard.airflow.operators.base import SwitchyardOperator
from switchyard.release.colours import other
from switchyard.release.evidence import (
    BEFORE_TRAFFIC_MOVES,
    Evidence,
    describe_error,
    first_failure,
    keep_traffic_on_new,
)


class AbortReleaseOperator(SwitchyardOperator):
    """A release that stopped before traffic moved — refused at the lock, the plan or a pre-check,
    or failed at a step up to the switch before it patched: scale the standby colour back to 0,
    record the attempt as Failed with the failed step and its error, and notify.

    It runs once every step up to the switch and the rollback are done (``all_done``) and skips
    when nothing failed before the switch, or when traffic did move (the rollback's case). It works
    with what it can read: a read that fails is named in the record, the notification and the
    task's failure, and never hides the rest.

    :param version: the version the run was asked to release (the plan may not have run)
    """

    template_fields: Sequence[str] = ("model_path", "version")
    ui_color = "#ffebee"

    def __init__(self, *, version: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version = version

    def execute(self, context: Context) -> dict[str, Any]:

        from switchyard.release.workloads import Workloads

        ti = context["ti"]
        spec = self.spec
        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        evidence = first_failure(ti)
        failed = [step for step in BEFORE_TRAFFIC_MOVES if step in failed_tasks(context)]
        if evidence.step not in BEFORE_TRAFFIC_MOVES:
            if not failed:
                raise AirflowSkipException("no step failed before traffic moved: nothing to abort")
            evidence = Evidence(failed[0], reason="failed without leaving an error (see its log)")
        plan = ti.xcom_pull(task_ids="plan") or {}
        standby = plan.get("standby", "")
        problems: list[str] = []
        switch = self.traffic_switch()
        live: str | None = None
        try:
            live = switch.live_colour()
        except Exception as exc:
            problems.append(f"could not read {switch.where}: {describe_error(exc)}")
        if standby and live == standby:
            raise AirflowSkipException(f"traffic moved to {standby}: the rollback handles it")
        scaled: dict[str, int] = {}
        if standby and problems and evidence.step == "switch_traffic":
            # The switch may have moved traffic before it failed: do not turn off what may serve.
            problems.append(f"{standby} left running: cannot tell whether it serves traffic")
        elif standby:
            workloads = Workloads(self.api_client, spec.layout, log=self.log.info)
            for component in spec.layout.components(standby):
                try:
                    previous = workloads.scale(component, 0)
                except Exception as exc:
                    problems.append(f"could not scale {component} to 0: {describe_error(exc)}")
                    continue
                if previous is not None:  # only what exists is reported as scaled down
                    scaled[component] = previous
        if evidence.step in ("canary", "approve", "switch_traffic"):
            # a canary that did not end cleanly (its task killed, the trigger lost) may still send
            # traffic to the standby being scaled down: weight 0 and remove it
            from switchyard.release.canary import CanaryIngress

            try:
                CanaryIngress(self.api_client, spec.service, spec.namespace, log=self.log.info).remove()
            except Exception as exc:
                problems.append(f"could not remove the canary ingress: {describe_error(exc)}")
        cause = evidence.cause + (f" ({'; '.join(problems)})" if problems else "")
        told = evidence.root_text() + (f" ({'; '.join(problems)})" if problems else "")
        try:
            self.history().fail(
                run_id,
                dag_id,
                plan.get("version") or self.version,
                standby,
                plan.get("live_version", ""),
                root_cause=cause[:1000],
                root_state=evidence.root_state if evidence.root_cause else "",
                chain=evidence.chain,
                failed_step=evidence.step,
            )
        except Exception as exc:
            problems.append(f"could not write the release record: {describe_error(exc)}")
        where = f"traffic on {live}" if live else f"traffic: unknown ({switch.where} unreadable)"
        notify(
            notification_line(
                spec.app,
                plan.get("version") or self.version,
                f"FAILED before the switch at {evidence.step}; {where}",
                told[:300],
                run_link(dag_id, run_id),
            ),
            context,
        )
        done = (
            f"scaled {', '.join(scaled)} to 0"
            if scaled
            else f"nothing to scale down ({standby} has no deployment)"
            if standby
            else "nothing to scale down (no standby colour was planned)"
        )
        self.decide(context, evidence.failed_at(), f"{done}; recorded as Failed", problems=problems)
        result = {
            "failed_step": evidence.step,
            "cause": evidence.cause,
            "traffic_on": live or "",
            "scaled": scaled,
            "problems": problems,
        }
        if problems:
            ti.xcom_push(key="return_value", value=result)
            raise AirflowFailException(f"abort after {evidence.step} incomplete: {'; '.join(problems)}")
        return result


def _iso(value: Any) -> str:
    """An epoch (float) or ISO time as ``YYYY-MM-DDTHH:MM:SSZ``; "" when absent."""
    if value in (None, ""):
        return ""
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _seconds_between(start: str, end: str) -> float | None:
    try:
        parse = dt.datetime.fromisoformat
        return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()
    except (ValueError, AttributeError):
        return None


def _chronological(timeline: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Entries in time order: a restore at the breach is known only when the rollback reads it, after
    the rollback's own start. An entry without a readable time keeps the time of the one before it."""
    keyed, last = [], dt.datetime.min.replace(tzinfo=dt.UTC)
    for when, what in timeline:
        with contextlib.suppress(ValueError, AttributeError):
            last = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        keyed.append((last, len(keyed), when, what))
    return [(when, what) for _, _, when, what in sorted(keyed)]


def failure_timeline(
    switched_at: str, evidence: Evidence, checkpoints: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """The incident's first lines: when traffic moved, when the first failing sample was taken and
    when the failure was detected (with the detection latency), before what the rollback did."""
    from switchyard.release.records import now_iso

    timeline = []
    if switched_at:
        timeline.append((switched_at, "traffic switched to the new colour"))
    failed = next((c for c in checkpoints if not c.get("passed")), None)
    if failed:
        sampled, detected = _iso(failed.get("sampled_at") or failed.get("at")), _iso(failed.get("at"))
        after = _seconds_between(switched_at, sampled) if switched_at else None
        timeline.append(
            (
                sampled,
                f"first failing sample ({failed.get('label', 'checkpoint')})"
                + (f", {after:.0f}s after the switch" if after is not None else ""),
            )
        )
        latency = _seconds_between(switched_at, detected) if switched_at else None
        timeline.append(
            (
                detected,
                f"failure detected at {evidence.step}: {'; '.join(failed.get('problems') or []) or evidence.root_text()}"
                + (f" (detection latency {latency:.0f}s from the switch)" if latency is not None else ""),
            )
        )
    elif evidence.step:
        timeline.append((now_iso(), f"failure detected: {evidence.failed_at()}"))
    return timeline


def incident_report(
    app: str,
    plan: dict[str, Any],
    evidence: Evidence,
    timeline: list[tuple[str, str]],
    outcome: str,
    migration_warning: str,
) -> str:
    lines = [
        f"# Incident report: {app} {plan.get('version')} rolled back",
        "",
        "## Summary",
        f"Release of {app} {plan.get('version')} to {plan.get('standby')} (from {plan.get('live')} "
        f"{plan.get('live_version')}) failed at `{evidence.step or 'an unknown step'}`; {outcome}.",
        "",
        "## Root cause",
        (
            evidence.root_text() + ("" if evidence.confirmed else " (unconfirmed)")
            if evidence.root_cause
            else f"not named by the model; `{evidence.step or 'an unknown step'}` failed with: "
            f"{evidence.reason or 'no error recorded'}"
        ),
        "",
        f"Chain: {evidence.chain_text()}",
        "",
        f"Evidence: {evidence.reason or '-'}",
        "",
        "## Timeline (UTC)",
        *[f"- {when}: {what}" for when, what in _chronological(timeline)],
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
        f"- [ ] Fix the root cause ({evidence.root_text() if evidence.root_cause else evidence.step})",
        "- [ ] Add a scenario reproducing this failure to include/scenarios/ and a monitoring check for it",
        "- [ ] Update the runbook / documentation if a step was missing",
        "- [ ] Conduct a post-incident review",
        "",
    ]
    return "\n".join(lines)


class RollbackOperator(SwitchyardOperator):
    """Put traffic back on the old colour and prove it, then scale the failed colour to 0.

    Immediate when the old colour is still warm (one switch through the app's mechanism); delayed when it was scaled
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

        from switchyard.release.records import now_iso
        from switchyard.release.switch import SwitchNotVerified
        from switchyard.release.workloads import Workloads, deadline_exceeded_at, hand_over_workers

        ti = context["ti"]
        plan = ti.xcom_pull(task_ids="plan") or {}
        spec = self.spec
        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        evidence = first_failure(ti)
        switched = ti.xcom_pull(task_ids="switch_traffic")
        checkpoints = ti.xcom_pull(task_ids=evidence.step, key="checkpoints") if evidence.step else None
        timeline = failure_timeline((switched or {}).get("switched_at", ""), evidence, checkpoints or [])
        timeline.append((now_iso(), f"rollback started after {evidence.line() or 'a failed step'}"))
        old, new = plan.get("live"), plan.get("standby")
        history = self.history()
        link = run_link(dag_id, run_id)
        switch = self.traffic_switch()
        try:
            live = switch.live_colour()
        except Exception as exc:  # e.g. 403: say so once, with what is known, instead of 3 raw tracebacks
            if not plan or not switched:
                raise AirflowSkipException(
                    f"the switch did not move traffic; {switch.where} unreadable ({describe_error(exc)})"
                ) from None
            problem = f"could not read {switch.where}: {describe_error(exc)}"
            history.finish(
                run_id,
                "Active",
                root_cause=f"{evidence.cause} (NOT rolled back: {problem})"[:1000],
                chain=evidence.chain,
                failed_step=evidence.step,
            )
            notify(
                notification_line(
                    spec.app,
                    plan.get("version", ""),
                    f"failed at {evidence.step or 'an unknown step'}, NOT rolled back ({problem}); "
                    f"traffic was switched to {new}, {old} is warm: a person must switch back",
                    evidence.root_text()[:300],
                    link,
                ),
                context,
            )
            self.decide(
                context,
                evidence.failed_at(),
                f"do not roll back: cannot read {switch.where}",
                problem=problem,
            )
            raise AirflowFailException(
                f"rollback not done: {problem}; traffic was switched to {new}"
            ) from None
        if not plan or (live == old and not switched):
            # Triggered by a failure before the switch: traffic never left the old colour.
            raise AirflowSkipException(f"traffic never left {old or 'the old colour'}: nothing to roll back")
        if not old:
            raise AirflowFailException(
                "first deployment: there is no previous colour to roll back to; traffic stays"
            )

        def old_fails_same() -> bool:
            from switchyard.airflow.operators.gate import run_gate

            verdict = run_gate(self, context, "standby", old, "old_colour_check").verdict
            return verdict.outcome == "failing" and verdict.root_cause == evidence.root_cause

        # The watch or bake may have put traffic back already, at the breach, before the diagnosis.
        restored = next(
            (
                c["traffic_restored"]
                for c in checkpoints or []
                if (c.get("traffic_restored") or {}).get("done")
            ),
            None,
        )
        if restored and live == old:
            timeline.append(
                (
                    _iso(restored.get("verified_at")),
                    f"traffic restored to {old} by the {evidence.step} at the failure, before the "
                    f"diagnosis ({restored.get('verified_at', 0) - restored.get('started_at', 0):.1f}s)",
                )
            )
        stay = keep_traffic_on_new(evidence, spec.layout.components(new), spec.shared, old_fails_same)
        keep_new_warm = ""
        if stay and restored and live == old:
            # Traffic is already back on the colour verified before the switch: moving it to a
            # colour that fails the same would only flap. It stays; the new colour stays warm.
            keep_new_warm = stay
            stay = ""
        if stay:
            why = (
                f"{stay}: rolling back to {old} cannot help; traffic stays on {new}, {old} stays warm, paging"
            )
            self.decide(
                context,
                evidence.line(),
                "do not roll back",
                root_cause=evidence.root_cause,
                root_state=evidence.root_state,
            )
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
                    evidence.root_text(),
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
                        evidence.root_text(),
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
            # judged: the rollout this scale-up starts, not the one that ended before the scale to 0
            stale = {c: deadline_exceeded_at(workloads.read(c)) for c in spec.layout.serving(old)}
            for component in spec.layout.components(old):
                if component not in spec.layout.workers:
                    workloads.scale(component, int(replicas.get(component) or spec.restore_replicas))
            timeline.append((now_iso(), f"scaled {old} back up ({', '.join(cold)} were at 0)"))
            not_ready = workloads.wait_ready(
                spec.layout.serving(old), timeout=self.rollout_timeout_seconds, stale_deadlines=stale
            )
            if not_ready:
                raise AirflowFailException(
                    f"delayed rollback: {old} did not become ready: {not_ready}; traffic stays on {new}"
                )
            from switchyard.airflow.operators.gate import run_gate

            gate = run_gate(self, context, "standby", old, "rollback_gate")
            # The path to the old colour runs through the Service, which still selects the failing
            # colour (no endpoints: why we roll back). What this gate must prove is that the old
            # colour's serving deployments are healthy: ruled out by evidence as a cause.
            ruled_out = set(spec.layout.serving(old)) <= set(gate.verdict.eliminated)
            if not gate.verdict.passed and ruled_out:
                timeline.append(
                    (now_iso(), f"{old} ruled out as a cause; the gate's root cause is on {new}'s path")
                )
                self.log.info(
                    "rollback gate: %s's serving deployments are ruled out by evidence; %s is what "
                    "traffic on %s meets now: switching back",
                    old,
                    gate.verdict.root_cause,
                    new,
                )
            elif not gate.verdict.passed:
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
                evidence.root_state, evidence.confirmed = verdict.root_state, verdict.root_confirmed
                timeline.append((now_iso(), f"diagnosed {new}: {verdict.root_text()}"))
        if keep_new_warm:
            scaled = {}
            timeline.append((now_iso(), f"{new} kept warm: {keep_new_warm}"))
        else:
            scaled = {c: workloads.scale(c, 0) for c in spec.layout.components(new)}
            timeline.append((now_iso(), f"{new} scaled to 0"))
        history.finish(
            run_id,
            "RolledBack",
            root_cause=f"{evidence.cause} (shared: {old} depends on it too)"
            if keep_new_warm
            else evidence.cause,
            root_state=evidence.root_state if evidence.root_cause else "",
            chain=evidence.chain,
            failed_step=evidence.step,
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
        publish_artifact(context, path)
        ti.xcom_push(key="incident_report", value=report)
        self.log.info("incident report (%s):\n%s", path, report)
        notify(
            notification_line(
                spec.app,
                plan.get("version", ""),
                f"ROLLED BACK to {old} {plan.get('live_version')} after {evidence.step or 'a failed step'}"
                + (f"; {keep_new_warm}: {new} kept warm, paging" if keep_new_warm else ""),
                evidence.root_text()[:300],
                link,
            ),
            context,
        )
        self.decide(
            context,
            evidence.line(),
            f"{mode} rollback to {old}, verified; "
            + (f"{new} kept warm ({keep_new_warm})" if keep_new_warm else f"{new} scaled to 0"),
            root_cause=evidence.root_cause,
            root_state=evidence.root_state,
            chain=evidence.chain,
            scaled=scaled,
        )
        return {
            "mode": mode,
            "to": old,
            "failed_step": evidence.step,
            "error": "" if evidence.root_cause else evidence.reason,
            "root_cause": evidence.root_cause,
            "root_state": evidence.root_state,
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

        from switchyard.release.workloads import CLEANUP_ANNOTATION, Workloads

        spec = self.spec
        ti = context["ti"]
        plan = ti.xcom_pull(task_ids="plan") or {}
        if not self.old:
            self.decide(context, "first deployment", "no old colour to clean up")
            return {}
        switch = self.traffic_switch()
        live = switch.live_colour()
        if live != other(self.old):  # never scale down what serves
            raise AirflowFailException(
                f"cleanup refused: {switch.where} selects {live or 'no colour'}, not {other(self.old)}; "
                f"{self.old} may be serving"
            )
        workloads = Workloads(self.api_client, spec.layout, log=self.log.info)
        after = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=self.keep_hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        scaled = {}
        for component in spec.layout.components(self.old):
            if workloads.read(component) is None:
                continue
            workloads.annotate(component, {CLEANUP_ANNOTATION: after})
            scaled[component] = workloads.scale(component, 0)
        history = self.history()
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
