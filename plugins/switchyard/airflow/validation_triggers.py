"""Triggers of the validation phase (seed 003, "3. Validation Phase"): waiting without a worker
slot while the standby is loaded (importable by the triggerer from plugins/).

``LoadTestTrigger`` follows the load generator Job: while its pod runs it samples the standby's and
the live colour's figures at the sampling interval (rate, error ratio, p99 from Prometheus; CPU and
memory of the standby pods against their limits). A sample that already breaks the absolute
thresholds ends the wait at once, with the load still on: the standby gate then runs on the loaded
colour, and the Job is deleted (no point loading a colour that failed). Otherwise it waits for the
Job to end and judges all the samples (``switchyard.release.loadtest.judge``). It wakes the worker
once, with the result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from switchyard.airflow.triggers import MIN_DEFERRAL_SECONDS, ReleaseTriggerParts

MAX_SAMPLES_KEPT = 120  # in the event and the record; the verdict is computed over all of them


class LoadTestTrigger(ReleaseTriggerParts, BaseTrigger):
    def __init__(
        self,
        *,
        model_path: str,
        colour: str,
        live: str,
        job: str,
        namespace: str,
        rps: float,
        deadline: float,
        sample_seconds: float,
        dag_id: str,
        run_id: str,
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str = "aws_default",
        prometheus_conn_id: str = "prometheus_default",
        max_probes: int = 80,
        deadline_seconds: float = 120.0,
    ) -> None:
        super().__init__()
        self.model_path, self.colour, self.live = model_path, colour, live
        self.job, self.namespace = job, namespace
        self.rps, self.deadline = float(rps), float(deadline)
        self.sample_seconds = float(sample_seconds)
        self.dag_id, self.run_id = dag_id, run_id
        self.kubernetes_conn_id, self.aws_conn_id = kubernetes_conn_id, aws_conn_id
        self.prometheus_conn_id = prometheus_conn_id
        self.max_probes, self.deadline_seconds = int(max_probes), float(deadline_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "model_path": self.model_path,
                "colour": self.colour,
                "live": self.live,
                "job": self.job,
                "namespace": self.namespace,
                "rps": self.rps,
                "deadline": self.deadline,
                "sample_seconds": self.sample_seconds,
                "dag_id": self.dag_id,
                "run_id": self.run_id,
                "kubernetes_conn_id": self.kubernetes_conn_id,
                "aws_conn_id": self.aws_conn_id,
                "prometheus_conn_id": self.prometheus_conn_id,
                "max_probes": self.max_probes,
                "deadline_seconds": self.deadline_seconds,
            },
        )

    # ------------------------------------------------------------------ blocking parts (threads)
    def _job_state(self) -> str:
        """``loading`` (its pod runs), ``starting``, ``done``, ``failed`` or ``missing``."""
        from kubernetes.client import ApiException, BatchV1Api

        from switchyard.release.calls import REQUEST_TIMEOUT, retried

        try:
            job = retried(
                BatchV1Api(self.api_client).read_namespaced_job,
                self.job,
                self.namespace,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            if exc.status == 404:
                return "missing"
            raise
        status = job.status
        for condition in status.conditions or []:
            if condition.status == "True" and condition.type == "Complete":
                return "done"
            if condition.status == "True" and condition.type == "Failed":
                return "failed"
        return "loading" if (status.ready or 0) > 0 or (status.active or 0) > 0 else "starting"

    def _stop_load(self) -> None:
        from kubernetes.client import ApiException, BatchV1Api

        from switchyard.release.calls import REQUEST_TIMEOUT

        try:
            BatchV1Api(self.api_client).delete_namespaced_job(
                self.job, self.namespace, propagation_policy="Background", _request_timeout=REQUEST_TIMEOUT
            )
            self.log.info("deleted load generator job %s/%s", self.namespace, self.job)
        except ApiException as exc:
            if exc.status != 404:
                self.log.warning("could not delete load generator job %s: %s", self.job, exc.reason)

    def _sample(self, usage: bool = True) -> dict[str, Any]:
        from switchyard.probes.errors import ReadFailed
        from switchyard.probes.metrics import colour_metrics, colour_usage

        sample: dict[str, Any] = {"status": "ok", "at": time.time()}
        for side, colour in (("standby", self.colour), ("live", self.live)):
            if not colour:
                continue
            try:
                m = colour_metrics(
                    self.spec.app, self.spec.namespace, colour, prometheus_conn_id=self.prometheus_conn_id
                )
                figures = {
                    "request_rate": m.request_rate,
                    "error_ratio": m.error_ratio,
                    "p99_seconds": m.p99_seconds,
                }
                if side == "standby" and usage:
                    pods = colour_usage(
                        self.spec.namespace,
                        self.spec.layout.serving(colour),
                        prometheus_conn_id=self.prometheus_conn_id,
                    )
                    figures |= {"cpu_ratio": pods.cpu_ratio, "memory_ratio": pods.memory_ratio}
            except ReadFailed as exc:
                if side == "standby":
                    return {"status": exc.status, "detail": exc.detail, "at": sample["at"]}
                figures = {"status": exc.status, "detail": exc.detail}
            sample[side] = figures
        return sample

    def _gate(self, result: dict[str, Any], name: str = "load test standby gate") -> dict[str, Any]:
        """The standby gate on the (loaded) colour names the root cause; when only the metrics see
        the problem, the colour's first serving tier is named, marked as metrics evidence."""
        from switchyard.airflow.artifacts import artifact_url
        from switchyard.airflow.operators.gate import diagnose_scope, save_evidence

        view, diagnosis = diagnose_scope(
            self.model,
            self.spec,
            "standby",
            self.colour,
            name,
            self.log.info,
            kubernetes_conn_id=self.kubernetes_conn_id,
            aws_conn_id=self.aws_conn_id,
            prometheus_conn_id=self.prometheus_conn_id,
            max_probes=self.max_probes,
            deadline_seconds=self.deadline_seconds,
        )
        verdict = diagnosis.verdict
        report, picture = save_evidence(
            self.model, view, diagnosis, self.dag_id, self.run_id, name, "standby", self.colour
        )
        if verdict.passed and not result["problems"]:
            root, chain = "", []
        elif verdict.passed:
            root, chain = self._serving_entry()
        else:
            root, chain = verdict.root_cause, list(verdict.chain)
            result["problems"].insert(0, f"model gate {verdict.outcome}: {verdict.summary()}")
            result["passed"] = False
        return result | {
            "gate": verdict.outcome,
            "evidence": "model" if not verdict.passed else "metrics" if result["problems"] else "",
            "root_cause": root,
            "chain": chain,
            "artifact_url": artifact_url(picture),
            "verdict": {
                k: report.get(k) for k in ("outcome", "root_cause", "root_state", "chain", "summary")
            },
        }

    def _record(self, result: dict[str, Any], kind: str = "load_test") -> None:

        try:
            self.history.add_checkpoint(self.run_id, kind, result)
        except Exception as exc:  # the record is the report, not the test: never fail the wait for it
            self.log.warning("could not record the load test in the release record: %s", exc)

    # ------------------------------------------------------------------ the wait
    async def run(self) -> AsyncIterator[TriggerEvent]:
        from switchyard.release.loadtest import judge, sample_breach

        began = time.monotonic()
        spec = await asyncio.to_thread(lambda: self.spec)
        samples: list[dict[str, Any]] = []
        stopped_early, ended = "", ""
        while True:
            state = await asyncio.to_thread(self._job_state)
            if state in ("done", "failed", "missing"):
                ended = {
                    "done": "the load generator finished",
                    "failed": f"the load generator job {self.job} failed (see its pod's log)",
                    "missing": f"the load generator job {self.job} is gone",
                }[state]
                break
            if state == "loading":
                sample = await asyncio.to_thread(self._sample)
                samples.append(sample)
                why = sample_breach(sample, spec.max_error_ratio, spec.max_p99_seconds, spec.load_test)
                if why:
                    stopped_early = why
                    self.log.warning("load test on %s: %s: stopping the load", self.colour, why)
                    break
                self.log.info(
                    "load test sample %d on %s: %s", len(samples), self.colour, sample.get("standby")
                )
            if time.time() > self.deadline:
                ended = f"the load generator job {self.job} was still running at the load test's deadline"
                break
            await asyncio.sleep(self.sample_seconds)
        result = judge(
            samples,
            rps=self.rps,
            max_error_ratio=spec.max_error_ratio,
            max_p99_seconds=spec.max_p99_seconds,
            spec=spec.load_test,
            colour=self.colour,
        )
        if stopped_early:
            result["problems"] = [f"stopped early: {stopped_early}"] + [
                p for p in result["problems"] if not p.startswith("only ")
            ]
            result["passed"] = False
        elif state == "failed" and result["passed"]:
            result["problems"].append(ended)
            result["passed"] = False
        result |= {
            "checkpoint": 1,
            "label": f"load test: {self.rps:g} RPS on {self.colour}",
            "at": time.time(),
            "sampled_at": samples[-1]["at"] if samples else None,
            "ended": stopped_early or ended,
            "metrics": result["figures"],
            "samples": samples[-MAX_SAMPLES_KEPT:],
            "gate": "",
            "evidence": "",
            "root_cause": "",
            "chain": [],
        }
        if not result["passed"]:
            # with the load still on when it stopped early: the gate sees the loaded colour
            result = await asyncio.to_thread(self._gate, result)
        if stopped_early:
            await asyncio.to_thread(self._stop_load)
        await asyncio.to_thread(self._record, result)
        early = MIN_DEFERRAL_SECONDS - (time.monotonic() - began)
        if early > 0:
            await asyncio.sleep(early)
        yield TriggerEvent({"status": "passed" if result["passed"] else "failed", "result": result})


