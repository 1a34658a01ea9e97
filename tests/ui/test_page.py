"""The Releases page's HTML without a server: values escaped, problems shown, links right."""

from __future__ import annotations

from switchyard.airflow.ui.page import releases_page, run_href
from switchyard.airflow.ui.releases import AppReleases, chain_health, release_dag_id
from switchyard.release.records import ReleaseRecord


def view(**fields) -> AppReleases:
    return AppReleases(
        app="acme-shop",
        dag_id=release_dag_id("acme-shop"),
        namespace="default",
        service="acme-shop-svc",
        **fields,
    )


def test_values_from_the_cluster_are_escaped():
    evil = ReleaseRecord(
        1,
        "<b>v9</b>",
        "green",
        "Failed",
        'run"><script>x()</script>',
        root_cause="<img src=x onerror=alert(1)>",
        chain=["a<", "b>"],
    )
    html = releases_page([view(records=[evil], live_colour="blue")], "", {})
    assert "<script>" not in html and "<img src=x" not in html and "<b>v9</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b&gt;v9&lt;/b&gt;" in html
    assert 'href="/dags/release_acme_shop/runs/run%22%3E%3Cscript%3Ex%28%29%3C%2Fscript%3E"' in html


def test_read_problems_are_shown_not_raised():
    html = releases_page(
        [view(problems=["release records (configmap default/x): forbidden: HTTP 403"])], "", {}
    )
    assert 'class="problem"' in html and "forbidden: HTTP 403" in html


def test_a_live_colour_that_disagrees_with_the_active_record_is_flagged():
    active = ReleaseRecord(2, "v1", "blue", "Active", "r2")
    html = releases_page([view(records=[active], live_colour="green", live_version="v2")], "", {})
    assert "The active record says blue, the cluster serves green" in html


def test_run_links_follow_the_ui_base_path():
    assert run_href("/airflow", "release_acme_shop", "manual__2026-03-04T09:00:00+00:00") == (
        "/airflow/dags/release_acme_shop/runs/manual__2026-03-04T09%3A00%3A00%2B00%3A00"
    )


def test_the_chain_is_drawn_failing_with_its_root_named():
    from switchyard.airflow.ui.releases import DEFAULT_MODELS_DIR
    from switchyard.engine.model import load_model

    model = load_model(DEFAULT_MODELS_DIR / "acme-shop.model.yaml")
    record = ReleaseRecord(
        4,
        "v3",
        "green",
        "Failed",
        "r4",
        root_cause="rds",
        chain=["acme-shop-svc", "acme-shop-nginx-green", "acme-shop-php-fpm-green", "rds"],
    )
    health = chain_health(model, record)
    assert all(h.failing for h in health.values()) and set(health) == set(record.chain)
    assert health["rds"].state == "root cause"
    assert chain_health(model, None) == {}


def test_a_failed_release_names_the_step_that_failed():
    failed = ReleaseRecord(
        3,
        "v2",
        "green",
        "Failed",
        "r3",
        root_cause="Kubernetes API answered HTTP 500 Internal Server Error",
        failed_step="deploy_standby",
    )
    html = releases_page([view(records=[failed], live_colour="blue")], "", {})
    assert "failed at deploy_standby</div>Kubernetes API answered HTTP 500" in html


def test_a_record_number_is_escaped_in_the_row_and_its_attribute():
    evil = ReleaseRecord('1"><script>alert(1)</script>', "v2", "green", "Failed", "r1")  # type: ignore[arg-type]
    html = releases_page([view(records=[evil], live_colour="blue")], "", {})
    assert "<script>" not in html and 'data-number="1&quot;&gt;&lt;script&gt;' in html


def test_record_fields_are_type_checked_when_read():
    import pytest

    good = {"number": 1, "version": "v2", "colour": "green", "status": "Active", "run_id": "r1"}
    assert ReleaseRecord.from_dict(good).number == 1
    for field, value, message in [
        ("number", '1"><script>', "field number must be a whole number"),
        ("started_at", 5, "field started_at must be a string, got 5"),
        ("chain", ["a", 3], "field chain must be a list of strings"),
        ("number", True, "field number must be a whole number"),
    ]:
        with pytest.raises(ValueError, match=message):
            ReleaseRecord.from_dict({**good, field: value})


def test_load_test_and_canary_figures_are_shown_beside_their_thresholds():
    """From the record's checkpoints, as the triggers write them (judge / compare + check_thresholds)."""
    from switchyard.release.canary import check_thresholds, compare
    from switchyard.release.loadtest import LoadTestSpec, judge

    def sample(rate, ratio, p99, live_p99=0.1):
        return {
            "status": "ok",
            "standby": {"request_rate": rate, "error_ratio": ratio, "p99_seconds": p99, "cpu_ratio": 0.41},
            "live": {"request_rate": 20.0, "error_ratio": 0.0, "p99_seconds": live_p99},
        }

    load = judge(
        [sample(98.0, 0.0, 0.12), sample(101.0, 0.0, 0.14), sample(99.0, 0.0, 0.13)],
        rps=100,
        max_error_ratio=0.01,
        max_p99_seconds=5.0,
        spec=LoadTestSpec(),
        colour="green",
    )
    limits = {
        "max_error_ratio": 0.01,
        "max_p99_seconds": 5.0,
        "p99_vs_live": 2.0,
        "p99_floor_seconds": 0.25,
        "error_ratio_vs_live": 0.01,
    }
    checks = []
    for n, (ratio, p99) in enumerate([(0.0, 0.12), (0.02, 0.3)], start=1):
        s = sample(1.1, ratio, p99)
        problems = compare(s["standby"], s["live"], colour="green", **limits)
        checks.append(
            {
                "checkpoint": n,
                "passed": not problems,
                "problems": problems,
                "metrics": {"standby": s["standby"], "live": s["live"], "percent": 5.0},
                "thresholds": check_thresholds(s["live"], **limits),
            }
        )
    record = ReleaseRecord(
        7,
        "v2",
        "green",
        "Failed",
        "manual__7",
        failed_step="canary",
        checkpoints={"load_test": {"results": [load]}, "canary": {"results": checks}},
    )
    html = releases_page([view(records=[record], live_colour="blue")], "", {})
    row = html[html.index('<tr class="validation"') :]
    row = row[: row.index("</tr>")]
    assert "<b>Load test passed</b>" in row
    assert "3 samples (≥ 3)" in row and "rate 99.3 RPS (≥ 80.0)" in row
    assert "errors 0.00% (&lt; 1.00%; live 0.00%)" in row and "CPU 41.00% (&lt; 70.00%)" in row
    assert "<b>Canary FAILED</b>: 5 %: 1/2 checks passed; last check 2:" in row
    assert "errors 2.00% (&lt; 1.00%, ≤ 1.00% vs live; live 0.00%)" in row
    assert "p99 0.300s (&lt; 5.000s, ≤ 0.250s vs live; live 0.100s)" in row


def test_hostile_validation_figures_in_a_record_do_not_break_the_page():
    record = ReleaseRecord(
        8,
        "v2",
        "green",
        "Active",
        "manual__8",
        checkpoints={
            "load_test": {"results": [{"figures": "lots", "thresholds": []}]},
            "canary": {
                "results": [{"metrics": {"standby": {"error_ratio": "0.5<script>"}}, "thresholds": 3}]
            },
        },
    )
    html = releases_page([view(records=[record], live_colour="green")], "", {})
    assert "figures unreadable in the record" in html and "<script>" not in html
