"""The runbook's validation phase (seed 003, "3. Validation Phase") before the switch: the load
test on the standby colour. The Job is created here; the wait and the judgement run in the
triggerer (``LoadTestTrigger``, no worker slot); the worker wakes once to publish the result and
pass, or fail into the pre-switch failure path (standby to 0, record Failed) naming the root cause.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from switchyard.airflow.artifacts import ArtifactLink
from switchyard.airflow.operators.base import SwitchyardOperator
from switchyard.airflow.validation_triggers import CanaryTrigger, LoadTestTrigger
from switchyard.release import loadtest
from switchyard.release.calls import REQUEST_TIMEOUT, retried
from switchyard.release.loadtest import figures_line

# Real seconds the wait may run beyond the load's duration (the pod's start, the last samples).
DEADLINE_MARGIN_SECONDS = 300


class LoadTestOperator(SwitchyardOperator):
    """Load the standby through its preview Service and judge it under that load.

    :param plan: the release plan (standby and live colours, version)
    :param rps: requests per second the load generator sends
    :param seconds: how long the load runs
    :param interval_seconds: how often the metrics are sampled while the load runs
    """

    template_fields: Sequence[str] = ("model_path", "plan", "rps", "seconds", "interval_seconds")
    operator_extra_links = (ArtifactLink(),)
    ui_color = "#e3f2fd"

    def __init__(
        self,
        *,
        plan: Any,
        rps: Any,
        seconds: Any,
        interval_seconds: Any = 30,
        aws_conn_id: str = "aws_default",
        prometheus_conn_id: str = "prometheus_default",
        max_probes: int = 80,
        deadline_seconds: float = 120.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan, self.rps, self.seconds, self.interval_seconds = plan, rps, seconds, interval_seconds
        self.aws_conn_id, self.prometheus_conn_id = aws_conn_id, prometheus_conn_id
        self.max_probes, self.deadline_seconds = max_probes, deadline_seconds

    def _plan(self) -> dict[str, Any]:
        return self.plan if isinstance(self.plan, dict) else json.loads(self.plan)

    def execute(self, context: Context) -> Any:
        from kubernetes.client import ApiException, BatchV1Api

        spec, plan = self.spec, self._plan()
        standby, live = plan["standby"], plan.get("live", "")
        rps, seconds = float(self.rps), int(float(self.seconds))
        self.renew_lock(context)
        preview = self.traffic_switch().ensure_preview(standby)
        run_id = context["run_id"]
        batch = BatchV1Api(self.api_client)
        # A retry loads afresh: the samples of an earlier try were in its trigger, not here. Its Job
        # (if still loading) goes first, so two generators never add up on the standby.
        for old in retried(
            batch.list_namespaced_job,
            spec.namespace,
            label_selector=f"{loadtest.STEP_LABEL}={loadtest.LOAD_TEST_STEP},app={spec.app}",
            _request_timeout=REQUEST_TIMEOUT,
        ).items:
            if (old.metadata.annotations or {}).get("switchyard.io/release-run") == run_id:
                self.log.info("deleting load test job %s of an earlier try", old.metadata.name)
                try:
                    batch.delete_namespaced_job(
                        old.metadata.name,
                        spec.namespace,
                        propagation_policy="Background",
                        _request_timeout=REQUEST_TIMEOUT,
                    )
                except ApiException as exc:
                    if exc.status != 404:
                        raise
        url = loadtest.target_url(preview, spec.namespace, spec.smoke_port, spec.load_test.path)
        body = loadtest.job_body(
            app=spec.app,
            namespace=spec.namespace,
            run_id=f"{run_id}#{context['ti'].try_number}",
            version=plan["version"],
            colour=standby,
            url=url,
            rps=rps,
            seconds=seconds,
            image=spec.load_test.image,
        )
        body["metadata"]["annotations"]["switchyard.io/release-run"] = run_id
        name = body["metadata"]["name"]
        try:
            batch.create_namespaced_job(spec.namespace, body, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 409:
                raise
            self.log.info("job %s exists (this try resumed): following it", name)
        self.log.info(
            "load test: job %s sends %g RPS to %s for %ds; sampling %s and %s every %ss in the triggerer",
            name,
            rps,
            url,
            seconds,
            standby,
            live or "no live colour",
            self.interval_seconds,
        )
        self.defer(
            trigger=LoadTestTrigger(
                model_path=self.model_path,
                colour=standby,
                live=live,
                job=name,
                namespace=spec.namespace,
                rps=rps,
                deadline=time.time() + seconds + DEADLINE_MARGIN_SECONDS,
                sample_seconds=max(1.0, float(self.interval_seconds)),
                dag_id=context["dag"].dag_id,
                run_id=run_id,
                kubernetes_conn_id=self.kubernetes_conn_id,
                aws_conn_id=self.aws_conn_id,
                prometheus_conn_id=self.prometheus_conn_id,
                max_probes=self.max_probes,
                deadline_seconds=self.deadline_seconds,
            ),
            method_name="finish",
        )

    def finish(self, context: Context, event: dict[str, Any]) -> Any:
        """Publish the result (XCom ``load_test``, ``checkpoints``, ``verdict``) and pass, or fail
        naming the root cause."""
        result = event.get("result") or {}
        ti = context["ti"]
        ti.xcom_push(key="load_test", value=result)
        ti.xcom_push(key="checkpoints", value=[result])  # the failure path reads the cause from here
        if result.get("artifact_url"):
            ti.xcom_push(key="artifact_url", value=result["artifact_url"])
            ti.task.published_artifact_url = result["artifact_url"]
        if result.get("verdict"):
            ti.xcom_push(key="verdict", value=result["verdict"])
        figures, limits = result.get("figures") or {}, result.get("thresholds") or {}
        shown = figures_line(figures, limits)
        if result.get("passed"):
            self.decide(context, f"{result.get('label')}: {shown}", "continue", load_test=shown)
            return {"figures": figures, "thresholds": limits}
        problems = "; ".join(result.get("problems") or ["no result"])
        root, chain = result.get("root_cause") or "", result.get("chain") or []
        cause = f"root cause {root} ({' → '.join(chain)})" if root else "no root cause named"
        self.decide(
            context,
            f"{result.get('label')}: {problems}",
            "stop before the switch",
            stops=True,
            root_cause=root,
            chain=chain,
            load_test=shown,
        )
        raise AirflowFailException(f"load test failed — {cause}: {problems} [{shown}]")


class CanaryOperator(SwitchyardOperator):
    """Send ``percent`` of the real traffic to the standby through an ingress-nginx canary Ingress,
    check it against the live colour at every interval for ``minutes`` (in the triggerer), then
    remove the canary Ingress: the switch takes it from there. A failed check aborts: weight 0,
    the canary Ingress removed, and the release stops before the switch naming the root cause.

    :param plan: the release plan (standby and live colours)
    :param percent: share of the traffic for the standby (0: nothing to do)
    :param minutes: how long the canary runs
    :param interval_seconds: sampling interval and check spacing (checks at least 10 s apart)
    """

    template_fields: Sequence[str] = ("model_path", "plan", "percent", "minutes", "interval_seconds")
    operator_extra_links = (ArtifactLink(),)
    ui_color = "#fff8e1"

    def __init__(
        self,
        *,
        plan: Any,
        percent: Any,
        minutes: Any,
        interval_seconds: Any = 30,
        aws_conn_id: str = "aws_default",
        prometheus_conn_id: str = "prometheus_default",
        max_probes: int = 80,
        deadline_seconds: float = 120.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan, self.percent, self.minutes, self.interval_seconds = (
            plan,
            percent,
            minutes,
            interval_seconds,
        )
        self.aws_conn_id, self.prometheus_conn_id = aws_conn_id, prometheus_conn_id
        self.max_probes, self.deadline_seconds = max_probes, deadline_seconds

    def _plan(self) -> dict[str, Any]:
        return self.plan if isinstance(self.plan, dict) else json.loads(self.plan)

    def _ingress(self) -> Any:
        from switchyard.release.canary import CanaryIngress

        return CanaryIngress(self.api_client, self.spec.service, self.spec.namespace, log=self.log.info)

    def _checks(self) -> list[tuple[float, str]]:
        from switchyard.release.checkpoints import checkpoints

        return checkpoints("watch", float(self.minutes), float(self.interval_seconds))

    def execute(self, context: Context) -> Any:

        from switchyard.release.canary import CANARY, CANARY_WEIGHT, canary_refusal

        spec, plan = self.spec, self._plan()
        percent, checks = float(self.percent), self._checks()
        if percent <= 0 or not checks:
            self.decide(context, f"canary {percent:g} % for {self.minutes} min", "nothing to do")
            return []
        refusal = canary_refusal(spec.switch, percent) or self._ingress().refusal()
        if refusal:
            self.decide(context, refusal, "stop before the switch", stops=True)
            raise AirflowFailException(refusal)
        self.renew_lock(context)
        standby, run_id = plan["standby"], context["run_id"]
        preview = self.traffic_switch().ensure_preview(standby)
        history = self.history()
        progress = history.start_checkpoints(run_id, "canary", time.time()) or {
            "started_at": time.time(),
            "results": [],
        }
        name = self._ingress().ensure(preview, percent, run_id)
        self.log.info(
            'canary: ingress %s (%s: "true", %s: "%g") sends %g %% of the traffic to %s; %d check(s): %s',
            name,
            CANARY,
            CANARY_WEIGHT,
            round(percent),
            round(percent),
            preview,
            len(checks),
            "; ".join(label for _, label in checks),
        )
        self.defer(
            trigger=CanaryTrigger(
                model_path=self.model_path,
                colour=standby,
                live=plan.get("live", ""),
                started_at=progress["started_at"],
                checks=[[offset, label] for offset, label in checks],
                percent=percent,
                sample_seconds=max(1.0, float(self.interval_seconds)),
                dag_id=context["dag"].dag_id,
                run_id=run_id,
                kubernetes_conn_id=self.kubernetes_conn_id,
                aws_conn_id=self.aws_conn_id,
                prometheus_conn_id=self.prometheus_conn_id,
                max_probes=self.max_probes,
                deadline_seconds=self.deadline_seconds,
            ),
            method_name="finish",
        )

    def finish(self, context: Context, event: dict[str, Any]) -> Any:
        """Remove the canary Ingress (weight 0 first), publish the checks, pass or fail."""
        from switchyard.release.canary import canary_line

        results = event.get("results") or []
        removed = self._ingress().remove()
        ti = context["ti"]
        ti.xcom_push(key="checkpoints", value=results)
        # the figures beside their thresholds, for the summary and the run note
        line = canary_line(results, float(self.percent), len(self._checks()))
        ti.xcom_push(
            key="canary",
            value={"percent": float(self.percent), "removed": removed, "checks": results, "line": line},
        )
        if results and results[-1].get("artifact_url"):
            ti.xcom_push(key="artifact_url", value=results[-1]["artifact_url"])
            ti.task.published_artifact_url = results[-1]["artifact_url"]
        failed = next((r for r in results if not r.get("passed")), None)
        request = event.get("intervention") or {}
        if request:
            ti.xcom_push(key="intervention", value=request)
        if failed is None and request.get("action") == "promote":
            from switchyard.release.records import intervention_line

            self.decide(
                context,
                f"{intervention_line(request)} after {len(results)} canary check(s)",
                f"canary ingress removed ({', '.join(removed) or 'none left'}); remaining "
                f"{len(self._checks()) - len(results)} check(s) skipped; go on to the switch",
                intervention=request,
            )
            return {"checks": len(results), "removed": removed, "promoted_by": request.get("user")}
        if failed is None:
            self.decide(
                context,
                f"{len(results)} canary check(s) at {float(self.percent):g} % passed: {line}",
                f"canary ingress removed ({', '.join(removed) or 'none left'}); go on to the switch",
            )
            return {"checks": len(results), "removed": removed}
        line = f"canary check {failed['checkpoint']}/{len(self._checks())} on {failed.get('label', '')}"
        problems = "; ".join(failed.get("problems") or [])
        root, chain = failed.get("root_cause") or "", failed.get("chain") or []
        cause = (
            f"root cause {root} ({' → '.join(chain)})"
            if root
            else "a person stepped in"
            if failed.get("intervention")
            else "no root cause named"
        )
        self.decide(
            context,
            f"{line}: {problems}",
            f"abort the canary: weight 0, ingress removed ({', '.join(removed) or 'none left'}); stop before the switch",
            stops=True,
            root_cause=root,
            chain=chain,
        )
        raise AirflowFailException(f"canary aborted at check {failed['checkpoint']} — {cause}: {problems}")
