"""The command line: exit codes 0/1/2, one-line errors without tracebacks, text and JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from switchyard.cli import main

from .conftest import MODEL, ROOT, SCENARIOS

M = ["--model", str(MODEL)]
ESO = str(SCENARIOS / "05-external-secrets-down.yaml")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_exit(capsys, *argv):
    """argparse errors leave through SystemExit, as `python -m switchyard` does."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return info.value.code, out, err


def assert_one_line_error(err):
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


# ---- model validate --------------------------------------------------------------------------


def test_validate_valid_model(capsys):
    code, out, err = run(capsys, "model", "validate", *M)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 22 and lines[-2] == ""
    assert all(line.startswith("  ✓ ") for line in lines[:20])
    assert lines[-1] == "  20 components · 0 errors · 0 warnings"


def test_validate_model_with_errors(capsys, write):
    path = write(
        "m.yaml",
        "meta: {name: t, version: '1', providers: [kubernetes]}\ncomponents:\n  a: {type: deploymnet}\n",
    )
    code, out, err = run(capsys, "model", "validate", "--model", str(path))
    assert code == 1
    assert err == "error: model has validation errors\n"
    assert "  ✗ a  unknown type 'deploymnet'" in out
    assert 'did you mean "deployment"?' in out
    assert out.splitlines()[-1] == "  1 component · 1 error · 0 warnings"


