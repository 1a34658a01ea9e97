"""Blue/green release: the runbook of seed 003 as a DAG, one DAG per model in include/models/.

    lock → plan → pre-checks → deploy standby → standby gate → migration → smoke tests
         → load test (optional) → canary (optional) → approval → switch → live-path gate → watch (5 min) → bake (2 h) → cleanup

Every step is behind a model gate or a check that names what it saw. A failure before the switch
scales the standby colour back to 0; a failure after it rolls traffic back to the old colour
(still warm until the bake passes) and writes an incident report. The lock is always given back.
Release records (last 10 per app) live in the cluster; the run note summarises the release.

One DAG per model file: each app gets its own run history, grid and defaults, and its releases
serialise per app through the Lease lock (across this and the rollback DAG): a second run fails fast.
"""

from __future__ import annotations

import gc
import os
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator
from airflow.sdk import DAG, Param, TaskGroup, TriggerRule

from switchyard.airflow.failures import record_task_error
from switchyard.airflow.operators.aftercare import AbortReleaseOperator, CleanupOperator, RollbackOperator
from switchyard.airflow.operators.approval import ReleaseApprovalOperator
from switchyard.airflow.operators.gate import ModelGateOperator
from switchyard.airflow.operators.release import (
    BackupLiveOperator,
    ImageInRegistryOperator,
    MigrationJobOperator,
    PlanReleaseOperator,
    ReleaseLockOperator,
    SmokeTestOperator,
    StandbyDeploymentsOperator,
    TrafficSwitchOperator,
    VersionInHistoryOperator,
)
from switchyard.airflow.operators.summary import summarise_release
from switchyard.airflow.operators.validation import CanaryOperator, LoadTestOperator
from switchyard.airflow.operators.watch import ReleaseWatchOperator
from switchyard.airflow.params import share_dag_params, shared_schema


def models_dir() -> Path:
    """``$SWITCHYARD_MODELS_DIR``, else ``$SWITCHYARD_INCLUDE_DIR/models``, else the project's
    include/models: the same lookup as the Releases view (``switchyard.airflow.ui.releases``), so the
    DAGs and the view list the same apps."""
    if os.environ.get("SWITCHYARD_MODELS_DIR"):
        return Path(os.environ["SWITCHYARD_MODELS_DIR"])
    if os.environ.get("SWITCHYARD_INCLUDE_DIR"):
        return Path(os.environ["SWITCHYARD_INCLUDE_DIR"]) / "models"
    return Path(__file__).resolve().parents[1] / "include" / "models"


# What a container registry accepts as a tag. "(?![\s\S])": Python's "$" also matches before a
# trailing newline, so without it "v2\n" would pass.
IMAGE_TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$(?![\s\S])"
# The tag byte for byte: with native rendering "{{ params.version }}" would turn 1.10 into 1.1, 123
# into an int and 1e3 into 1000.0; rendered as a JSON string it stays the string it was.
VERSION = "{{ params.version | tojson }}"

PLAN = "{{ ti.xcom_pull(task_ids='plan') }}"
LIVE = "{{ ti.xcom_pull(task_ids='plan')['live'] }}"
STANDBY = "{{ ti.xcom_pull(task_ids='plan')['standby'] }}"


