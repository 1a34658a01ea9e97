"""The drift check's tasks: each reads what one comparison needs and lets ``switchyard.release.drift``
decide (ask, decide, return).

Every check task pushes its ``CheckResult`` to XCom (key ``result``) before it decides, so the
report has it even when the task fails; a check fails on drift or unknown unless ``report_only``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from switchyard.airflow.operators.base import SwitchyardOperator, airflow_run_state
from switchyard.engine.errors import SwitchyardError
from switchyard.engine.model import Model, load_model
from switchyard.release.calls import retried
from switchyard.release.colours import layout

if TYPE_CHECKING:
    from switchyard.release import drift
    from switchyard.release.lock import ReleaseLock
    from switchyard.release.records import ReleaseHistory
    from switchyard.release.spec import ReleaseSpec


class _Checks:
    """``switchyard.release.drift``, imported on first use: it imports the cluster client (through
    the lock, records and workloads modules) and the engine's simulation, which only ``execute``
    needs; dags/drift_check.py imports this module at parse (tests/dags/test_parse_imports.py)."""

    def __getattr__(self, name: str) -> Any:
        from switchyard.release import drift

        return getattr(drift, name)


dc: Any = _Checks()

INCLUDE_ENV = (
    "SWITCHYARD_INCLUDE_DIR"  # where models and scenarios are read (default: the project's include/)
)


def _as_bool(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def _unread(exc: BaseException, what: str) -> drift.Unread:
    """A failed read as forbidden / not_found / transient, the probes' policy (switchyard.probes.errors)."""
    status = getattr(exc, "status", None)
    if isinstance(status, str):  # a ReadFailed from the probes' read helpers
        return dc.Unread(status, getattr(exc, "detail", str(exc)))
    kind = {401: "forbidden", 403: "forbidden", 404: "not_found"}.get(status or 0, "transient")
    reason = f"HTTP {status} {getattr(exc, 'reason', '') or ''}".strip() if status else type(exc).__name__
    return dc.Unread(kind, f"{what}: {reason}")


def list_models(include_dir: str) -> list[str]:
    """The model files the checks are mapped over (``$SWITCHYARD_INCLUDE_DIR/models``, else the
    project's ``include/models``)."""
    root = Path(os.environ.get(INCLUDE_ENV) or include_dir)
    found = [str(p) for p in dc.model_paths(root / "models")]
    print(f"models under {root / 'models'}: {', '.join(Path(p).name for p in found) or 'none'}")
    return found


