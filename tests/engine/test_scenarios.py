"""The acme-shop scenarios: the seed's five exactly as hand-verified, and every file in the directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchyard.engine.facts import Fact, FactStore
from switchyard.engine.reasoning import conclude
from switchyard.engine.scenarios import Expectation, Scenario, load_scenario
from switchyard.engine.simulate import run_scenario
from switchyard.engine.verdict import verdict_for

from .conftest import SCENARIOS

PREFIX = ["cloudflare", "acme-shop-ingress", "acme-shop-svc"]
BLUE = [*PREFIX, "acme-shop-nginx-blue", "acme-shop-php-fpm-blue"]
SERVING = sorted(
    [
        "cloudflare",
        "acme-shop-ingress",
        "acme-shop-svc",
        "acme-shop-nginx-blue",
        "acme-shop-nginx-green",
        "acme-shop-php-fpm-blue",
        "acme-shop-php-fpm-green",
        "opensearch",
        "rds",
        "redis",
        "mq",
        "media-bucket",
        "external-secrets",
        "ssm-app-config",
    ]
)

# Spec Part 2 §4.10, under Switchyard's rules S1-S3 (the reference engine blames ssm-app-config in
# #2 and #3; rule S2 lets the healthy external-secrets shield it). Exact lists, not subsets.
SEEDS = {
    "01-all-healthy.yaml": ("none", "", [], SERVING),
    "02-blue-nginx-crashloop.yaml": (
        "acme-shop-nginx-blue",
        "crashed",
        [*PREFIX, "acme-shop-nginx-blue"],
        [
            "acme-shop-nginx-green",
            "acme-shop-php-fpm-blue",
            "acme-shop-php-fpm-green",
            "external-secrets",
            "media-bucket",
            "mq",
            "opensearch",
            "rds",
            "redis",
            "ssm-app-config",
        ],
    ),
    "03-rds-unavailable.yaml": (
        "rds",
        "stopped",
        [*BLUE, "rds"],
        ["external-secrets", "media-bucket", "mq", "opensearch", "redis", "ssm-app-config"],
    ),
    "04-redis-unavailable.yaml": (
        "redis",
        "stopped",
        [*BLUE, "redis"],
        [
            "acme-shop-nginx-green",
            "acme-shop-php-fpm-green",
            "external-secrets",
            "media-bucket",
            "mq",
            "opensearch",
            "rds",
            "ssm-app-config",
        ],
    ),
    "05-external-secrets-down.yaml": (
        "external-secrets",
        "not_running",
        [*BLUE, "external-secrets"],
        ["media-bucket", "mq", "opensearch", "rds", "redis", "ssm-app-config"],
    ),
}

ALL_FILES = sorted(SCENARIOS.glob("*.yaml"))
OWN_FILES = [p for p in ALL_FILES if p.name[:2] >= "06"]


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_scenario_exact(acme, name):
    root, state, path, eliminated = SEEDS[name]
    scenario = load_scenario(SCENARIOS / name, acme)
    result = run_scenario(acme, scenario)
    got = result.conclusion
    assert (got.root_cause, got.root_state, got.path, got.eliminated) == (root, state, path, eliminated)
    assert result.passed, result.mismatches
    # The seed's own expectations are exactly what the engine produces, not merely contained in it.
    assert run_scenario(acme, scenario, strict=True).passed
    assert scenario.warnings == []


def test_seed_states_as_hand_verified(acme):
    """§4.10 #5: php-fpm derives degraded (rollout_stuck is unresolved without updated_replicas)."""
    got = run_scenario(acme, load_scenario(SCENARIOS / "05-external-secrets-down.yaml", acme)).conclusion
    assert got.states["acme-shop-php-fpm-blue"] == "degraded"
    assert got.states["acme-shop-cron"] == "degraded"
    assert got.states["ssm-app-config"] == "present"
    got = run_scenario(acme, load_scenario(SCENARIOS / "03-rds-unavailable.yaml", acme)).conclusion
    assert got.states["acme-shop-php-fpm-green"] == "crashed"
    assert got.states["acme-shop-svc"] == "unknown"  # unobserved


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_scenario_file_passes_exactly(acme, path):
    scenario = load_scenario(path, acme)
    assert scenario.warnings == [], "stale fact or component names turn into 'unknown' silently"
    result = run_scenario(acme, scenario, strict=True)
    assert result.passed, (result.mismatches, result.as_dict()["got"])


def test_at_least_ten_own_scenarios_with_descriptions(acme):
    assert len(OWN_FILES) >= 10
    for path in OWN_FILES:
        scenario = load_scenario(path, acme)
        assert len(scenario.description) > 80, path.name
        exp = scenario.expect
        assert exp.root_cause and exp.outcome, path.name
        assert exp.eliminated, path.name
        assert exp.root_cause == "none" or exp.path[-1] == exp.root_cause, path.name