# What each parameter means, in the trigger form's words (shared by the release and rollback DAGs).
PARAM_HELP = {
    "version": "Image tag to release, e.g. v2 or 1.4.0. It must exist in the app's ECR repository.",
    "rollback_version": "The version to go back to: one the app was released at before (see the Releases view).",
    "reason": "Why you are doing this. Shown in the release record and the run's note.",
    "run_migration": "Run the database migration Job before the switch? auto: only if the image is "
    "labelled io.switchyard.requires-migration in ECR; yes: always; no: never.",
    "require_approval": "Stop before moving traffic and wait for someone to approve in the UI.",
    "approval_timeout_minutes": "How long to wait for an approval. No answer in time counts as a rejection.",
    "grace_seconds": "After the new colour is rolled out, how long it must stay ready (no restarts) "
    "before it is tested.",
    "rollout_timeout_seconds": "How long the new colour's pods may take to start and become ready "
    "before the release gives up.",
    "watch_minutes": "How long to watch errors and latency right after traffic moves. A problem "
    "in this time moves traffic back at once.",
    "watch_interval_seconds": "How often the watch and the bake check errors, latency and the live path.",
    "bake_minutes": "How long the old colour stays running (for an instant rollback) while the new "
    "one proves itself, before it is scaled down. 0 skips the bake.",
    "on_migrated_rollback": "If a rollback is needed after the migration ran: proceed puts traffic "
    "back anyway (the old version must cope with the new schema); stop leaves traffic where it is "
    "and asks a person.",
    "dry_run": "Only run the checks before the release; change nothing in the cluster.",
    "load_test": "Load the new colour before traffic moves: a Job sends it requests at the rate and "
    "for the time below, and the release stops if errors, latency, CPU or memory break the limits "
    "or fall far behind the live colour. The default comes from the app's model.",
    "load_rps": "Requests per second the load test sends to the new colour.",
    "load_seconds": "How long the load test runs, in seconds.",
    "canary_percent": "Share of the real traffic (in percent) sent to the new colour before the full "
    "switch, to compare it with the live colour; 0 means no canary. Needs an ingress-nginx Ingress.",
    "canary_minutes": "How long the canary runs, checked every sampling interval; a failed check "
    "takes its traffic away and stops the release.",
}


def release_params(rollback: bool = False, load_test: Any = None) -> dict[str, Param]:
    """The trigger form's parameters; their copies (one per task, made by Airflow) share the schema.
    ``load_test``: the model's ``release.load_test`` (defaults of the load test's params); the
    rollback DAG has no load test (it goes back to a version that served)."""
    return {name: shared_schema(param) for name, param in _release_params(rollback, load_test).items()}


def _release_params(rollback: bool, load_test: Any) -> dict[str, Param]:
    from switchyard.release.loadtest import LoadTestSpec

    h = PARAM_HELP
    load = load_test or LoadTestSpec()
    if rollback:
        return {
            "version": Param(type="string", pattern=IMAGE_TAG, description=h["rollback_version"]),
            "reason": Param("", type="string", maxLength=500, description=h["reason"]),
            "require_approval": Param(False, type="boolean", description=h["require_approval"]),
            "approval_timeout_minutes": Param(
                60, type="integer", minimum=1, maximum=24 * 60, description=h["approval_timeout_minutes"]
            ),
            "grace_seconds": Param(
                30, type="integer", minimum=0, maximum=3600, description=h["grace_seconds"]
            ),
            "rollout_timeout_seconds": Param(
                600, type="integer", minimum=10, maximum=7200, description=h["rollout_timeout_seconds"]
            ),
            "watch_minutes": Param(5, type="number", minimum=0, maximum=120, description=h["watch_minutes"]),
            "watch_interval_seconds": Param(
                30, type="number", minimum=1, maximum=600, description=h["watch_interval_seconds"]
            ),
            "bake_minutes": Param(
                0, type="number", minimum=0, maximum=24 * 60, description=h["bake_minutes"]
            ),
            "on_migrated_rollback": Param(
                "proceed", enum=["proceed", "stop"], description=h["on_migrated_rollback"]
            ),
            "dry_run": Param(False, type="boolean", description=h["dry_run"]),
        }
    return {
        "version": Param(type="string", pattern=IMAGE_TAG, description=h["version"]),
        "run_migration": Param("auto", enum=["auto", "yes", "no"], description=h["run_migration"]),
        "require_approval": Param(False, type="boolean", description=h["require_approval"]),
        "approval_timeout_minutes": Param(
            60, type="integer", minimum=1, maximum=24 * 60, description=h["approval_timeout_minutes"]
        ),
        "grace_seconds": Param(120, type="integer", minimum=0, maximum=3600, description=h["grace_seconds"]),
        "rollout_timeout_seconds": Param(
            600, type="integer", minimum=10, maximum=7200, description=h["rollout_timeout_seconds"]
        ),
        "watch_minutes": Param(5, type="number", minimum=0, maximum=120, description=h["watch_minutes"]),
        "watch_interval_seconds": Param(
            30, type="number", minimum=1, maximum=600, description=h["watch_interval_seconds"]
        ),
        "bake_minutes": Param(120, type="number", minimum=0, maximum=24 * 60, description=h["bake_minutes"]),
        "on_migrated_rollback": Param(
            "proceed", enum=["proceed", "stop"], description=h["on_migrated_rollback"]
        ),
        "dry_run": Param(False, type="boolean", description=h["dry_run"]),
        "load_test": Param("on" if load.enabled else "off", enum=["off", "on"], description=h["load_test"]),
        "load_rps": Param(load.rps, type="number", minimum=1, maximum=100000, description=h["load_rps"]),
        "load_seconds": Param(
            load.seconds, type="integer", minimum=10, maximum=6 * 3600, description=h["load_seconds"]
        ),
        "canary_percent": Param(0, type="number", minimum=0, maximum=50, description=h["canary_percent"]),
        "canary_minutes": Param(
            10, type="number", minimum=0.1, maximum=24 * 60, description=h["canary_minutes"]
        ),
    }