class CanaryTrigger(LoadTestTrigger):
    """The canary's checks (the runbook: 20 checks 30 s apart for 10 minutes), run whole in the
    triggerer like the bake: the standby's and the live colour's figures sampled at the sampling
    interval (a sample over the fixed thresholds ends the wait at once), and at each check the
    standby gate plus the comparison with live. Each check's result goes into the release record
    as it happens (``checkpoints.canary``), so a restart goes on at the check reached."""

    def __init__(
        self,
        *,
        started_at: float,
        checks: list[list[Any]],
        percent: float,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("job", "")
        kwargs.setdefault("namespace", "")
        kwargs.setdefault("rps", 0.0)
        kwargs.setdefault("deadline", 0.0)
        super().__init__(**kwargs)
        self.started_at = float(started_at)
        self.checks = [(float(offset), str(label)) for offset, label in checks]
        self.percent = float(percent)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        path, kwargs = super().serialize()
        for key in ("job", "namespace", "rps", "deadline"):
            kwargs.pop(key)
        kwargs |= {
            "started_at": self.started_at,
            "checks": [[offset, label] for offset, label in self.checks],
            "percent": self.percent,
        }
        return path, kwargs

    def _recorded(self) -> list[dict[str, Any]]:

        history = self.history
        return list(history.checkpoint_progress(self.run_id, "canary").get("results", []))

    def _check(self, index: int, sample: dict[str, Any], breach: str) -> dict[str, Any]:
        from switchyard.release.canary import check_thresholds, compare

        spec, load = self.spec, self.spec.load_test
        standby = sample.get("standby") or {"status": sample.get("status"), "detail": sample.get("detail")}
        problems = [f"metrics: {breach}"] if breach else []
        limits = {
            "max_error_ratio": spec.max_error_ratio,
            "max_p99_seconds": spec.max_p99_seconds,
            "p99_vs_live": load.max_p99_vs_live,
            "p99_floor_seconds": load.p99_floor_seconds,
            "error_ratio_vs_live": load.max_error_ratio_vs_live,
        }
        problems += compare(standby, sample.get("live") or {}, colour=self.colour, **limits)
        label = self.checks[index][1]
        result = {
            "checkpoint": index + 1,
            "label": f"canary {label}",
            "at": time.time(),
            "sampled_at": sample.get("at"),
            "passed": not problems,
            "problems": list(dict.fromkeys(problems)),
            "metrics": {"standby": standby, "live": sample.get("live") or {}, "percent": self.percent},
            "thresholds": check_thresholds(sample.get("live") or {}, **limits),
        }
        result = self._gate(result, f"canary check {index + 1}")
        self._record(result, "canary")
        self._renew_lock()
        line = f"canary check {index + 1}/{len(self.checks)} ({label}) on {self.colour} at {self.percent:g} %"
        if result["passed"]:
            self.log.info("%s passed: %s", line, standby)
        else:
            self.log.warning("%s failed: %s", line, "; ".join(result["problems"]))
        return result

    def _intervention(self) -> dict[str, Any]:

        history = self.history
        try:
            return history.intervention(self.run_id)
        except Exception as exc:  # a failed read must never end a healthy canary
            self.log.warning("could not read the release record for an abort/promote request: %s", exc)
            return {}

    def _aborted(self, index: int, sample: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        from switchyard.release.records import intervention_line

        line = intervention_line(request)
        self.log.warning("canary of %s at check %d: %s", self.colour, index + 1, line)
        result = {
            "checkpoint": index + 1,
            "label": f"canary {self.checks[index][1]}",
            "at": time.time(),
            "sampled_at": sample.get("at"),
            "passed": False,
            "gate": "",
            "evidence": "person",
            "root_cause": "",
            "chain": [],
            "metrics": {"standby": sample.get("standby") or {}, "live": sample.get("live") or {}},
            "problems": [line],
            "intervention": request,
        }
        self._record(result, "canary")
        return result

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from switchyard.release.checkpoints import breach as over_thresholds

        began = time.monotonic()
        spec = await asyncio.to_thread(lambda: self.spec)
        results = await asyncio.to_thread(self._recorded)
        failed = next((r for r in results if not r.get("passed")), None)
        index = len(results)
        request: dict[str, Any] = {}
        while failed is None and index < len(self.checks):
            due = self.started_at + self.checks[index][0]
            while True:
                sample = await asyncio.to_thread(self._sample, False)
                standby = sample.get("standby") or {}
                why = over_thresholds(standby, spec.max_error_ratio, spec.max_p99_seconds, self.colour)
                request = await asyncio.to_thread(self._intervention)
                remaining = due - time.time()
                if why or remaining <= 0 or request:
                    break
                await asyncio.sleep(min(self.sample_seconds, remaining))
            if request:  # a person's abort (stop before the switch) or promote (skip the rest)
                if request.get("action") == "abort":
                    failed = await asyncio.to_thread(self._aborted, index, sample, request)
                    results.append(failed)
                break
            result = await asyncio.to_thread(self._check, index, sample, why)
            results.append(result)
            if not result["passed"]:
                failed = result
            index += 1
        early = MIN_DEFERRAL_SECONDS - (time.monotonic() - began)
        if early > 0:
            await asyncio.sleep(early)
        yield TriggerEvent(
            {"status": "failed" if failed else "passed", "results": results, "intervention": request}
        )
