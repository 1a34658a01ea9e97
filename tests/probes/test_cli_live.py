"""``python -m switchyard diagnose --live``: the engine's CLI reading the live system through the
Airflow connections in ``AIRFLOW_CONN_*``."""

from __future__ import annotations

import json

import pytest

from switchyard.cli import main
from switchyard.localenv.environment import DEFAULT_MODEL

MODEL = ["--model", str(DEFAULT_MODEL)]


def test_diagnose_live_reads_the_seeded_system(capsys, airflow_connections):
    """Issue 14 #6: the healthy local environment (blue live, green absent by design) is healthy."""
    code = main(
        ["diagnose", *MODEL, "--live", "--suspect", "acme-shop-php-fpm-blue", "--max-probes", "80", "--json"]
    )
    report = json.loads(capsys.readouterr().out)  # stdout is the report alone: Airflow logs to stderr
    trail = report["trail"]
    assert (trail[0]["component"], trail[0]["status"]) == ("acme-shop-php-fpm-blue", "ok")
    assert {s["status"] for s in trail} == {"ok"}
    # the colour the Service selects is read, and the standby colour is left out as the gates do
    assert report["colour"] == "blue"
    assert report["view"].startswith("blue live (from service default/acme-shop-svc selector); standby green")
    assert not any(s["component"].endswith("-green") for s in trail)
    assert (report["outcome"], code) == ("healthy", 0), report["summary"]
    assert report["unvouched"] == {} and report["next_probes"] == {}
    # one read answers every fact of its object: fewer API requests than probes, and they are counted
    assert 0 < report["api_requests"] < len(trail)


def test_diagnose_live_text_says_which_colour(capsys, airflow_connections):
    code = main(["diagnose", *MODEL, "--live", "--max-probes", "80"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == (
        "Colour:     blue live (from service default/acme-shop-svc selector); "
        "standby green left out — --colour both to include it"
    )
    assert "Root cause: (none — all components healthy)" in out
    assert "API requests: " in out


def test_diagnose_live_both_colours_includes_the_absent_standby(capsys, airflow_connections):
    code = main(["diagnose", *MODEL, "--live", "--colour", "both", "--max-probes", "80", "--json"])
    report = json.loads(capsys.readouterr().out)
    # the whole model holds the standby colour, absent between releases: not found, so never healthy
    assert (report["outcome"], code) == ("unknown", 1)
    assert report["colour"] == "both"
    assert {"acme-shop-nginx-green", "acme-shop-php-fpm-green"} <= set(report["unvouched"])
    assert "acme-shop-nginx-green" in report["next_probes"]
    assert "acme-shop-nginx-green" not in report["eliminated"]  # not read: never ruled out (S10)


def test_diagnose_live_names_a_view_it_may_not_read(capsys, emulator, airflow_connections):
    with emulator.fault("forbidden", path="/apis/apps/v1/namespaces/*/deployments*", verb="GET"):
        code = main(
            ["diagnose", *MODEL, "--live", "--suspect", "acme-shop-php-fpm-blue", "--max-probes", "10"]
        )
    out = capsys.readouterr().out
    assert code == 1
    assert "▶ probe acme-shop-php-fpm-blue condition_available = <forbidden> (GET deployments" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--live", "--facts", "x.yaml"], "argument --facts: not allowed with argument --live"),
        (["--live", "--colour", "purple"], "argument --colour: invalid choice: 'purple'"),
        ([], "one of the arguments --facts --live is required"),
    ],
)
def test_facts_and_live_exclude_each_other(capsys, argv, fragment):
    with pytest.raises(SystemExit) as exited:
        main(["diagnose", *MODEL, *argv])
    assert exited.value.code == 2
    assert fragment in capsys.readouterr().err