def test_every_model_type_is_exercised_by_a_failure(acme):
    """Each type the model uses is failing (observed, not default or a false rule) in some scenario."""
    failing_types = set()
    for path in ALL_FILES:
        result = run_scenario(acme, load_scenario(path, acme))
        for name, health in result.conclusion.health.items():
            if health.failing:
                failing_types.add(acme.components[name].type)
    assert failing_types == {c.type for c in acme.components.values()}


def _run(acme, name):
    return run_scenario(acme, load_scenario(SCENARIOS / name, acme))


def test_mq_backlog_fails_on_the_override_rule_in_the_default_state(acme):
    result = _run(acme, "06-mq-backlog.yaml")
    mq = result.conclusion.health["mq"]
    assert mq.state == mq.default_state == "live"
    assert mq.failed_rules == ("queue_depth < 10000",)
    assert result.conclusion.root_cause == "mq"


def test_every_entry_point_is_reasoned_from_rule_s11(acme):
    """cloudfront, scheduled_jobs and async_jobs are entries of their own: their failures are named."""
    for name, roots, chain in (
        ("09-cloudfront-disabled.yaml", [("cloudfront", "disabled")], ["cloudfront"]),
        (
            "11-cron-down-scheduled-jobs.yaml",
            [("acme-shop-cron", "crashed")],
            ["scheduled_jobs", "acme-shop-cron"],
        ),
        (
            "12-consumers-down-async-jobs.yaml",
            [("acme-shop-consumer-blue", "crashed"), ("acme-shop-consumer-green", "crashed")],
            ["async_jobs", "acme-shop-consumer-blue"],
        ),
    ):
        result = _run(acme, name)
        got = result.conclusion
        assert [(r.component, r.state) for r in got.roots] == roots, name
        assert (got.root_cause, got.path) == (roots[0][0], chain), name
        assert result.verdict.outcome == "failing"
        assert [r["root_cause"] for r in result.verdict.roots] == [c for c, _ in roots]
        assert got.entries == ["cloudflare", "scheduled_jobs", "async_jobs", "cloudfront"]
        # the business process is failing too, but the cron or consumers below it explain it
        assert "scheduled_jobs" not in {r.component for r in got.roots}


def test_forbidden_facts_on_the_chain_leave_an_unconfirmed_root_with_partial_visibility(acme):
    result = _run(acme, "14-forbidden-probe-on-chain.yaml")
    eso = result.conclusion.health["external-secrets"]
    assert eso.observed and eso.state == "unknown" and not eso.failing  # forbidden is never false
    assert result.conclusion.root_cause == "external-secrets"
    assert not result.conclusion.root_confirmed
    assert result.verdict.outcome == "failing"
    assert result.verdict.partial_visibility == [
        "external-secrets.deployment_ready (forbidden)",
        "external-secrets.crd_registered (forbidden)",
    ]


def test_forbidden_facts_off_a_failure_give_unknown_never_healthy(acme):
    result = _run(acme, "15-forbidden-probe-all-else-healthy.yaml")
    assert result.conclusion.root_cause == "none"
    assert result.verdict.outcome == "unknown"
    assert result.verdict.unvouched == {
        "rds": "could not read available forbidden, connection_count forbidden "
        "(would decide: available, connection_count)"
    }
    assert result.verdict.next_probes == {"rds": ["available", "connection_count"]}
    # Rule S10: nothing was read about rds, so neither rds nor anything depending on it is eliminated
    assert result.conclusion.undecided == ["rds"]
    eliminated = set(result.conclusion.eliminated)
    assert not eliminated & {"rds", "acme-shop-php-fpm-blue", "acme-shop-nginx-blue", "cloudflare"}
    assert {"redis", "mq", "external-secrets"} <= eliminated
    assert (
        "not enough visibility to vouch for 1 component(s): rds: could not read" in result.verdict.summary()
    )


def test_state_undecided_by_the_facts_read_is_not_eliminated(acme):
    """Issue 14 #2: a deployment with only restart_count read is unknown, not ruled out."""
    store = FactStore.from_mapping(
        {
            "acme-shop-php-fpm-blue": {"restart_count": 0},
            "rds": {"available": True, "connection_count": 10},
        }
    )
    got = conclude(acme, store)
    assert got.health["acme-shop-php-fpm-blue"].unknown
    assert "acme-shop-php-fpm-blue" in got.undecided
    assert not set(got.eliminated) & {"acme-shop-php-fpm-blue", "acme-shop-nginx-blue", "acme-shop-svc"}
    verdict = verdict_for(acme, got, store, None)
    assert verdict.outcome == "unknown"
    assert verdict.eliminated == got.eliminated
    assert verdict.unvouched["acme-shop-php-fpm-blue"].startswith("state undecided from restart_count")
    assert verdict.next_probes["acme-shop-php-fpm-blue"][:2] == ["ready_replicas", "desired_replicas"]
    assert verdict.as_dict()["next_probes"] == verdict.next_probes