class DriftCheckOperator(SwitchyardOperator):
    """One check of one model (mapped over the models); fails on drift or unknown unless ``report_only``.

    :param report_only: report findings without failing (first runs on a new cluster)
    :param aws_conn_id: the amazon connection for AWS components
    :param request_timeout: seconds any single API call may take
    """

    check = ""
    template_fields: Sequence[str] = ("model_path", "report_only")
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        report_only: Any = False,
        aws_conn_id: str = "aws_default",
        request_timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.report_only, self.aws_conn_id, self.request_timeout = report_only, aws_conn_id, request_timeout

    @property
    def model_name(self) -> str:
        return dc.model_name_of(self.model_path)

    @cached_property
    def reader(self):
        from switchyard.probes import ClusterReader

        return ClusterReader(kubernetes_conn_id=self.kubernetes_conn_id, request_timeout=self.request_timeout)

    def live_probe(self):
        from switchyard.probes import LiveProbe

        return LiveProbe(
            self.model,
            kubernetes_conn_id=self.kubernetes_conn_id,
            aws_conn_id=self.aws_conn_id,
            request_timeout=self.request_timeout,
        )

    def compare(self, context: Context) -> drift.CheckResult:
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            result = self.compare(context)
        except (SwitchyardError, ValueError) as exc:  # the model does not load or has no blue/green shape
            result = dc.CheckResult(
                self.model_name,
                self.check,
                [dc.Finding(dc.UNKNOWN, f"model {self.model_name}", "model", f"not checked: {exc}")],
            )
        for note in result.notes:
            self.log.info("note: %s", note)
        for finding in result.findings:
            self.log.warning("%s", finding.line())
        data = result.as_dict()
        context["ti"].xcom_push(key="result", value=data)
        report_only = _as_bool(self.report_only)
        failing = result.status != dc.OK and not report_only
        self.decide(
            context,
            f"{self.check} of {self.model_name}: {result.status} — {result.summary()}",
            "fail the check" if failing else ("report only" if result.status != dc.OK else "ok"),
        )
        if failing:
            raise AirflowFailException(
                f"{self.check} of {self.model_name}: {result.status} — {result.summary()}"
            )
        return data

    # ---- reads shared by the live checks
    def deployments(self, namespace: str) -> list[drift.LiveDeployment] | drift.Unread:
        try:
            listed = retried(
                self.reader.apps.list_namespaced_deployment, namespace, _request_timeout=self.request_timeout
            )
        except Exception as exc:
            return _unread(exc, f"LIST deployments {namespace}")
        found = []
        for d in listed.items:
            containers = (d.spec.template.spec.containers if d.spec and d.spec.template.spec else None) or []
            found.append(
                dc.LiveDeployment(
                    name=d.metadata.name,
                    namespace=namespace,
                    image=containers[0].image if containers else "",
                    replicas=1 if d.spec.replicas is None else d.spec.replicas,
                    labels=dict(d.metadata.labels or {}),
                    annotations=dict(d.metadata.annotations or {}),
                    ready=int((d.status.ready_replicas if d.status else 0) or 0),
                )
            )
        return found

    def history(self, spec: ReleaseSpec) -> ReleaseHistory:
        from switchyard.release.records import ReleaseHistory

        return ReleaseHistory(
            self.reader.core, spec.app, spec.namespace, request_timeout=self.request_timeout
        )

    def selected_colour(self, spec: ReleaseSpec) -> str | drift.Unread | None:
        """The colour the app's switch sends traffic to (None: none selected)."""
        switch = self.app_switch(spec)
        try:
            return switch.live_colour()
        except Exception as exc:
            return _unread(exc, f"GET {switch.where}")

    def switch_object(self, spec: ReleaseSpec) -> str:
        return self.app_switch(spec).where

    def app_switch(self, spec: ReleaseSpec):
        """The app's traffic switch on the check's bounded read client."""
        from switchyard.release.switch import switch_for

        return switch_for(
            spec, self.reader.core.api_client, log=self.log.info, request_timeout=self.request_timeout
        )


class ModelReasoningCheckOperator(DriftCheckOperator):
    """Check 1: the model validates, its scenarios pass, its committed chain table is current."""

    check = "model_reasoning"

    def compare(self, context: Context) -> drift.CheckResult:
        path = Path(self.model_path)
        return dc.model_reasoning(path, path.parents[1] / "scenarios" / self.model_name)


class ModelVsLiveCheckOperator(DriftCheckOperator):
    """Check 2: what the model names exists; what runs in its namespaces is in the model."""

    check = "model_vs_live"

    def compare(self, context: Context) -> drift.CheckResult:
        spec = self.spec
        colour, source = None, "no release record and no colour selected"
        try:
            active = self.history(spec).active()
        except Exception as exc:
            active, source = None, f"release record not readable: {_unread(exc, 'GET records').detail}"
        if active is not None:
            colour, source = active.colour, f"release #{active.number} {active.version}"
        else:
            selected = self.selected_colour(spec)
            if isinstance(selected, str):
                colour, source = (
                    selected,
                    f"no Active release recorded; the colour {self.switch_object(spec)} selects",
                )
        probe = self.live_probe()
        reads, _notes = dc.existence_reads(self.model, colour)
        existence = {}
        for component, fact in reads:
            answer = probe.probe(component, fact)
            existence[component.name] = (answer.status, answer.value, answer.detail)
        listed = {ns: self.deployments(ns) for ns in dc.kubernetes_namespaces(self.model)}
        return dc.model_vs_live(self.model, colour, source, existence, listed, self.neighbours())

    def neighbours(self) -> list[Model]:
        """The other models of the models directory: apps sharing a namespace name their own
        Deployments. One that does not load is left out here; its own model_reasoning says why."""
        found, itself = [], Path(self.model_path).resolve()
        for path in dc.model_paths(itself.parent):
            if path.resolve() == itself:
                continue
            try:
                found.append(load_model(path))
            except (SwitchyardError, ValueError, OSError) as exc:
                self.log.warning("model %s not loaded to tell its Deployments apart: %s", path, exc)
        return found


