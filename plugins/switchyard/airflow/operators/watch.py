"""Watching the new colour after the switch: the immediate watch (a checkpoint every 30 s for
5 minutes) and the 2-hour bake (checkpoints at +5 min, +15 min, +1 h, +2 h — the runbook's table).

Waiting is deferred to ``ColourMetricsTrigger`` (no worker slot; a breach ends the wait at once).
At each checkpoint the worker runs the live-path model gate and judges the metrics; the result is
pushed to XCom as it happens. Progress (start time, next checkpoint) lives in the task state
store, so a retry after a worker, scheduler or triggerer restart resumes at the checkpoint reached.
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
from switchyard.airflow.operators.gate import run_gate
from switchyard.airflow.triggers import ColourMetricsTrigger

# The runbook's bake checkpoints as fractions of the bake, with what each one is for.
BAKE_CHECKPOINTS = (
    (5 / 120, "immediate stability: error rate < 0.1 %, no crash loops"),
    (15 / 120, "performance baseline: P99 latency < 5 s"),
    (60 / 120, "extended stability: all metrics stable"),
    (1.0, "production readiness: full SLO"),
)


def _offset_label(seconds: float) -> str:
    if seconds < 120:
        return f"+{seconds:.0f}s"
    if seconds < 7200 and seconds % 3600:
        return f"+{seconds / 60:.0f} min"
    return f"+{seconds / 3600:g} h"


def checkpoints(kind: str, duration_minutes: float, interval_seconds: float) -> list[tuple[float, str]]:
    """(offset in seconds from the start, label) of every checkpoint."""
    total = float(duration_minutes) * 60
    if total <= 0:
        return []
    if kind == "bake":
        return [(total * f, f"{_offset_label(total * f)} {what}") for f, what in BAKE_CHECKPOINTS]
    step = max(1.0, float(interval_seconds))
    count = max(1, int(total // step))
    return [
        (min(total, step * (i + 1)), f"sample {i + 1}/{count} ({_offset_label(step * (i + 1))})")
        for i in range(count)
    ]


class ReleaseWatchOperator(SwitchyardOperator):
    """Hold the new colour to the gate and the thresholds at each checkpoint; fail (→ rollback)
    on the first breach, naming the root cause the gate finds.

    :param colour: the colour now serving
    :param kind: ``watch`` (evenly spaced samples) or ``bake`` (the runbook's four checkpoints)
    :param duration_minutes: how long to watch (0: nothing to do)
    :param interval_seconds: the sampling interval (the watch's checkpoint spacing, the bake's
        metrics sampling while waiting)
    """

    template_fields: Sequence[str] = ("model_path", "colour", "duration_minutes", "interval_seconds")
    operator_extra_links = (ArtifactLink(),)
    ui_color = "#e8f5e9"

    def __init__(
        self,
        *,
        colour: str,
        kind: str,
        duration_minutes: Any,
        interval_seconds: Any = 30,
        aws_conn_id: str = "aws_default",
        prometheus_conn_id: str = "prometheus_default",
        max_probes: int = 80,
        deadline_seconds: float = 120.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if kind not in ("watch", "bake"):
            raise ValueError(f"kind {kind!r} must be watch or bake")
        self.colour, self.kind = colour, kind
        self.duration_minutes, self.interval_seconds = duration_minutes, interval_seconds
        self.aws_conn_id, self.prometheus_conn_id = aws_conn_id, prometheus_conn_id
        self.max_probes, self.deadline_seconds = max_probes, deadline_seconds

    def _checkpoints(self) -> list[tuple[float, str]]:
        return checkpoints(self.kind, float(self.duration_minutes), float(self.interval_seconds))

    def execute(self, context: Context) -> Any:
        store = context["task_state_store"]
        progress = store.get("progress") or {}
        if not progress:
            progress = {"started_at": time.time(), "next": 0}
            store.set("progress", progress)
        elif progress["next"] > 0:
            self.log.info(
                "resuming the %s at checkpoint %d (started %.0fs ago)",
                self.kind,
                progress["next"] + 1,
                time.time() - progress["started_at"],
            )
        if not self._checkpoints():
            self.decide(context, f"{self.kind} of 0 minutes", "nothing to watch")
            return []
        return self._wait(context, progress)

    def _wait(self, context: Context, progress: dict[str, Any]) -> Any:
        cps = self._checkpoints()
        index = progress["next"]
        if index >= len(cps):
            results = context["ti"].xcom_pull(task_ids=self.task_id, key="checkpoints") or []
            self.decide(
                context, f"{len(cps)} checkpoint(s) of the {self.kind} passed on {self.colour}", "continue"
            )
            return results
        offset, label = cps[index]
        spec = self.spec
        self.log.info(
            "waiting (deferred, no worker slot) for checkpoint %d/%d: %s", index + 1, len(cps), label
        )
        self.defer(
            trigger=ColourMetricsTrigger(
                app=spec.app,
                namespace=spec.namespace,
                colour=self.colour,
                until=progress["started_at"] + offset,
                sample_seconds=float(self.interval_seconds),
                max_error_ratio=spec.max_error_ratio,
                max_p99_seconds=spec.max_p99_seconds,
                prometheus_conn_id=self.prometheus_conn_id,
                index=index,
            ),
            method_name="checkpoint",
        )

    def _serving_entry(self) -> tuple[str, list[str]]:
        """The first serving tier of the colour and the path traffic takes to it."""
        from switchyard.engine.facts import FactStore
        from switchyard.engine.reasoning import shortest_paths

        shape = self.spec.layout
        component = shape.serving(self.colour)[0]
        view = shape.live_path(self.colour)
        path = next((p for p in shortest_paths(view, {}, FactStore()) if p[-1] == component), [component])
        return component, path

    def checkpoint(self, context: Context, event: dict[str, Any]) -> Any:
        self.renew_lock(context)  # a 24 h bake outlives the lease otherwise
        store = context["task_state_store"]
        progress = store.get("progress") or {"started_at": time.time(), "next": event.get("index", 0)}
        index = int(event.get("index", progress["next"]))
        cps = self._checkpoints()
        label = cps[min(index, len(cps) - 1)][1]
        name = f"{self.task_id} checkpoint {index + 1}"
        gate = run_gate(self, context, "live", self.colour, name)
        verdict = gate.verdict
        sample = event.get("sample") or {}
        spec = self.spec
        problems = []
        if event.get("status") == "breach":
            problems.append(f"metrics: {event['reason']}")
        elif sample.get("status", "ok") != "ok":
            problems.append(f"metrics unreadable ({sample.get('status')}): {sample.get('detail', '')}")
        elif sample.get("error_ratio") is None or sample.get("p99_seconds") is None:
            problems.append(f"no metrics data for {self.colour}: a checkpoint cannot pass on no evidence")
        else:
            if sample["error_ratio"] >= spec.max_error_ratio:
                problems.append(f"error ratio {sample['error_ratio']:.2%} ≥ {spec.max_error_ratio:.2%}")
            if sample["p99_seconds"] >= spec.max_p99_seconds:
                problems.append(f"p99 {sample['p99_seconds']:.2f}s ≥ {spec.max_p99_seconds:.2f}s")
        if not verdict.passed:
            problems.insert(0, f"model gate {verdict.outcome}: {verdict.summary()}")
        root_cause, chain = verdict.root_cause, verdict.chain
        if problems and verdict.passed:
            # Only the metrics see it (5xx, latency): the model vouches for every component, so
            # the cause is the colour's serving path; name its first tier, marked as metrics evidence.
            root_cause, chain = self._serving_entry()
        result = {
            "checkpoint": index + 1,
            "label": label,
            "at": time.time(),
            "sampled_at": event.get("at"),
            "passed": not problems,
            "gate": verdict.outcome,
            "evidence": "model" if not verdict.passed else "metrics",
            "root_cause": root_cause,
            "chain": chain,
            "metrics": sample,
            "problems": problems,
        }
        results = (context["ti"].xcom_pull(task_ids=self.task_id, key="checkpoints") or []) + [result]
        context["ti"].xcom_push(key="checkpoints", value=json.loads(json.dumps(results, default=str)))
        context["ti"].xcom_push(
            key=f"checkpoint_{index + 1}", value=json.loads(json.dumps(result, default=str))
        )
        line = f"{self.kind} checkpoint {index + 1}/{len(cps)} ({label}) on {self.colour}"
        if problems:
            cause = (
                f"root cause {root_cause} ({' → '.join(chain)})"
                if root_cause and root_cause != "none"
                else f"{self.colour}: not enough visibility to name a cause"
            )
            self.decide(
                context,
                f"{line}: {'; '.join(problems)}",
                "fail → roll back",
                stops=True,
                root_cause=root_cause,
                chain=chain,
            )
            raise AirflowFailException(f"{line} failed — {cause}: {'; '.join(problems)}")
        self.log.info(
            "%s passed: gate healthy, error ratio %s, p99 %s",
            line,
            sample.get("error_ratio"),
            sample.get("p99_seconds"),
        )
        progress["next"] = index + 1
        store.set("progress", progress)
        return self._wait(context, progress)