def load_test_defaults(model_file: Path) -> Any:
    """The model's ``release.load_test`` (the built-in defaults when the model cannot be read: the
    DAG then shows the model's error, see ``model_problem``)."""
    from switchyard.release.loadtest import LoadTestSpec

    spec, _ = _release_spec(model_file)
    return spec.load_test if spec is not None else LoadTestSpec()


def model_problem(model_file: Path) -> str:
    """Why the model cannot drive a release ("" when it can): checked at parse time, so a broken
    model shows its error on its own DAG while the other models' DAGs load normally."""
    return _release_spec(model_file)[1]


@cache
def _release_spec(model_file: Path) -> tuple[Any, str]:
    """(the model's release spec, "") or (None, why not): once per file and parse (the release and
    rollback DAGs, their params and their check share it), the type catalog read once."""
    from switchyard.engine.errors import SwitchyardError
    from switchyard.engine.model import load_model
    from switchyard.release.spec import release_spec

    try:
        return release_spec(load_model(model_file, _catalog())), ""
    except (SwitchyardError, ValueError, OSError) as exc:
        return None, str(exc)


@cache
def _catalog():
    from switchyard.engine.catalog import load_catalog

    return load_catalog()


# The branches: plain functions and BranchPythonOperator rather than @task.branch inside the
# DAG function (the decorator machinery, built again for every DAG, was a fifth of the parse time).
# An optional step's branch names the step when it is wanted and always the step after it, which
# runs once the optional one is done or skipped: no empty "no_<step>" task between them, each of
# which cost a release a scheduler round trip.
def dry_run_or_release(params=None) -> str:
    return "dry_run_done" if params["dry_run"] else "deploy_standby"


def migration_needed(ti=None) -> list[str]:
    return (["migrate"] if ti.xcom_pull(task_ids="plan")["run_migration"] else []) + ["smoke_tests"]


def load_test_needed(params=None) -> list[str]:
    return (["load_test"] if params.get("load_test") == "on" else []) + ["canary_needed"]


def canary_needed(params=None) -> list[str]:
    return (["canary"] if float(params.get("canary_percent") or 0) > 0 else []) + ["approval_needed"]


def approval_needed(params=None) -> list[str]:
    return (["approve"] if params["require_approval"] else []) + ["switch_traffic"]


def branch(decide, trigger_rule: str = TriggerRule.ALL_SUCCESS) -> BranchPythonOperator:
    return BranchPythonOperator(task_id=decide.__name__, python_callable=decide, trigger_rule=trigger_rule)


