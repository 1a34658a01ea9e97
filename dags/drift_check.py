"""Drift check: the model, the live system and the release record, compared on a schedule.

For each model in include/models/ (mapped: one grid cell per model and check):

    list_models → model_reasoning  (validate, simulate the scenarios, the committed chain table)
                → model_vs_live    (what the model names exists; nothing unmodelled runs beside it)
                → record_vs_live   (colour, images, standby past cleanup-after, stale release lock)
                → live_health      (a diagnosis of the live system: healthy, root cause or unknown)
                → report → all_clear

A check fails on drift or unknown; ``report`` logs the table, sets the run note and notifies;
``all_clear`` fails the run unless ``report_only``. Catches the slow divergences a release does not:
a hand-patched selector (GitOps self-heal fighting the release), a hotfixed image, a standby left
running, a release that died holding the lock.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Param, TriggerRule, task

from switchyard.airflow.operators.drift import (
    LiveHealthCheckOperator,
    ModelReasoningCheckOperator,
    ModelVsLiveCheckOperator,
    RecordVsLiveCheckOperator,
    all_clear,
    list_models,
    report_drift,
)

INCLUDE = Path(__file__).resolve().parents[1] / "include"  # $SWITCHYARD_INCLUDE_DIR overrides it at run time
SCHEDULE = os.environ.get("SWITCHYARD_DRIFT_SCHEDULE", "@hourly")

with DAG(
    dag_id="drift_check",
    description="The model, the live system and the release record, compared",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=50),
    params={
        "report_only": Param(
            False,
            type="boolean",
            description="Report drift without failing the run (first runs on a new cluster)",
        ),
        "release_stale_locks": Param(
            False, type="boolean", description="Delete a release lock whose run is no longer running"
        ),
    },
    render_template_as_native_obj=True,
    tags=["switchyard", "drift"],
    doc_md=__doc__,
    default_args={"retries": 0, "execution_timeout": timedelta(minutes=10)},
) as dag:
    models = task(list_models, task_id="list_models")(str(INCLUDE))
    each_model = {"report_only": "{{ params.report_only }}", "map_index_template": "{{ task.model_name }}"}
    checks = [
        ModelReasoningCheckOperator.partial(task_id="model_reasoning", **each_model).expand(
            model_path=models
        ),
        ModelVsLiveCheckOperator.partial(task_id="model_vs_live", **each_model).expand(model_path=models),
        RecordVsLiveCheckOperator.partial(
            task_id="record_vs_live", release_stale_locks="{{ params.release_stale_locks }}", **each_model
        ).expand(model_path=models),
        LiveHealthCheckOperator.partial(task_id="live_health", **each_model).expand(model_path=models),
    ]
    report = task(report_drift, task_id="report", trigger_rule=TriggerRule.ALL_DONE)()
    verdict = task(all_clear, task_id="all_clear", trigger_rule=TriggerRule.ALL_DONE)()
    checks >> report >> verdict