def test_validate_json(capsys, write):
    path = write(
        "m.yaml",
        "meta: {name: t, version: '1', providers: [kubernetes]}\ncomponents:\n  a: {type: deployment, depends: [{on: b}]}\n",
    )
    code, out, _ = run(capsys, "model", "validate", "--model", str(path), "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["model"], report["components"], report["valid"]) == ("t", 1, False)
    (problem,) = report["problems"]
    assert problem == {
        "severity": "error",
        "component": "a",
        "message": 'depends on unknown component "b"',
        "location": f"{path}:3:35",  # the {on: b} entry
        "fix": 'did you mean "a"?',
    }


def test_validate_missing_file(capsys, tmp_path):
    code, out, err = run(capsys, "model", "validate", "--model", str(tmp_path / "nope.yaml"))
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert "no such model file" in err


def test_validate_bad_yaml(capsys, write):
    path = write("bad.yaml", "meta: [1, 2\ncomponents: {}\n")
    code, out, _ = run(capsys, "model", "validate", "--model", str(path))
    assert code == 1
    assert "invalid YAML: " in out and f"({path}:2:" in out
    assert out.splitlines()[-1] == "  0 components · 1 error · 0 warnings"


# ---- argument errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "the following arguments are required: command"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["model"], "the following arguments are required: model_command"),
        (["model", "check", *M], "invalid choice: 'check'"),
        (["simulate", *M], "one of the arguments --all --scenario is required"),
        (["simulate", *M, "--all", str(SCENARIOS), "--bogus"], "unrecognized arguments: --bogus"),
        (["simulate", "--all", str(SCENARIOS)], "the following arguments are required: --model"),
        (["diagnose", *M, "--facts", ESO, "--max-probes", "many"], "'many' is not a whole number"),
        (["diagnose", *M, "--facts", ESO, "--max-probes", "0"], "0 must be at least 1"),
        (["diagnose", *M, "--facts", ESO, "--deadline", "soon"], "is not a duration like 90s, 5m or 1h"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, fragment):
    code, out, err = run_exit(capsys, *argv)
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert fragment in err


# ---- simulate ----------------------------------------------------------------------------------


def test_simulate_all_passes(capsys):
    code, out, err = run(capsys, "simulate", *M, "--all", str(SCENARIOS))
    total = len(list(SCENARIOS.glob("*.yaml")))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"  {'all components healthy':<40} ✓ passed"
    assert sum(line.endswith("✓ passed") for line in lines) == total
    assert lines[-1] == f"  {total}/{total} scenarios passed"


def _failing_scenario(write):
    return write(
        "wrong.yaml",
        """
        name: wrong expectation
        inject:
          rds: {available: false, connection_count: 0}
          acme-shop-php-fpm-blue: {ready_replicas: 0, desired_replicas: 3, condition_available: false, restart_count: 9}
          external-secrets: {deployment_ready: true, crd_registered: true}
        expect:
          root_cause: redis
          path: [cloudflare, redis]
          eliminated: [rds]
        """,
    )


def test_simulate_failure_prints_expected_and_got(capsys, write):
    code, out, err = run(capsys, "simulate", *M, "--scenario", str(_failing_scenario(write)))
    assert code == 1 and err == ""  # a reasoning failure: no error line
    lines = out.splitlines()
    assert lines[0] == f"  {'wrong expectation':<40} ✗ failed (root_cause, path, eliminated)"
    assert lines[1] == "    expected: root_cause=redis  path=cloudflare → redis  eliminated=[rds]"
    assert lines[2].startswith(  # the one notation: component (state), the chain ending in it
        "    got:      root_cause=rds (stopped)  path=cloudflare → acme-shop-ingress → acme-shop-svc → "
        "acme-shop-nginx-blue → acme-shop-php-fpm-blue → rds (stopped)  eliminated=["
    )
    assert len(lines) == 3  # --scenario: no summary line


def test_simulate_json_shape(capsys, write, tmp_path):
    directory = tmp_path / "scenarios"
    directory.mkdir()
    (directory / "01.yaml").write_text((SCENARIOS / "03-rds-unavailable.yaml").read_text())
    (directory / "02.yaml").write_text(_failing_scenario(write).read_text())
    code, out, _ = run(capsys, "simulate", *M, "--all", str(directory), "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["passed"], report["total"]) == (1, 2)
    good, bad = report["scenarios"]
    for item in (good, bad):
        assert {"name", "passed", "expected", "got"} <= set(item)
        assert {"root_cause", "path", "eliminated"} <= set(item["expected"])
        assert {"root_cause", "path", "eliminated", "outcome"} <= set(item["got"])
    assert (good["name"], good["passed"], good["got"]["root_cause"]) == ("rds unavailable", True, "rds")
    assert good["expected"]["eliminated"] == [
        "external-secrets",
        "mq",
        "opensearch",
        "redis",
        "media-bucket",
        "ssm-app-config",
    ]
    assert (bad["name"], bad["passed"]) == ("wrong expectation", False)
    assert bad["expected"] == {"root_cause": "redis", "path": ["cloudflare", "redis"], "eliminated": ["rds"]}
    assert bad["got"]["root_cause"] == "rds" and bad["got"]["path"][-1] == "rds"
    assert bad["mismatches"] == ["root_cause", "path", "eliminated"]


def test_simulate_strict(capsys, write):
    loose = write(
        "loose.yaml",
        "name: loose\ninject: {rds: {available: false}}\nexpect: {root_cause: rds, path: [rds]}\n",
    )
    assert run(capsys, "simulate", *M, "--scenario", str(loose))[0] == 0
    code, out, _ = run(capsys, "simulate", *M, "--scenario", str(loose), "--strict")
    assert code == 1 and "✗ failed (path, eliminated)" in out


def test_simulate_outcome_mismatch_is_shown(capsys, write):
    path = write(
        "o.yaml", "name: o\ninject: {rds: {available: false}}\nexpect: {root_cause: rds, outcome: healthy}\n"
    )
    code, out, _ = run(capsys, "simulate", *M, "--scenario", str(path))
    assert code == 1
    assert "✗ failed (outcome)" in out and "outcome=healthy" in out and "outcome=failing" in out


def test_simulate_warns_about_stale_fact_names(capsys, write):
    path = write(
        "w.yaml", "name: w\ninject: {acme-shop-ingress: {upstream_count: 0}}\nexpect: {root_cause: none}\n"
    )
    code, _, err = run(capsys, "simulate", *M, "--scenario", str(path))
    assert code == 0
    assert err.startswith("warning: w: acme-shop-ingress.upstream_count is not a fact of type 'ingress'")


@pytest.mark.parametrize(
    ("files", "argv_tail", "fragment"),
    [
        ({}, ["--scenario", "{tmp}/nope.yaml"], "no such file"),
        ({"bad.yaml": "name: [\n"}, ["--scenario", "{tmp}/bad.yaml"], "invalid YAML"),
        (
            {"x.yaml": "name: x\ninject: {a: 1}\nexpect: {root_cause: none}\n"},
            ["--scenario", "{tmp}/x.yaml"],
            "inject must map",
        ),
        (
            {"x.yaml": "name: x\ninject: {}\n"},
            ["--scenario", "{tmp}/x.yaml"],
            "expect.root_cause is required",
        ),
        (
            {"x.yaml": "name: x\nunknown: {rds: {available: hidden}}\nexpect: {root_cause: none}\n"},
            ["--scenario", "{tmp}/x.yaml"],
            "must map facts to one of forbidden",
        ),
        (
            {"x.yaml": "name: x\nexpect: {root_cause: none, outcome: fine}\n"},
            ["--scenario", "{tmp}/x.yaml"],
            "expect.outcome 'fine'",
        ),
        ({"empty/README": "x"}, ["--all", "{tmp}/empty"], 'no scenario files found in "'),
        ({}, ["--all", "{tmp}/missing"], "not a directory of scenario files"),
    ],
)
def test_simulate_bad_scenario_input_exits_2(capsys, write, tmp_path, files, argv_tail, fragment):
    for name, text in files.items():
        write(name, text)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv_tail]
    code, out, err = run(capsys, "simulate", *M, *argv)
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert fragment in err


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("meta: [1, 2\n", "invalid YAML"),
        ("meta: {name: t, version: '1'}\ncomponents:\n  a: {type: nope}\n", "unknown type 'nope'"),
        (
            "meta: {name: t, version: '1', providers: [kubernetes]}\ncomponents:\n  a: {type: deployment, depends: [{on: a}]}\n",
            "circular dependency detected: a → a",
        ),
    ],
)
def test_simulate_refuses_an_invalid_model_with_exit_2(capsys, write, text, fragment):
    path = write("m.yaml", text)
    code, out, err = run(capsys, "simulate", "--model", str(path), "--all", str(SCENARIOS))
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert err.startswith("error: model has validation errors: ") and fragment in err


