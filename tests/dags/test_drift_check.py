"""The drift-check DAG, run whole with dag.test() against a freshly seeded cluster per test (blue
live at v1, its release record seeded to match), one drift made by hand per test; and the
comparisons' judgement calls, without Airflow."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from kubernetes import config

from switchyard.release import drift as dc
from switchyard.release.colours import layout
from switchyard.release.lock import LockHolder, ReleaseLock
from switchyard.release.workloads import Workloads, with_tag
from tests.dags import drift_fixtures
from tests.dags.drift_fixtures import NAMESPACE, run_drift
from tests.release_cluster import single_model_include

# The fixtures of drift_fixtures.py, under the names the tests ask for.
drift_dag, kube, seeded = drift_fixtures.drift_dag, drift_fixtures.kube, drift_fixtures.seeded

ROOT = Path(__file__).resolve().parents[2]
CHECK_TASKS = ("model_reasoning", "model_vs_live", "record_vs_live", "live_health")
ALL_OK = dict.fromkeys(CHECK_TASKS, "ok")


@pytest.fixture(autouse=True)
def acme_shop_only(tmp_path, monkeypatch) -> Path:
    """The drift check maps over every model in the include directory; the cluster of these tests
    is seeded from acme-shop alone, so they check acme-shop alone (another model, e.g. payments,
    would rightly be reported missing from this cluster)."""
    include = single_model_include(tmp_path, "acme-shop")
    monkeypatch.setenv("SWITCHYARD_INCLUDE_DIR", str(include))
    return include


@pytest.fixture
def notified(monkeypatch):
    """The notification lines the run sent (switchyard.airflow.notifications.notify)."""
    from switchyard.airflow import notifications as notify

    lines: list[str] = []
    monkeypatch.setattr(notify, "notify", lambda line, context=None, channel="": lines.append(line) or "log")
    return lines


def drifted(run, check: str, expected: list[tuple[str, str, str]]) -> None:
    """The run failed on this check's findings — exactly these (status, kind, object) — with the check
    task failed in the grid (per model), the report written and the final task failed."""
    assert run.findings(check) == sorted(expected), run.result(check)
    assert run.statuses()[check] == expected[0][0]
    assert run.state == "failed"
    assert run.tasks[f"{check}[acme-shop]"] == "failed"
    assert run.tasks["report"] == "success" and run.tasks["all_clear"] == "failed"
    assert run.report["status"] == "drift"


# ---------------------------------------------------------------------------------------------
# whole runs


def test_all_clear_when_cluster_and_record_agree(seeded, drift_dag, notified, capsys):
    run = run_drift(drift_dag)
    assert run.state == "success", run.report
    assert run.statuses() == ALL_OK
    assert set(run.tasks.values()) == {"success"}
    assert {f"{c}[acme-shop]" for c in CHECK_TASKS} <= set(run.tasks)  # the grid names the model
    assert run.report["counts"] == {"ok": 4, "drift": 0, "unknown": 0}
    notes = run.result("model_reasoning")["notes"]
    assert "19/19 scenarios pass (acme-shop/)" in notes
    assert "chain table not compared: the model sets meta.scenarios: none" in notes
    assert any("only blue must exist" in n for n in run.result("model_vs_live")["notes"])
    out = capsys.readouterr().out
    assert "DRIFT CHECK: ok — 0 drift, 0 unknown, 4 ok" in out
    assert any(line.split()[:3] == ["acme-shop", "record_vs_live", "ok"] for line in out.splitlines())
    assert notified == []


def test_selector_flipped_by_hand(seeded, drift_dag, notified):
    seeded.core.patch_namespaced_service(
        "acme-shop-svc", NAMESPACE, {"spec": {"selector": {"color": "green"}}}
    )
    run = run_drift(drift_dag)
    # green does not exist: not only drift, an outage, paged as one
    drifted(
        run,
        "record_vs_live",
        [
            ("drift", "outage", "service default/acme-shop-svc"),
            ("drift", "selector", "service default/acme-shop-svc"),
        ],
    )
    outage, selector = (f["text"] for f in run.result("record_vs_live")["findings"])
    assert outage.startswith("OUTAGE: selects green, and acme-shop-nginx-green (absent)")
    assert selector.startswith("selects green; the last Active release #1 (v1")
    assert run.statuses()["live_health"] != "ok"  # traffic goes to a colour that does not exist
    assert len(notified) == 1 and notified[0].startswith("[switchyard] OUTAGE — drift check acme-shop")
    assert "service default/acme-shop-svc: OUTAGE: selects green" in notified[0]


def test_image_changed_by_hand(seeded, drift_dag):
    current = seeded.apps.read_namespaced_deployment("acme-shop-php-fpm-blue", NAMESPACE)
    hotfix = with_tag(current.spec.template.spec.containers[0].image, "v2")
    seeded.apps.patch_namespaced_deployment(
        "acme-shop-php-fpm-blue",
        NAMESPACE,
        {
            "spec": {
                "template": {"spec": {"containers": [{"name": "acme-shop-php-fpm-blue", "image": hotfix}]}}
            }
        },
    )
    run = run_drift(drift_dag)
    drifted(run, "record_vs_live", [("drift", "image", "deployment default/acme-shop-php-fpm-blue")])
    text = run.result("record_vs_live")["findings"][0]["text"]
    assert text.startswith(f"runs {hotfix}; release #1 (v1) recorded ") and text.count(":v1") == 1


def test_standby_left_running_past_cleanup_after(cluster_env, seeded, drift_dag):
    api = config.new_client_from_config(str(cluster_env.kubeconfig_path))
    workloads = Workloads(api, layout(cluster_env.model), log=lambda _line: None)
    for body in workloads.render_standby("blue", "v1", "manual__old-release"):  # consumers at 0, by design
        body["metadata"]["annotations"][dc.CLEANUP_ANNOTATION] = "2026-01-02T00:00:00Z"
        workloads.apply(body)
    run = run_drift(drift_dag)
    drifted(
        run,
        "record_vs_live",
        [
            ("drift", "standby_running", "deployment default/acme-shop-nginx-green"),
            ("drift", "standby_running", "deployment default/acme-shop-php-fpm-green"),
        ],
    )
    assert (
        "past its cleanup-after 2026-01-02T00:00:00Z (annotation)" in run.result("record_vs_live")["summary"]
    )


def test_model_component_deleted(seeded, drift_dag):
    seeded.apps.delete_namespaced_deployment("opensearch", NAMESPACE)
    seeded.apps.delete_namespaced_deployment(
        "external-secrets", "external-secrets"
    )  # an operator's controller
    run = run_drift(drift_dag)
    drifted(
        run,
        "model_vs_live",
        [
            ("drift", "missing", "deployment default/opensearch"),
            ("drift", "missing", "operator external-secrets/external-secrets"),
        ],
    )
    assert "the model names it, the cluster lacks it" in run.result("model_vs_live")["summary"]


def test_extra_unmodelled_deployment(seeded, drift_dag):
    for name, labels in (
        ("legacy-reports", {"app": "legacy-reports"}),
        ("switchyard-smoke", {"app": "smoke", "app.kubernetes.io/managed-by": "switchyard"}),  # our own
    ):
        container = {"name": name, "image": f"{name}:stable"}
        seeded.apps.create_namespaced_deployment(
            NAMESPACE,
            {
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
                },
            },
        )
    run = run_drift(drift_dag)
    drifted(run, "model_vs_live", [("drift", "unmodelled", "deployment default/legacy-reports")])


def test_scenario_that_no_longer_passes(seeded, drift_dag, acme_shop_only):
    scenario = acme_shop_only / "scenarios" / "acme-shop" / "03-rds-unavailable.yaml"
    scenario.write_text(scenario.read_text().replace("root_cause: rds", "root_cause: redis"))
    run = run_drift(drift_dag)
    drifted(run, "model_reasoning", [("drift", "scenario", "scenario 03-rds-unavailable.yaml")])
    text = run.result("model_reasoning")["findings"][0]["text"]
    assert "expected root cause redis" in text and "got rds" in text
    assert "18/19 scenarios pass (acme-shop/)" in run.result("model_reasoning")["notes"]
    assert {k: v for k, v in run.statuses().items() if k != "model_reasoning"} == dict.fromkeys(
        ["model_vs_live", "record_vs_live", "live_health"], "ok"
    )


def test_stale_lock_reported_then_released_on_request_and_report_only(seeded, drift_dag, notified):
    lock = ReleaseLock(seeded.coordination, "acme-shop", NAMESPACE)
    # A release that died holding the lock: its lease has hours left, but Airflow has no such run.
    lock.acquire("manual__2026-01-05T03:00:00+00:00", "release_acme_shop", "v2", ttl_seconds=6 * 3600)
    stale = [("drift", "stale_lock", "lease default/switchyard-release-acme-shop")]

    reported = run_drift(drift_dag)
    drifted(reported, "record_vs_live", stale)
    text = reported.result("record_vs_live")["findings"][0]["text"]
    assert "run manual__2026-01-05T03:00:00+00:00 (dag release_acme_shop, version v2)" in text
    assert "which Airflow does not know; left in place" in text
    assert lock.holder() is not None

    released = run_drift(drift_dag, release_stale_locks=True, report_only=True)
    assert released.state == "success" and set(released.tasks.values()) == {"success"}
    assert released.findings("record_vs_live") == stale  # report only: the same findings, no failure
    assert released.report["report_only"] is True and released.report["status"] == "drift"
    assert released.result("record_vs_live")["findings"][0]["text"].endswith("; released by this run")
    assert lock.holder() is None
    assert len(notified) == 2 and "(report only)" in notified[1]
    assert "lease default/switchyard-release-acme-shop" in notified[1]


# ---------------------------------------------------------------------------------------------
# judgement calls, without Airflow

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def holder(expires_in_minutes: float | None) -> LockHolder:
    expires = None if expires_in_minutes is None else NOW + dt.timedelta(minutes=expires_in_minutes)
    return LockHolder("manual__r1", "release_acme_shop", "v2", NOW - dt.timedelta(hours=1), expires)


@pytest.mark.parametrize(
    ("run_state", "expires_in", "stale"),
    [
        ("running", -60, False),  # Airflow's word beats the lease: the run is alive
        ("queued", None, False),
        ("failed", 300, True),
        ("success", 300, True),
        ("absent", 300, True),
        (None, -1, True),  # Airflow could not be asked: the lease's expiry decides
        (None, 300, None),
        (None, None, None),
    ],
)
def test_a_lock_is_stale_when_its_run_no_longer_runs(run_state, expires_in, stale):
    assert dc.judge_lock(holder(expires_in), run_state, NOW).stale is stale


def test_a_release_in_progress_makes_a_selector_mismatch_unknown_not_drift(local_env):
    from switchyard.release.records import ReleaseRecord

    shape = layout(local_env.model)
    record = ReleaseRecord(4, "v2", "blue", "Active", "manual__r0", images={})
    view = dc.RecordView(
        "acme-shop",
        "default",
        "service default/acme-shop-svc",
        [record],
        "green",
        {},
        lock=holder(300),
        lock_judgement=dc.judge_lock(holder(300), "running", NOW),
    )
    result = dc.record_vs_live(shape, view, NOW)
    assert [(f.status, f.kind) for f in result.findings] == [("unknown", "selector")]
    assert "release in progress" in " ".join(result.notes)


@pytest.mark.parametrize(
    ("component", "status", "value", "expected"),
    [
        ("rds", "not_found", None, ("drift", "missing", "rds_instance acme-shop-stage-rds (rds)")),
        (
            "media-bucket",
            "ok",
            False,
            ("drift", "missing", "s3_bucket acme-shop-stage-media-8f3e9c (media-bucket)"),
        ),
        (
            "ssm-app-config",
            "ok",
            False,
            ("drift", "missing", "ssm_parameter /platform/defaults/app-config (ssm-app-config)"),
        ),
        ("rds", "ok", False, None),  # an RDS instance that is not available exists: live_health's business
        ("acme-shop-svc", "forbidden", None, ("unknown", "unreadable", "service default/acme-shop-svc")),
        (
            "external-secrets",
            "transient",
            None,
            ("unknown", "unreadable", "operator external-secrets/external-secrets"),
        ),
    ],
)
def test_what_an_existence_read_says(local_env, component, status, value, expected):
    finding = dc.existence_finding(local_env.model.components[component], status, value, "detail")
    assert (finding and (finding.status, finding.kind, finding.object)) == expected


def test_no_active_release_recorded_is_unknown_never_ok(local_env):
    view = dc.RecordView("acme-shop", "default", "service default/acme-shop-svc", [], "blue", {})
    result = dc.record_vs_live(layout(local_env.model), view, NOW)
    assert [(f.status, f.kind, f.object) for f in result.findings] == [
        ("unknown", "no_record", "configmap default/switchyard-releases-acme-shop")
    ]


def test_a_committed_chain_table_that_drifted(tmp_path):
    from switchyard.engine.chains import write_table
    from switchyard.engine.model import load_model

    model_file = tmp_path / "models" / "shop.model.yaml"
    model_file.parent.mkdir()
    model_file.write_text(
        textwrap.dedent(
            """
            meta: {name: shop, version: "1", providers: [mgt-tool/kubernetes@^3.0.0, mgt-tool/aws@^1.0.0]}
            components:
              svc: {type: service, depends: [{on: web}]}
              web: {type: deployment}
            """
        )
    )
    write_table(load_model(model_file), tmp_path / "models" / "shop.chains.yaml")
    assert dc.model_reasoning(model_file, tmp_path / "scenarios" / "shop").status == "ok"
    model_file.write_text(model_file.read_text() + "  db: {type: rds_instance}\n")
    model_file.write_text(
        model_file.read_text().replace("{type: deployment}", "{type: deployment, depends: [{on: db}]}")
    )
    result = dc.model_reasoning(model_file, tmp_path / "scenarios" / "shop")
    assert [(f.status, f.kind, f.object) for f in result.findings] == [
        ("drift", "chain_table", "chain table shop.chains.yaml")
    ]
    assert "no scenarios under" in " ".join(result.notes)


def test_the_comparisons_need_no_airflow():
    script = "import sys; sys.modules['airflow'] = None; import switchyard.release.drift"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT / "plugins", capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_a_selector_on_a_colour_with_no_ready_pod_is_paged_as_an_outage(local_env):
    from switchyard.release.records import ReleaseRecord

    shape = layout(local_env.model)
    record = ReleaseRecord(4, "v2", "blue", "Active", "manual__r0", images={})
    deployments = {
        name: dc.LiveDeployment(name, "default", "acme-shop:v2", replicas=0, ready=0)
        for name in shape.components("green")
    } | {
        name: dc.LiveDeployment(name, "default", "acme-shop:v2", replicas=2, ready=2)
        for name in shape.components("blue")
    }
    view = dc.RecordView(
        "acme-shop", "default", "service default/acme-shop-svc", [record], "green", deployments
    )
    result = dc.record_vs_live(shape, view, NOW)
    [down] = [f for f in result.findings if f.kind == "outage"]
    assert down.status == "drift" and down.text.startswith("OUTAGE: selects green")
    assert "acme-shop-nginx-green" in down.text and "point it at the colour that serves (blue?)" in down.text
    healthy = dc.RecordView(
        "acme-shop", "default", "service default/acme-shop-svc", [record], "blue", deployments
    )
    assert not [f for f in dc.record_vs_live(shape, healthy, NOW).findings if f.kind == "outage"]


def test_apps_sharing_a_namespace_do_not_report_each_other_as_unmodelled(tmp_path):
    """acme-shop and payments both live in `default`: each names its own Deployments, so neither's
    are unmodelled for the other, while one no model names still is."""
    import shutil

    from switchyard.airflow.operators.drift import ModelVsLiveCheckOperator
    from switchyard.engine.model import load_model

    models = tmp_path / "models"
    models.mkdir()
    for app in ("acme-shop", "payments"):
        shutil.copy(ROOT / "include" / "models" / f"{app}.model.yaml", models)
    (models / "broken.model.yaml").write_text("meta: {name: broken\n")
    check = ModelVsLiveCheckOperator(task_id="model_vs_live", model_path=str(models / "acme-shop.model.yaml"))
    neighbours = check.neighbours()
    assert [m.name for m in neighbours] == ["payments"]  # itself and the unloadable one left out

    live = [
        dc.LiveDeployment(name, NAMESPACE, f"{name}:v1", replicas=2)
        for name in ("acme-shop-nginx-blue", "payments-api-blue", "api-gateway", "legacy-reports")
    ]
    acme_shop = load_model(models / "acme-shop.model.yaml")
    alone = {f.object for f in dc.unmodelled_deployments(acme_shop, live)}
    assert alone == {
        f"deployment default/{n}" for n in ("payments-api-blue", "api-gateway", "legacy-reports")
    }
    beside = dc.unmodelled_deployments(acme_shop, live, neighbours)
    assert [f.object for f in beside] == ["deployment default/legacy-reports"]