def release_dag(model_file: Path, rollback: bool = False) -> DAG:
    """The release DAG of one model; ``rollback=True`` builds the rollback-to-version DAG: the same
    deploy → gate → smoke → switch path to a version from the app's history, without migration
    (down-migrations are not run) and without the live-path pre-check (the live colour may be
    what is broken)."""
    app = model_file.name.removesuffix(".model.yaml")
    model = str(model_file)
    kind = "rollback" if rollback else "release"
    description = f"Blue/green {'rollback to a previous version' if rollback else 'release'} of {app}"
    doc = __doc__
    problem = model_problem(model_file)
    if problem:
        description = f"MODEL INVALID — fix {model_file.name} before releasing: {problem}"[:1000]
        doc = f"# Model {model_file.name} is invalid\n\n```\n{problem}\n```\n\nA run fails at `lock`.\n\n{__doc__}"
    with DAG(
        dag_id=f"{kind}_{app.replace('-', '_')}",
        description=description,
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        # The Lease lock serialises releases of an app (across this and the rollback DAG): a second run
        # fails fast at `lock` naming the holder, rather than waiting unseen in the queue.
        max_active_runs=4,
        params=release_params(rollback, None if rollback else load_test_defaults(model_file)),
        render_template_as_native_obj=True,
        tags=["switchyard", kind, app],
        doc_md=doc,
        default_args={
            "retries": 1,
            "retry_delay": timedelta(seconds=10),
            # no step hangs forever; the long ones (rollout, approval, watch, bake) set their own
            "execution_timeout": timedelta(minutes=30),
            "on_failure_callback": record_task_error,  # "failed at <task>: <error>" everywhere
        },
    ) as dag:
        share_dag_params(dag.params)  # before the tasks: each copies them a few times
        lock = ReleaseLockOperator(
            task_id="lock", model_path=model, action="acquire", version=VERSION, retries=0
        )
        plan = PlanReleaseOperator(
            task_id="plan",
            model_path=model,
            version=VERSION,
            run_migration="no" if rollback else "{{ params.run_migration }}",
            canary_percent=0 if rollback else "{{ params.canary_percent }}",
        )
        if rollback:
            (
                lock
                >> VersionInHistoryOperator(task_id="version_in_history", model_path=model, version=VERSION)
                >> plan
            )
        else:
            lock >> plan

        with TaskGroup("pre_checks") as pre_checks:
            backup = BackupLiveOperator(task_id="backup_live", model_path=model, live=LIVE)
            if not rollback:
                (
                    ModelGateOperator(task_id="live_path_gate", model_path=model, scope="live", colour=LIVE)
                    >> backup
                )
            ImageInRegistryOperator(task_id="image_in_registry", model_path=model, version=VERSION)
            StandbyDeploymentsOperator(
                task_id="standby_manifests_dry_run", model_path=model, plan=PLAN, dry_run=True
            )

        dry_run_done = EmptyOperator(task_id="dry_run_done")
        deploy = StandbyDeploymentsOperator(
            task_id="deploy_standby",
            execution_timeout=timedelta(hours=4),  # rollout ≤ 2 h + grace ≤ 1 h
            model_path=model,
            plan=PLAN,
            rollout_timeout_seconds="{{ params.rollout_timeout_seconds }}",
            grace_seconds="{{ params.grace_seconds }}",
        )
        # one_done: it also runs when deploy_standby failed on a rollout that did not finish, to name why
        standby_gate = ModelGateOperator(
            task_id="standby_gate",
            model_path=model,
            scope="standby",
            colour=STANDBY,
            after_rollout="deploy_standby",
            trigger_rule=TriggerRule.ONE_DONE,
        )

        migrate = MigrationJobOperator(
            task_id="migrate", model_path=model, plan=PLAN, retries=0, execution_timeout=timedelta(hours=1)
        )
        smoke = SmokeTestOperator(
            task_id="smoke_tests",
            model_path=model,
            colour=STANDBY,
            trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
        )

        # The validation phase (runbook section 3): the standby under load, judged against the
        # thresholds and the live colour; a failure stops the release before the switch.
        def load_test_step() -> LoadTestOperator:
            return LoadTestOperator(
                task_id="load_test",
                execution_timeout=timedelta(hours=7),  # load_seconds ≤ 6 h
                model_path=model,
                plan=PLAN,
                rps="{{ params.load_rps }}",
                seconds="{{ params.load_seconds }}",
                interval_seconds="{{ params.watch_interval_seconds }}",
                retries=0,  # a second try would load the standby again: a person decides
            )

        # The optional canary: a share of the real traffic on the standby through an ingress-nginx
        # canary Ingress, compared with live at every check; an abort takes the share away.
        def canary_step() -> CanaryOperator:
            return CanaryOperator(
                task_id="canary",
                execution_timeout=timedelta(hours=25),  # canary_minutes ≤ 24 h
                model_path=model,
                plan=PLAN,
                percent="{{ params.canary_percent }}",
                minutes="{{ params.canary_minutes }}",
                interval_seconds="{{ params.watch_interval_seconds }}",
                retries=0,
            )

        approve = ReleaseApprovalOperator(
            task_id="approve",
            execution_timeout=None,  # HITL's own response_timeout (approval_timeout_minutes) is the deadline
            subject=f"Switch {app} to {{{{ params.version }}}}?",
            body="{{ ti.xcom_pull(task_ids='standby_gate', key='verdict')['summary'] }}",
            retries=0,
        )
        switch = TrafficSwitchOperator(
            task_id="switch_traffic",
            model_path=model,
            target=STANDBY,
            trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
        )
        post_switch_gate = ModelGateOperator(
            task_id="live_path_gate_after_switch", model_path=model, scope="live", colour=STANDBY
        )

        watch = ReleaseWatchOperator(
            task_id="watch",
            execution_timeout=timedelta(hours=3),  # ≤ 2 h
            model_path=model,
            colour=STANDBY,
            kind="watch",
            duration_minutes="{{ params.watch_minutes }}",
            interval_seconds="{{ params.watch_interval_seconds }}",
            on_migrated_rollback="{{ params.on_migrated_rollback }}",
        )
        bake = ReleaseWatchOperator(
            task_id="bake",
            execution_timeout=timedelta(hours=26),  # ≤ 24 h
            model_path=model,
            colour=STANDBY,
            kind="bake",
            duration_minutes="{{ params.bake_minutes }}",
            interval_seconds="{{ params.watch_interval_seconds }}",
            on_migrated_rollback="{{ params.on_migrated_rollback }}",
            retries=3,  # a worker or triggerer restart resumes at the checkpoint reached
        )
        cleanup = CleanupOperator(task_id="cleanup_old_colour", model_path=model, old=LIVE)

        # all_done, after the rollback: it decides itself whether a step failed before traffic moved
        # (a switch that failed before it patched included), so it never races the rollback.
        abort_standby = AbortReleaseOperator(
            task_id="abort_standby",
            model_path=model,
            version=VERSION,
            trigger_rule=TriggerRule.ALL_DONE,
        )
        rollback = RollbackOperator(
            task_id="rollback",
            model_path=model,
            on_migrated_rollback="{{ params.on_migrated_rollback }}",
            trigger_rule=TriggerRule.ONE_FAILED,
            retries=2,
        )
        unlock = ReleaseLockOperator(
            task_id="unlock", model_path=model, action="release", trigger_rule=TriggerRule.ALL_DONE, retries=3
        )
        summary = PythonOperator(
            task_id="summary",
            python_callable=summarise_release,
            op_kwargs={"app": app},
            trigger_rule=TriggerRule.ALL_DONE,
        )
        # The run's state comes from its leaves: this one is upstream_failed when any step failed.
        released = EmptyOperator(task_id="released", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)

        plan >> pre_checks >> branch(dry_run_or_release) >> [dry_run_done, deploy]
        migration_branch = branch(migration_needed)
        deploy >> standby_gate >> migration_branch >> [migrate, smoke]
        migrate >> smoke
        deploy >> migration_branch  # a standby gate that passed on a failed rollout goes no further
        # each branch below runs after its optional step, done or skipped (see migration_needed)
        approval = branch(approval_needed, TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
        if kind == "rollback":  # back to a version that served: no load test, no canary
            smoke >> approval
        else:
            load_test, canary = load_test_step(), canary_step()
            canary_branch = branch(canary_needed, TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
            smoke >> branch(load_test_needed) >> [load_test, canary_branch]
            load_test >> canary_branch >> [canary, approval]
            canary >> approval
            [load_test, canary] >> abort_standby
        approval >> [approve, switch]
        approve >> switch
        switch >> post_switch_gate >> watch >> bake >> cleanup
        [switch, post_switch_gate, watch, bake] >> rollback
        [deploy, standby_gate, migrate, smoke, approve, switch, rollback] >> abort_standby
        [cleanup, dry_run_done, abort_standby, rollback] >> unlock >> summary
        [cleanup, dry_run_done, unlock] >> released  # a lock left behind fails the run
    return dag


# Two DAGs per model are a few hundred thousand objects that all live as long as the parse. The
# cyclic garbage collector, triggered by their allocation, traversed them again and again as they
# accumulated (40 % of the parse of 50 models); none of them is garbage, so it waits until they are
# built and then runs as usual.
_collecting = gc.isenabled()
gc.disable()
try:
    for _model_file in sorted(models_dir().glob("*.model.yaml")):
        for _dag in (release_dag(_model_file), release_dag(_model_file, rollback=True)):
            globals()[_dag.dag_id] = _dag
finally:
    if _collecting:
        gc.enable()