# ---- diagnose ----------------------------------------------------------------------------------


def test_diagnose_text(capsys):
    code, out, err = run(
        capsys, "diagnose", *M, "--facts", ESO, "--suspect", "acme-shop-php-fpm-blue", "--max-probes", "10"
    )
    assert code == 1 and err == ""  # a root cause is a reasoning failure for the exit code
    lines = out.splitlines()
    assert lines[:3] == [
        "▶ probe acme-shop-php-fpm-blue condition_available = False  ✗ failing",
        "▶ probe external-secrets deployment_ready = False  ✗ failing",
        "▶ probe ssm-app-config exists = True  ✓ healthy",
    ]
    assert lines[3] == "Root cause: external-secrets (not_running)"  # one notation: component (state)
    assert lines[4] == "Chain:      " + " → ".join(
        [
            "cloudflare",
            "acme-shop-ingress",
            "acme-shop-svc",
            "acme-shop-nginx-blue",
            "acme-shop-php-fpm-blue",
            "external-secrets (not_running)",  # the chain ends in the root cause, written as above
        ]
    )
    assert lines[5].startswith("Eliminated: ") and "ssm-app-config" in lines[5]
    assert lines[6].startswith("Probes run: 3/10   Time: ") and lines[6].endswith(
        "Stopped: root cause confirmed"
    )
    assert lines[7] == "Partial visibility: none"
    assert (
        lines[8]
        == "Hint:       suspect=acme-shop-php-fpm-blue — appeared mid-chain; real root was external-secrets (not_running)"
    )


def test_diagnose_text_with_partial_visibility(capsys):
    facts = str(SCENARIOS / "14-forbidden-probe-on-chain.yaml")
    code, out, _ = run(capsys, "diagnose", *M, "--facts", facts, "--max-probes", "60")
    assert code == 1
    assert "▶ probe external-secrets deployment_ready = <forbidden> (injected forbidden)  ? undecided" in out
    assert "Root cause: external-secrets (unknown)  [unconfirmed: " in out
    (line,) = [line for line in out.splitlines() if line.startswith("Partial visibility: ")]
    assert (
        "external-secrets.deployment_ready (forbidden), external-secrets.crd_registered (forbidden)" in line
    )
    assert line.endswith("— result may be incomplete.")


def test_diagnose_healthy_exits_0_and_unknown_exits_1(capsys):
    healthy = str(SCENARIOS / "01-all-healthy.yaml")
    code, out, _ = run(capsys, "diagnose", *M, "--facts", healthy, "--scope", "rds", "--scope", "redis")
    assert code == 0 and "Root cause: (none — all components healthy)" in out
    code, out, _ = run(capsys, "diagnose", *M, "--facts", healthy, "--scope", "cloudflare")
    assert code == 1
    assert "Root cause: unknown — not enough visibility to decide" in out
    assert "  cloudflare: not observed" in out
    assert "Next probes: cloudflare.operator_says_healthy" in out  # what would decide it (issue 14 #2)


