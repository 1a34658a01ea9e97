"""One chain notation and one root-cause notation everywhere (issue 14 #5).

The same verdict — external-secrets down in acme-shop, diagnosed from its scenario — is rendered by
every place that shows a chain or a root cause: the CLI's report and JSON, the gate's failure message
and XCom report, the watch's checkpoint as the failure path reads it back, the incident report (which
the demo prints, with the standby gate's summary), the notification, the run's release record in the
Releases view, the drift check's live health, and the enumerated chain table. Each must say exactly
``ROOT`` and ``CHAIN``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchyard.engine.chains import chain_text as table_text
from switchyard.engine.chains import enumerate_chains
from switchyard.engine.diagnose import ScenarioProbe, diagnose
from switchyard.engine.model import load_model
from switchyard.engine.notation import steps_text
from switchyard.engine.scenarios import load_scenario

ROOT_DIR = Path(__file__).resolve().parents[1]
MODEL = ROOT_DIR / "include" / "models" / "acme-shop.model.yaml"
SCENARIO = ROOT_DIR / "include" / "scenarios" / "acme-shop" / "05-external-secrets-down.yaml"
PATH = [
    "cloudflare",
    "acme-shop-ingress",
    "acme-shop-svc",
    "acme-shop-nginx-blue",
    "acme-shop-php-fpm-blue",
    "external-secrets",
]
ROOT = "external-secrets (not_running)"
CHAIN = " → ".join([*PATH[:-1], ROOT])


class XComOf:
    """What ``ti.xcom_pull`` answers in a run where ``values`` were pushed: {(task, key): value}."""

    def __init__(self, values):
        self.values = values

    def xcom_pull(self, task_ids, key="return_value"):
        return self.values.get((task_ids, key))


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


@pytest.fixture(scope="module")
def diagnosis(model):
    scenario = load_scenario(SCENARIO, model)
    result = diagnose(model, ScenarioProbe(scenario), suspects=["acme-shop-php-fpm-blue"], max_probes=10)
    assert result.verdict.chain == PATH and result.verdict.root_state == "not_running"
    return result


@pytest.fixture(scope="module")
def gate_report(diagnosis):
    """The gate's XCom ``verdict`` as save_evidence pushes it (JSON round trip)."""
    return json.loads(
        json.dumps({"gate": "standby_gate", "scope": "standby", "colour": "blue", **diagnosis.as_dict()})
    )


def test_the_engine_and_the_cli(capsys, model, diagnosis):
    from switchyard.cli import main
    from switchyard.engine.report import diagnosis_report

    assert diagnosis.verdict.root_text() == ROOT and diagnosis.verdict.chain_text() == CHAIN
    report = diagnosis_report(model, diagnosis).splitlines()
    assert f"Root cause: {ROOT}" in report and f"Chain:      {CHAIN}" in report
    assert f"root cause: {ROOT} — " in diagnosis.verdict.summary()
    assert f"; chain: {CHAIN}" in diagnosis.verdict.summary()

    argv = ["diagnose", "--model", str(MODEL), "--facts", str(SCENARIO), "--max-probes", "10"]
    main([*argv, "--suspect", "acme-shop-php-fpm-blue"])
    out = capsys.readouterr().out.splitlines()
    assert f"Root cause: {ROOT}" in out and f"Chain:      {CHAIN}" in out
    main([*argv, "--suspect", "acme-shop-php-fpm-blue", "--json"])
    as_json = json.loads(capsys.readouterr().out)
    assert as_json["chain_text"] == CHAIN and as_json["roots"][0]["chain_text"] == CHAIN


def test_the_gate_message_and_its_xcom(diagnosis, gate_report):
    from switchyard.airflow.operators.gate import gate_message

    message = gate_message("standby_gate", diagnosis)
    assert message.startswith(f"gate standby_gate failed — root cause: {ROOT} — ")
    assert f"; chain: {CHAIN}" in message
    assert gate_report["chain_text"] == CHAIN and f"; chain: {CHAIN}" in gate_report["summary"]


def test_the_watch_checkpoint_read_back_by_the_failure_path(diagnosis):
    from switchyard.release.checkpoints import judge
    from switchyard.release.evidence import first_failure

    checkpoint = judge(
        index=0,
        label="+1 min",
        verdict=diagnosis.verdict,
        sample={"status": "ok", "error_ratio": 0.0, "p99_seconds": 0.1},
        breach_reason="",
        max_error_ratio=0.05,
        max_p99_seconds=1.0,
        colour="blue",
        serving_entry=("acme-shop-nginx-blue", PATH[:4]),
    )
    evidence = first_failure(XComOf({("watch", "checkpoints"): [checkpoint]}))
    assert evidence.root_text() == ROOT and evidence.chain_text() == CHAIN
    assert evidence.line() == f"{ROOT} at watch (chain: {CHAIN})"


def test_the_incident_report_the_notification_and_the_run_summary(gate_report):
    from switchyard.airflow.notifications import notification_line
    from switchyard.airflow.operators.aftercare import incident_report
    from switchyard.release.evidence import first_failure

    evidence = first_failure(XComOf({("standby_gate", "verdict"): gate_report}))
    assert evidence.root_text() == ROOT and evidence.chain_text() == CHAIN
    report = incident_report(
        "acme-shop",
        {"version": "v3", "standby": "green", "live": "blue", "live_version": "v2"},
        evidence,
        [],
        "immediate rollback to blue verified",
        "",
    ).splitlines()
    assert report[report.index("## Root cause") + 1] == ROOT
    assert f"Chain: {CHAIN}" in report
    assert f"- [ ] Fix the root cause ({ROOT})" in report
    line = notification_line("acme-shop", "v3", "ROLLED BACK", evidence.root_text(), "http://x")
    assert f"root cause: {ROOT}" in line


def test_the_releases_view(gate_report):
    from switchyard.airflow.ui.page import releases_page
    from switchyard.airflow.ui.releases import AppReleases
    from switchyard.release.records import ReleaseRecord

    # the record as the abort writes it from the gate's verdict
    record = ReleaseRecord(
        4,
        "v3",
        "green",
        "Failed",
        "run-4",
        root_cause=gate_report["root_cause"],
        root_state=gate_report["root_state"],
        chain=gate_report["chain"],
        failed_step="standby_gate",
    )
    record = ReleaseRecord.from_dict(json.loads(json.dumps(record.__dict__)))  # as read back
    view = AppReleases(app="acme-shop", dag_id="release_acme_shop", records=[record], graph_svg="<svg/>")
    html = releases_page([view], "", {})
    assert f'{ROOT}<div class="chain">{CHAIN}</div>' in html
    assert f"root cause {ROOT}</figcaption>" in html


def test_the_drift_checks_live_health(gate_report):
    from switchyard.release.drift import live_health

    [finding] = live_health("acme-shop", gate_report).findings
    assert f"root cause {ROOT}; chain: {CHAIN}" in finding.line()


def test_the_chain_table(model):
    """The table's chain of this failure is the verdict's chain from php-fpm down, every step with
    its state: written with the same arrows, ending in the same root cause."""
    by_text = {table_text(c): c for c in enumerate_chains(model)}
    found = [
        c
        for c in by_text.values()
        if [s.component for s in reversed(c)] == PATH[-2:] and c[0].state == "not_running"
    ]
    assert found, "no enumerated chain from external-secrets (not_running) up to php-fpm-blue"
    for chain in found:
        text = table_text(chain)
        assert text.endswith(f" → {ROOT}")
        assert CHAIN.endswith(
            steps_text((s.component, s.state if s is chain[0] else "") for s in reversed(chain))
        )