class RecordVsLiveCheckOperator(DriftCheckOperator):
    """Check 3: the live system matches the last Active release; no stale release lock.

    :param release_stale_locks: delete a stale release lock (default: report it and leave it)
    """

    check = "record_vs_live"
    template_fields: Sequence[str] = ("model_path", "report_only", "release_stale_locks")

    def __init__(self, *, release_stale_locks: Any = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release_stale_locks = release_stale_locks

    def compare(self, context: Context) -> drift.CheckResult:
        from kubernetes.client import CoordinationV1Api

        from switchyard.release.lock import ReleaseLock

        spec = self.spec
        try:
            records: Any = self.history(spec).read()
        except Exception as exc:
            records = _unread(exc, f"GET configmap {spec.namespace}/switchyard-releases-{spec.app}")
        deployments: dict[str, Any] = {}
        per_colour = spec.layout.components("blue") + spec.layout.components("green")
        listed = {ns: self.deployments(ns) for ns in {spec.layout.namespace(c) for c in per_colour}}
        for component in per_colour:
            found = listed[spec.layout.namespace(component)]
            deployments[component] = (
                found
                if isinstance(found, dc.Unread)
                else next((d for d in found if d.name == component), None)
            )
        lock = ReleaseLock(
            CoordinationV1Api(self.reader.core.api_client),
            spec.app,
            spec.namespace,
            request_timeout=self.request_timeout,
        )
        view = dc.RecordView(
            spec.app,
            spec.namespace,
            self.switch_object(spec),
            records,
            self.selected_colour(spec),
            deployments,
        )
        try:
            view.lock = lock.holder()
        except Exception as exc:
            view.lock = _unread(exc, f"GET lease {spec.namespace}/{lock.name}")
        if view.lock is not None and not isinstance(view.lock, dc.Unread):
            holder = view.lock
            view.lock_judgement = dc.judge_lock(
                holder, self.run_state(context, holder.dag_id, holder.run_id), dt.datetime.now(dt.UTC)
            )
            if view.lock_judgement.stale and _as_bool(self.release_stale_locks):
                view.lock_action = self.release_lock(lock, holder.run_id)
        return dc.record_vs_live(spec.layout, view, dt.datetime.now(dt.UTC))

    def release_lock(self, lock: ReleaseLock, run_id: str) -> str:
        """Delete the stale lock; ``ReleaseLock.release`` deletes it only if that run still holds it."""
        try:
            outcome = lock.release(run_id)
        except Exception as exc:
            return f"not released: {_unread(exc, f'DELETE lease {lock.namespace}/{lock.name}').detail}"
        self.log.warning("stale release lock %s of run %s: %s", lock.name, run_id, outcome)
        return "released by this run" if outcome == "released" else f"not released: {outcome}"

    def run_state(self, context: Context, dag_id: str, run_id: str) -> str | None:
        """The holder run's state from Airflow (``absent`` when there is no such run, None when
        Airflow cannot be asked): the one reading the release lock uses too."""
        state = airflow_run_state(context["ti"], dag_id, run_id)
        if state is None and dag_id and dag_id != "?":
            self.log.warning(
                "could not ask Airflow for run %s of %s: the lease's expiry decides", run_id, dag_id
            )
        return state


class LiveHealthCheckOperator(DriftCheckOperator):
    """Check 4: a diagnosis of the whole model on the live colour — healthy, a root cause, or unknown.

    :param max_probes: probe budget
    :param deadline_seconds: stop probing after this long (the verdict is then unknown)
    """

    check = "live_health"

    def __init__(self, *, max_probes: int = 80, deadline_seconds: float = 120.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_probes, self.deadline_seconds = max_probes, deadline_seconds

    def compare(self, context: Context) -> drift.CheckResult:
        from switchyard.engine.diagnose import diagnose

        spec = self.spec
        selected = self.selected_colour(spec)
        if isinstance(selected, dc.Unread):
            return dc.CheckResult(
                self.model_name,
                self.check,
                [dc.Finding(dc.UNKNOWN, self.switch_object(spec), "unreadable", selected.detail)],
            )
        view, scope, prefer, note = dc.live_health_view(layout(self.model), selected)
        self.log.info("live health: %s", note)
        result = diagnose(
            view,
            self.live_probe(),
            scope=scope,
            prefer=prefer,
            max_probes=self.max_probes,
            deadline_seconds=self.deadline_seconds,
            on_step=lambda s: self.log.info("%s", s.line()),
        )
        return dc.live_health(self.model_name, result.verdict.as_dict(), f"{note}; {result.stopped}")


# ---- the report ------------------------------------------------------------------------------


def _results(ti: Any, models: list[str]) -> list[drift.CheckResult]:
    results = []
    for index, path in enumerate(models):
        name = dc.model_name_of(path)
        for check in dc.CHECKS:
            data = ti.xcom_pull(task_ids=check, key="result", map_indexes=index)
            results.append(
                dc.CheckResult.from_dict(data)
                if data
                else dc.CheckResult(
                    name,
                    check,
                    [
                        dc.Finding(
                            dc.UNKNOWN,
                            f"task {check}[{name}]",
                            "no_result",
                            "ended without a result (an error before the comparison): see its log",
                        )
                    ],
                )
            )
    return results


def report_drift(**context: Any) -> dict[str, Any]:
    """The table (log), the run note and the notification; returns the whole report (XCom)."""
    from switchyard.airflow import notifications
    from switchyard.airflow.notes import set_run_note

    ti, params = context["ti"], context["params"]
    report_only = _as_bool(params.get("report_only"))
    models = ti.xcom_pull(task_ids="list_models")
    if not models:  # nothing checked is not "no drift"
        why = "the models could not be listed" if models is None else "no models found"
        results = [
            dc.CheckResult("-", "list_models", [dc.Finding(dc.UNKNOWN, "include/models", "no_models", why)])
        ]
    else:
        results = _results(ti, models)
    status = dc.overall(results)
    tally = dc.counts(results)
    print(f"DRIFT CHECK: {status} — {tally['drift']} drift, {tally['unknown']} unknown, {tally['ok']} ok")
    for line in dc.table(results):
        print(line)
    for result in results:
        for finding in result.findings:
            print(f"  {result.model} {result.check} {finding.line()}")
    note = dc.note_line(results, report_only)
    dag_id, run_id = context["dag"].dag_id, context["run_id"]
    set_run_note(dag_id, run_id, note)
    if status != dc.OK:
        first = next(f for r in results for f in r.findings if f.status == status)
        affected = sorted({r.model for r in results if r.status != dc.OK})
        down = next((f for r in results for f in r.findings if f.kind == "outage"), None)
        if down:  # paged first, in its own words: not one drift among others
            first = down
        notifications.notify(
            ("[switchyard] OUTAGE — " if down else "[switchyard] ")
            + f"drift check {', '.join(affected)}: {tally['drift']} drift, {tally['unknown']} unknown"
            + (" (report only)" if report_only else "")
            + f" — {first.object}: {first.text} · {notifications.run_link(dag_id, run_id)}",
            context,
        )
    return {
        "status": status,
        "counts": tally,
        "report_only": report_only,
        "note": note,
        "results": [r.as_dict() for r in results],
    }


def all_clear(**context: Any) -> str:
    """The run's last task: it fails when any check found drift or could not vouch (the run's state
    comes from its leaves), unless ``report_only``."""
    ti, params = context["ti"], context["params"]
    report = ti.xcom_pull(task_ids="report")
    if not report:
        raise AirflowFailException("the drift report was not written: see the report task's log")
    if report["status"] == dc.OK:
        return "all clear"
    if _as_bool(params.get("report_only")):
        print(f"report only: {report['note']}")
        return "report only"
    raise AirflowFailException(report["note"])
