"""Triggers: waiting without a worker slot (run by Airflow's triggerer, importable from plugins/).

``ReleaseWatchTrigger`` runs a whole watch or bake in the triggerer: it samples the new colour's
error ratio and p99 at the sampling interval, runs the model gate at each checkpoint, and records
each checkpoint's result in the release record as it happens. It wakes the worker once: when the
last checkpoint passed, or at the first failure. Its kwargs are primitives and absolute times, and
its progress is in the release record, so after a triggerer restart it goes on at the checkpoint
it had reached instead of starting over.

At a failure it puts traffic back on the old colour itself, before the diagnosis and before the
worker wakes: a scheduler round trip and a model gate cost seconds of errors for every user. The
rollback task that follows finds traffic already back, verifies it and does the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import cached_property
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

# Airflow 3.3 race: the worker that deferred reports "success" to the scheduler a few seconds after
# it exits (the task supervisor's heartbeat). If the trigger has already fired and the task was
# queued again, the scheduler takes that late report for a task killed from outside and fails the
# resumed try. So no event leaves a trigger earlier than this after it started.
MIN_DEFERRAL_SECONDS = 8.0


class ReleaseTriggerParts:
    """What the release's triggers share, read in their threads: the model and its release spec,
    the cluster client (the provider's hook), the release record, the lock renewal and the
    colour's serving entry. Needs ``model_path``, ``colour``, ``run_id``, ``kubernetes_conn_id``."""

    model_path: str
    colour: str
    run_id: str
    kubernetes_conn_id: str
    log: Any

    @cached_property
    def model(self) -> Any:
        from switchyard.engine.model import load_model

        return load_model(self.model_path)

    @cached_property
    def spec(self) -> Any:
        from switchyard.release.spec import release_spec

        return release_spec(self.model)

    @cached_property
    def api_client(self) -> Any:
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

        from switchyard.release.calls import release_client

        return release_client(KubernetesHook(conn_id=self.kubernetes_conn_id).api_client)

    @cached_property
    def history(self) -> Any:
        from kubernetes.client import CoreV1Api

        from switchyard.release.records import ReleaseHistory

        return ReleaseHistory(CoreV1Api(self.api_client), self.spec.app, self.spec.namespace)

    def _renew_lock(self) -> None:
        """Push the release lock forward: a 24-hour bake outlives the lease otherwise."""
        from kubernetes.client import CoordinationV1Api

        from switchyard.release.lock import ReleaseLock

        try:
            lock = ReleaseLock(CoordinationV1Api(self.api_client), self.spec.app, self.spec.namespace)
            self.log.info("release lock: %s", lock.renew(self.run_id))
        except Exception as exc:  # the lock is a guard, not the work: never fail the wait for it
            self.log.warning("could not renew the release lock: %s", exc)

    def _serving_entry(self) -> tuple[str, list[str]]:
        """The first serving tier of the colour and the path traffic takes to it."""
        from switchyard.engine.facts import FactStore
        from switchyard.engine.reasoning import shortest_paths

        shape = self.spec.layout
        component = shape.serving(self.colour)[0]
        view = shape.live_path(self.colour)
        path = next((p for p in shortest_paths(view, {}, FactStore()) if p[-1] == component), [component])
        return component, path


class ReleaseWatchTrigger(ReleaseTriggerParts, BaseTrigger):
    def __init__(
        self,
        *,
        kind: str,
        model_path: str,
        colour: str,
        dag_id: str,
        run_id: str,
        started_at: float,
        checkpoints: list[list[Any]],
        sample_seconds: float,
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str = "aws_default",
        prometheus_conn_id: str = "prometheus_default",
        max_probes: int = 80,
        deadline_seconds: float = 120.0,
        restore_to: str = "",
        verify_timeout_seconds: float = 30.0,
    ) -> None:
        super().__init__()
        self.kind, self.model_path, self.colour = kind, model_path, colour
        self.dag_id, self.run_id = dag_id, run_id
        self.started_at = float(started_at)
        self.checkpoints = [(float(offset), str(label)) for offset, label in checkpoints]
        self.sample_seconds = float(sample_seconds)
        self.kubernetes_conn_id, self.aws_conn_id = kubernetes_conn_id, aws_conn_id
        self.prometheus_conn_id = prometheus_conn_id
        self.max_probes, self.deadline_seconds = int(max_probes), float(deadline_seconds)
        # the old colour to put traffic back on at a failure; "" = leave it to the rollback task
        # (a first deployment, or on_migrated_rollback=stop after a migration)
        self.restore_to, self.verify_timeout_seconds = restore_to, float(verify_timeout_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "kind": self.kind,
                "model_path": self.model_path,
                "colour": self.colour,
                "dag_id": self.dag_id,
                "run_id": self.run_id,
                "started_at": self.started_at,
                "checkpoints": [[offset, label] for offset, label in self.checkpoints],
                "sample_seconds": self.sample_seconds,
                "kubernetes_conn_id": self.kubernetes_conn_id,
                "aws_conn_id": self.aws_conn_id,
                "prometheus_conn_id": self.prometheus_conn_id,
                "max_probes": self.max_probes,
                "deadline_seconds": self.deadline_seconds,
                "restore_to": self.restore_to,
                "verify_timeout_seconds": self.verify_timeout_seconds,
            },
        )

    # ------------------------------------------------------------------ blocking parts (threads)
    def _restore_traffic(self, why: str) -> dict[str, Any]:
        """Put traffic back on the old colour and verify it; what happened, for the record.

        Only from the colour this wait watches (never moves traffic a person moved elsewhere) and
        only onto ready pods (``switch`` refuses an empty colour). Any error leaves the move to the
        rollback task, which reads the Service again."""
        from switchyard.release.switch import switch_for

        started = time.time()
        outcome: dict[str, Any] = {"to": self.restore_to, "why": why, "started_at": started, "done": False}
        switch = switch_for(self.spec, self.api_client, log=self.log.warning)
        try:
            live = switch.live_colour()
            if live != self.colour:
                outcome["detail"] = f"traffic is on {live or 'no colour'}, not {self.colour}: left as it is"
                return outcome
            result = switch.switch(self.restore_to, timeout=self.verify_timeout_seconds)
        except Exception as exc:  # the rollback task retries the move with its own reads
            outcome["detail"] = f"could not restore traffic to {self.restore_to}: {exc}"[:500]
            self.log.error("%s", outcome["detail"])
            return outcome
        outcome.update(done=True, verified_at=time.time(), endpoints=len(result.endpoints))
        self.log.warning(
            "DECISION: %s → traffic restored to %s and verified in %.1fs (%d pods); diagnosing %s now",
            why,
            self.restore_to,
            outcome["verified_at"] - started,
            len(result.endpoints),
            self.colour,
        )
        return outcome

    def _recorded(self) -> list[dict[str, Any]]:
        return list(self.history.checkpoint_progress(self.run_id, self.kind).get("results", []))

    def _sample(self) -> dict[str, Any]:
        from switchyard.probes.errors import ReadFailed
        from switchyard.probes.metrics import colour_metrics

        try:
            m = colour_metrics(
                self.spec.app,
                self.spec.namespace,
                self.colour,
                prometheus_conn_id=self.prometheus_conn_id,
                conventions=self.spec.conventions,
            )
        except ReadFailed as exc:
            return {"status": exc.status, "detail": exc.detail, "at": time.time()}
        return {
            "status": "ok",
            "request_rate": m.request_rate,
            "error_ratio": m.error_ratio,
            "p99_seconds": m.p99_seconds,
            "at": time.time(),
        }

    def _checkpoint(
        self, index: int, sample: dict[str, Any], breach_reason: str, restored: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Run the model gate, judge the checkpoint, save its evidence and record its result."""
        from switchyard.airflow.artifacts import artifact_url
        from switchyard.airflow.operators.gate import diagnose_scope, save_evidence
        from switchyard.release.checkpoints import judge

        label = self.checkpoints[index][1]
        name = f"{self.kind} checkpoint {index + 1}"
        view, diagnosis = diagnose_scope(
            self.model,
            self.spec,
            "live",
            self.colour,
            name,
            self.log.info,
            kubernetes_conn_id=self.kubernetes_conn_id,
            aws_conn_id=self.aws_conn_id,
            prometheus_conn_id=self.prometheus_conn_id,
            max_probes=self.max_probes,
            deadline_seconds=self.deadline_seconds,
        )
        result = judge(
            index=index,
            label=label,
            verdict=diagnosis.verdict,
            sample=sample,
            breach_reason=breach_reason,
            max_error_ratio=self.spec.max_error_ratio,
            max_p99_seconds=self.spec.max_p99_seconds,
            colour=self.colour,
            serving_entry=self._serving_entry(),
            sampled_at=sample.get("at"),
        )
        report, picture = save_evidence(
            self.model, view, diagnosis, self.dag_id, self.run_id, name, "live", self.colour
        )
        # the gate failed without a metrics breach: restore now, unless its cause is a dependency
        # both colours share (then going back cannot help: release.shared)
        shared_cause = result["root_cause"] in self.spec.shared
        if not result["passed"] and self.restore_to and restored is None and not shared_cause:
            restored = self._restore_traffic("; ".join(result["problems"]))
        if restored is not None:
            result["traffic_restored"] = restored
        result["artifact_url"] = artifact_url(picture)
        result["verdict"] = {
            k: report.get(k)
            for k in ("outcome", "root_cause", "root_state", "chain", "chain_text", "summary")
        }
        self.history.add_checkpoint(self.run_id, self.kind, result)
        self._renew_lock()
        line = f"{self.kind} checkpoint {index + 1}/{len(self.checkpoints)} ({label}) on {self.colour}"
        if result["passed"]:
            self.log.info(
                "%s passed: gate %s, error ratio %s, p99 %s",
                line,
                diagnosis.verdict.outcome,
                sample.get("error_ratio"),
                sample.get("p99_seconds"),
            )
        else:
            self.log.warning("%s failed: %s", line, "; ".join(result["problems"]))
        return result

    def _intervention(self) -> dict[str, Any]:
        """A person's abort/promote request in the release record ({} when none, or unreadable: a
        failed read must never end a healthy watch)."""
        try:
            return self.history.intervention(self.run_id)
        except Exception as exc:
            self.log.warning("could not read the release record for an abort/promote request: %s", exc)
            return {}

    def _intervened(
        self,
        index: int,
        sample: dict[str, Any],
        request: dict[str, Any],
        restored: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """A person's request as the checkpoint it ends the wait at: abort fails it (the rollback
        names "aborted by <user>: <reason>"); promote records nothing (the rest is skipped)."""
        from switchyard.release.records import intervention_line

        line = intervention_line(request)
        self.log.warning("%s of %s at checkpoint %d: %s", self.kind, self.colour, index + 1, line)
        if request.get("action") != "abort":
            return []
        result = {
            "checkpoint": index + 1,
            "label": self.checkpoints[index][1],
            "at": time.time(),
            "sampled_at": sample.get("at"),
            "passed": False,
            "gate": "",
            "evidence": "person",
            "root_cause": "",
            "chain": [],
            "metrics": sample,
            "problems": [line],
            "intervention": request,
        }
        if restored is not None:
            result["traffic_restored"] = restored
        self.history.add_checkpoint(self.run_id, self.kind, result)
        return [result]

    # ------------------------------------------------------------------ the wait
    async def run(self) -> AsyncIterator[TriggerEvent]:
        from switchyard.release.checkpoints import breach

        began = time.monotonic()
        results = await asyncio.to_thread(self._recorded)
        if results:
            self.log.info(
                "%s of %s: %d checkpoint(s) already recorded; going on from checkpoint %d",
                self.kind,
                self.colour,
                len(results),
                len(results) + 1,
            )
        failed = next((r for r in results if not r.get("passed")), None)
        index = len(results)
        samples = 0
        request: dict[str, Any] = {}
        while failed is None and index < len(self.checkpoints):
            due = self.started_at + self.checkpoints[index][0]
            sample: dict[str, Any] = {}
            why = ""
            while True:
                sample = await asyncio.to_thread(self._sample)
                samples += 1
                why = breach(sample, self.spec.max_error_ratio, self.spec.max_p99_seconds, self.colour)
                request = await asyncio.to_thread(self._intervention)
                remaining = due - time.time()
                if why or remaining <= 0 or request:
                    break
                await asyncio.sleep(min(self.sample_seconds, remaining))
            restored = None
            if request:  # a person's abort (→ rollback) or promote (skip the rest), issue 13
                if request.get("action") == "abort" and self.restore_to:
                    restored = await asyncio.to_thread(self._restore_traffic, "aborted by a person")
                results.extend(await asyncio.to_thread(self._intervened, index, sample, request, restored))
                failed = results[-1] if request["action"] == "abort" else None
                break
            if why:
                self.log.warning("breach while waiting for checkpoint %d: %s", index + 1, why)
                if self.restore_to:  # traffic first: the diagnosis can wait, users cannot
                    restored = await asyncio.to_thread(self._restore_traffic, why)
            result = await asyncio.to_thread(self._checkpoint, index, sample, why, restored)
            results.append(result)
            if not result["passed"]:
                failed = result
            index += 1
        early = MIN_DEFERRAL_SECONDS - (time.monotonic() - began)
        if early > 0:
            await asyncio.sleep(early)
        yield TriggerEvent(
            {
                "status": "failed" if failed else "passed",
                "results": results,
                "samples": samples,
                "at": time.time(),
                "intervention": request,
            }
        )
