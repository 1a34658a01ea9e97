"""Watching the new colour after the switch: the immediate watch (a checkpoint every 30 s for
5 minutes) and the 2-hour bake (checkpoints at +5 min, +15 min, +1 h, +2 h — the runbook's table).

The whole wait runs in ``ReleaseWatchTrigger`` (no worker slot): it samples the metrics, runs the
live-path model gate at each checkpoint and ends the wait at the first failure. Each checkpoint's
result goes into the release record as it happens, so a retry after a worker, scheduler or
triggerer restart resumes at the checkpoint reached; the worker wakes once, to push the results
to XCom and pass or fail (→ rollback) naming the root cause.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from switchyard.airflow.artifacts import ArtifactLink
from switchyard.airflow.operators.base import SwitchyardOperator
from switchyard.airflow.triggers import ReleaseWatchTrigger
from switchyard.engine.notation import chain_text, root_text
from switchyard.release.checkpoints import checkpoints

if TYPE_CHECKING:
    from switchyard.release.records import ReleaseHistory


class ReleaseWatchOperator(SwitchyardOperator):
    """Hold the new colour to the gate and the thresholds at each checkpoint; fail (→ rollback)
    on the first breach, naming the root cause the gate finds.

    :param colour: the colour now serving
    :param kind: ``watch`` (evenly spaced checkpoints) or ``bake`` (the runbook's four checkpoints)
    :param duration_minutes: how long to watch (0: nothing to do)
    :param interval_seconds: the metrics sampling interval (a breach between checkpoints ends the
        wait at once); the watch's checkpoints are spaced by it too, at least 10 s apart
    :param on_migrated_rollback: as the rollback's: after a migration, ``stop`` means no automatic
        move back, so the trigger does not restore traffic either
    """

    template_fields: Sequence[str] = (
        "model_path",
        "colour",
        "duration_minutes",
        "interval_seconds",
        "on_migrated_rollback",
    )
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
        on_migrated_rollback: str = "proceed",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.on_migrated_rollback = on_migrated_rollback
        if kind not in ("watch", "bake"):
            raise ValueError(f"kind {kind!r} must be watch or bake")
        self.colour, self.kind = colour, kind
        self.duration_minutes, self.interval_seconds = duration_minutes, interval_seconds
        self.aws_conn_id, self.prometheus_conn_id = aws_conn_id, prometheus_conn_id
        self.max_probes, self.deadline_seconds = max_probes, deadline_seconds

    def _checkpoints(self) -> list[tuple[float, str]]:
        return checkpoints(self.kind, float(self.duration_minutes), float(self.interval_seconds))

    def _restore_to(self, plan: dict[str, Any]) -> str:
        """The colour the trigger puts traffic back on at a failure ("" = it leaves that to rollback)."""
        old = plan.get("live") or ""
        if not old or old == self.colour:
            return ""  # a first deployment: nothing to go back to
        if plan.get("run_migration") and self.on_migrated_rollback == "stop":
            return ""  # a person decides after a migration
        return old

    def _history(self) -> ReleaseHistory:
        return self.history()

    def execute(self, context: Context) -> Any:
        cps = self._checkpoints()
        if not cps:
            self.decide(context, f"{self.kind} of 0 minutes", "nothing to watch")
            return []
        run_id = context["run_id"]
        self.renew_lock(context)  # the trigger renews it at every checkpoint of a long bake
        history = self._history()
        progress = history.start_checkpoints(run_id, self.kind, time.time())
        if not progress:  # no record for this run (a hand-made run): keep time in the trigger alone
            self.log.warning(
                "no release record for run %s: the %s cannot resume after a restart", run_id, self.kind
            )
            progress = {"started_at": time.time(), "results": []}
        results = progress.get("results", [])
        if results:
            self.log.info(
                "resuming the %s at checkpoint %d/%d (started %.0fs ago; earlier results in the release record)",
                self.kind,
                len(results) + 1,
                len(cps),
                time.time() - progress["started_at"],
            )
        if any(not r.get("passed") for r in results) or len(results) >= len(cps):
            return self.finish(context, {"status": "recorded", "results": results})
        restore_to = self._restore_to(context["ti"].xcom_pull(task_ids="plan") or {})
        self.log.info(
            "watching %s for %d checkpoint(s) in the triggerer (no worker slot), sampling every %ss: %s; "
            "at a failure traffic goes back to %s at once",
            self.colour,
            len(cps),
            self.interval_seconds,
            "; ".join(label for _, label in cps),
            restore_to or "(nobody: the rollback task decides)",
        )
        self.defer(
            trigger=ReleaseWatchTrigger(
                kind=self.kind,
                model_path=self.model_path,
                colour=self.colour,
                dag_id=context["dag"].dag_id,
                run_id=run_id,
                started_at=progress["started_at"],
                checkpoints=[[offset, label] for offset, label in cps],
                sample_seconds=float(self.interval_seconds),
                kubernetes_conn_id=self.kubernetes_conn_id,
                aws_conn_id=self.aws_conn_id,
                prometheus_conn_id=self.prometheus_conn_id,
                max_probes=self.max_probes,
                deadline_seconds=self.deadline_seconds,
                restore_to=restore_to,
            ),
            method_name="finish",
        )

    def finish(self, context: Context, event: dict[str, Any]) -> Any:
        """Publish every checkpoint's result (XCom ``checkpoints``, ``checkpoint_N``, ``verdict`` and
        the picture of the last gate) and pass, or fail naming the cause."""
        results = event.get("results") or []
        cps = self._checkpoints()
        ti = context["ti"]
        ti.xcom_push(key="checkpoints", value=results)
        for result in results:
            ti.xcom_push(key=f"checkpoint_{result['checkpoint']}", value=result)
        if results:
            last = results[-1]
            if last.get("artifact_url"):
                ti.xcom_push(key="artifact_url", value=last["artifact_url"])
                ti.task.published_artifact_url = last["artifact_url"]  # the task's link button
            if last.get("verdict"):
                ti.xcom_push(key="verdict", value=last["verdict"])
        failed = next((r for r in results if not r.get("passed")), None)
        request = event.get("intervention") or {}
        if failed is None and request.get("action") == "promote":
            from switchyard.release.records import intervention_line

            line = intervention_line(request)
            skipped = len(cps) - len(results)
            ti.xcom_push(key="intervention", value=request)
            self.decide(
                context,
                f"{line} after {len(results)} checkpoint(s) of the {self.kind} on {self.colour}",
                f"continue: {skipped} remaining checkpoint(s) skipped",
                intervention=request,
            )
            return results
        if failed is None:
            self.decide(
                context,
                f"{len(results)} checkpoint(s) of the {self.kind} passed on {self.colour}",
                "continue",
            )
            return results
        line = (
            f"{self.kind} checkpoint {failed['checkpoint']}/{len(cps)} ({failed['label']}) on {self.colour}"
        )
        problems = "; ".join(failed.get("problems", []))
        restored = failed.get("traffic_restored") or {}
        if restored.get("done"):
            problems += f"; traffic already restored to {restored['to']} by the {self.kind}"
        elif restored:
            problems += f"; traffic NOT restored by the {self.kind}: {restored.get('detail', '')}"
        root_cause, chain = failed.get("root_cause"), failed.get("chain") or []
        state = failed.get("root_state") or ""
        cause = (
            f"root cause {root_text(root_cause, state)}; chain: {chain_text(chain, state)}"
            if root_cause and root_cause != "none"
            else "a person stepped in"
            if failed.get("intervention")
            else f"{self.colour}: the gate named no root cause"
        )
        if failed.get("intervention"):
            ti.xcom_push(key="intervention", value=failed["intervention"])
        self.decide(
            context,
            f"{line}: {problems}",
            "fail → roll back",
            stops=True,
            root_cause=root_cause,
            root_state=state,
            chain=chain,
        )
        raise AirflowFailException(f"{line} failed — {cause}: {problems}")