def test_diagnose_unknown_json_names_what_would_decide(capsys):
    facts = str(SCENARIOS / "15-forbidden-probe-all-else-healthy.yaml")
    code, out, _ = run(capsys, "diagnose", *M, "--facts", facts, "--scope", "rds", "--json")
    report = json.loads(out)
    assert (code, report["outcome"]) == (1, "unknown")
    assert report["next_probes"] == {"rds": ["available", "connection_count"]}
    assert "rds" not in report["eliminated"]
    assert report["summary"].startswith("unknown — not enough visibility to vouch for 1 component(s): rds:")


def test_diagnose_json(capsys):
    code, out, err = run(capsys, "diagnose", *M, "--facts", ESO, "--json")
    assert code == 1 and err == ""
    report = json.loads(out)
    assert (report["outcome"], report["root_cause"], report["root_state"]) == (
        "failing",
        "external-secrets",
        "not_running",
    )
    assert report["chain"][-1] == "external-secrets" and report["root_confirmed"] is True
    assert (report["probes_run"], report["max_probes"], report["stopped"]) == (4, 60, "root cause confirmed")
    assert report["partial_visibility"] == []
    assert [(t["component"], t["fact"], t["value"], t["status"]) for t in report["trail"]] == [
        ("acme-shop-php-fpm-blue", "ready_replicas", 0, "ok"),
        ("acme-shop-php-fpm-blue", "desired_replicas", 3, "ok"),
        ("external-secrets", "deployment_ready", False, "ok"),
        ("ssm-app-config", "exists", True, "ok"),
    ]
    assert "▶" not in out


def test_diagnose_bad_input(capsys):
    code, _, err = run(capsys, "diagnose", *M, "--facts", ESO, "--suspect", "nginx")
    assert code == 2
    assert_one_line_error(err)
    assert "unknown suspect component(s): 'nginx'" in err


def test_a_suspect_typo_gets_did_you_mean(capsys):
    code, _, err = run(capsys, "diagnose", *M, "--facts", ESO, "--suspect", "acme-shop-nginx-bleu")
    assert code == 2
    assert_one_line_error(err)
    assert (
        """unknown suspect component(s): 'acme-shop-nginx-bleu' (did you mean "acme-shop-nginx-blue"?)"""
        in err
    )


TYPO_FACTS = """
name: typos
inject:
  rsd: {available: false}
  redis: {available: true, conection_count: 10}
expect: {root_cause: none}
"""


def test_facts_file_typos_warn_with_did_you_mean_and_fail_under_strict(capsys, tmp_path):
    facts = tmp_path / "typos.yaml"
    facts.write_text(TYPO_FACTS)
    code, out, err = run(capsys, "diagnose", *M, "--facts", str(facts), "--max-probes", "5")
    warnings = err.splitlines()
    assert warnings[0] == """warning: typos: injects unknown component 'rsd' (did you mean "rds"?)"""
    assert warnings[1].startswith(
        """warning: typos: redis.conection_count is not a fact of type 'elasticache_cluster' (did you mean "connection_count"?)"""
    )
    assert code in (0, 1) and out
    code, out, err = run(capsys, "diagnose", *M, "--facts", str(facts), "--strict")
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert "injects unknown component 'rsd'" in err and "(and 1 more) — --strict refuses unknown names" in err
    code, _, err = run(capsys, "simulate", *M, "--scenario", str(facts), "--strict")
    assert code == 2 and "--strict refuses unknown names" in err


# ---- a real process ----------------------------------------------------------------------------


def _python_m(*argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    env.pop("SWITCHYARD_TYPES", None)
    return subprocess.run(
        [sys.executable, "-m", "switchyard", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_subprocess_simulate_and_validate():
    done = _python_m("simulate", "--model", str(MODEL), "--all", str(SCENARIOS))
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("scenarios passed")
    done = _python_m("model", "validate", "--model", str(MODEL))
    assert done.returncode == 0
    assert "20 components · 0 errors · 0 warnings" in done.stdout


def test_subprocess_bad_input_has_no_traceback(tmp_path):
    (tmp_path / "bad.yaml").write_text("meta: [\n")
    for argv in (
        ("simulate", "--model", str(tmp_path / "bad.yaml"), "--all", str(SCENARIOS)),
        ("simulate", "--model", str(tmp_path / "missing.yaml"), "--all", str(SCENARIOS)),
        ("nonsense",),
    ):
        done = _python_m(*argv)
        assert done.returncode == 2, argv
        assert done.stdout == ""
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
        assert "Traceback" not in done.stderr


def test_version_flag(capsys):
    code, out, _ = run_exit(capsys, "--version")
    assert code == 0 and out.startswith("switchyard ")