def test_two_failures_name_both_roots(acme):
    result = _run(acme, "16-two-failures-ssm-and-redis.yaml")
    got = result.conclusion
    assert got.root_cause == "ssm-app-config"
    assert [(r.component, r.state, r.confirmed) for r in got.roots] == [
        ("ssm-app-config", "absent", True),
        ("redis", "stopped", True),
    ]
    assert got.roots[1].path == (*BLUE, "redis")
    assert "redis" not in got.eliminated
    summary = result.verdict.summary()
    assert "root cause: ssm-app-config (absent)" in summary
    assert "also failing independently: redis (stopped) — " in summary
    assert [f.terminal for f in got.alive_paths if f.confirmed][:4] == [
        "acme-shop-php-fpm-blue",
        "acme-shop-php-fpm-green",
        "redis",
        "ssm-app-config",
    ]


def test_a_shared_failure_is_one_chain_not_one_per_dependent(acme):
    """rds down makes both php-fpm colours fail: one root, rds, not three."""
    got = _run(acme, "03-rds-unavailable.yaml").conclusion
    assert [r.component for r in got.roots] == ["rds"]


def test_equal_length_tie_prefers_the_confirmed_failure(acme):
    got = _run(acme, "17-rds-down-early-partial-facts.yaml").conclusion
    six = [f for f in got.alive_paths if len(f.path) == 6]
    assert [f.terminal for f in six] == ["opensearch", "rds", "redis", "mq", "media-bucket"]
    assert [f.terminal for f in six if f.confirmed] == ["rds"]
    assert got.root_cause == "rds"  # not opensearch, declared first but only kept alive


def test_entry_itself_failing_is_the_root_rule_s3(acme):
    got = _run(acme, "19-cloudflare-down-entry.yaml").conclusion
    assert (got.root_cause, got.root_state, got.path) == ("cloudflare", "stopped", ["cloudflare"])
    assert got.alive_paths == []
    assert "cloudflare" not in got.eliminated


def test_entry_whose_facts_match_no_state_is_not_blamed(acme):
    store = FactStore([Fact("cloudflare", "operator_says_healthy", "maybe")])
    got = conclude(acme, store)
    assert got.states["cloudflare"] == "unknown"
    assert got.root_cause == "none"


def test_green_failure_while_blue_is_live_walks_through_green(acme):
    got = _run(acme, "10-green-rollout-stuck-blue-live.yaml").conclusion
    assert got.root_state == "rollout_stuck"
    assert got.states["acme-shop-svc"] == "live"
    assert "acme-shop-nginx-blue" in got.eliminated


def _scenario(inject, **expect) -> Scenario:
    return Scenario("t", None, inject, {}, Expectation(**expect))


def test_matching_is_subsequence_and_subset_unless_strict(acme):
    inject = load_scenario(SCENARIOS / "03-rds-unavailable.yaml", acme).inject
    loose = _scenario(inject, root_cause="rds", path=["cloudflare", "rds"], eliminated=["redis"])
    assert run_scenario(acme, loose).passed
    assert run_scenario(acme, loose, strict=True).mismatches == ["path", "eliminated"]
    out_of_order = _scenario(inject, root_cause="rds", path=["rds", "cloudflare"])
    assert run_scenario(acme, out_of_order).mismatches == ["path"]
    wrong_root = _scenario(inject, root_cause="redis")
    assert run_scenario(acme, wrong_root).mismatches == ["root_cause"]
    not_eliminated = _scenario(inject, root_cause="rds", eliminated=["rds"])
    assert run_scenario(acme, not_eliminated).mismatches == ["eliminated"]
    wrong_outcome = _scenario(inject, root_cause="rds", outcome="healthy")
    assert run_scenario(acme, wrong_outcome).mismatches == ["outcome"]


def test_reference_rule_would_blame_ssm_in_seed_2_but_s2_shields_it(acme):
    """The healthy external-secrets between the failure and the unobserved ssm-app-config shields it."""
    got = _run(acme, "02-blue-nginx-crashloop.yaml").conclusion
    ssm = next(f for f in got.fates if f.terminal == "ssm-app-config")
    assert not ssm.alive
    assert ssm.reason == "ssm-app-config unobserved, shielded by healthy external-secrets"


def test_scenario_hygiene_warns_about_stale_names(acme, write):
    path = write(
        "s.yaml",
        """
        name: stale
        inject:
          acme-shop-ingress: {upstream_count: 0}
          rdss: {available: false}
        expect: {root_cause: none}
        """,
    )
    warnings = load_scenario(Path(path), acme).warnings
    assert any("acme-shop-ingress.upstream_count is not a fact of type 'ingress'" in w for w in warnings)
    assert any("injects unknown component 'rdss'" in w and 'did you mean "rds"' in w for w in warnings)
