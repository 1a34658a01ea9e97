"""The probe loop: follow the failure, budget, deadline, partial visibility, gate scopes."""

from __future__ import annotations

import pytest

from switchyard.engine.diagnose import ProbeResult, ScenarioProbe, diagnose, needed_facts
from switchyard.engine.expr import parse
from switchyard.engine.facts import Fact, FactStore
from switchyard.engine.model import Dependency
from switchyard.engine.reasoning import conclude
from switchyard.engine.scenarios import Expectation, Scenario, load_scenario
from switchyard.engine.verdict import verdict_for

from .conftest import SCENARIOS

ESO_CHAIN = [
    "cloudflare",
    "acme-shop-ingress",
    "acme-shop-svc",
    "acme-shop-nginx-blue",
    "acme-shop-php-fpm-blue",
    "external-secrets",
]


def _scenario(acme, name):
    return load_scenario(SCENARIOS / name, acme)


class CountingProbe(ScenarioProbe):
    def __init__(self, scenario, **kwargs):
        super().__init__(scenario, **kwargs)
        self.calls: list[tuple[str, str]] = []

    def probe(self, component, fact):
        self.calls.append((component.name, fact))
        return super().probe(component, fact)


@pytest.mark.parametrize(
    ("suspects", "probes"),
    [
        (
            [],
            [
                ("acme-shop-php-fpm-blue", "ready_replicas"),
                ("acme-shop-php-fpm-blue", "desired_replicas"),
                ("external-secrets", "deployment_ready"),
                ("ssm-app-config", "exists"),
            ],
        ),
        (
            ["acme-shop-php-fpm-blue"],
            [
                ("acme-shop-php-fpm-blue", "condition_available"),  # a suspect: the revealing fact first
                ("external-secrets", "deployment_ready"),
                ("ssm-app-config", "exists"),
            ],
        ),
    ],
)
def test_external_secrets_case_in_at_most_six_probes(acme, suspects, probes):
    probe = CountingProbe(_scenario(acme, "05-external-secrets-down.yaml"))
    result = diagnose(acme, probe, suspects=suspects, max_probes=10)
    assert result.probes_run <= 6
    assert probe.calls == probes
    assert result.stopped == "root cause confirmed"
    verdict = result.verdict
    assert (verdict.outcome, verdict.root_cause, verdict.root_state) == (
        "failing",
        "external-secrets",
        "not_running",
    )
    assert verdict.root_confirmed and verdict.chain == ESO_CHAIN
    assert "ssm-app-config" in verdict.eliminated
    assert verdict.partial_visibility == []
    if suspects:
        assert result.suspect_hints() == [
            "suspect=acme-shop-php-fpm-blue — appeared mid-chain; real root was external-secrets (not_running)"
        ]


@pytest.mark.parametrize(
    ("name", "root"),
    [
        ("02-blue-nginx-crashloop.yaml", "acme-shop-nginx-blue"),
        ("03-rds-unavailable.yaml", "rds"),
        ("04-redis-unavailable.yaml", "redis"),
        ("06-mq-backlog.yaml", "mq"),  # found through a healthy rule, not a state
        ("07-opensearch-down.yaml", "opensearch"),
        ("08-media-bucket-inaccessible.yaml", "media-bucket"),
        ("13-ssm-parameter-missing.yaml", "ssm-app-config"),  # behind a healthy operator
        ("17-rds-down-early-partial-facts.yaml", "rds"),
        ("18-ingress-no-address.yaml", "acme-shop-ingress"),
    ],
)
def test_diagnose_reaches_the_root_simulate_names(acme, name, root):
    result = diagnose(acme, ScenarioProbe(_scenario(acme, name)), max_probes=60)
    assert (result.verdict.outcome, result.verdict.root_cause) == ("failing", root)
    assert result.verdict.root_confirmed
    assert result.stopped == "root cause confirmed"


def test_a_healthy_rule_is_read_before_ruling_a_component_out(acme):
    """mq is live by state; only queue_depth < 10000 (the model's override) shows the backlog."""
    result = diagnose(acme, ScenarioProbe(_scenario(acme, "06-mq-backlog.yaml")), max_probes=60)
    reads = [(s.fact, s.verdict) for s in result.trail if s.component == "mq"]
    assert reads == [("available", "undecided"), ("queue_depth", "failing")]


def test_forbidden_facts_are_partial_visibility_and_never_false(acme):
    probe = CountingProbe(_scenario(acme, "14-forbidden-probe-on-chain.yaml"))
    result = diagnose(acme, probe, suspects=["acme-shop-php-fpm-blue"], max_probes=60)
    forbidden = [s for s in result.trail if s.status == "forbidden"]
    assert [(s.component, s.fact, s.value) for s in forbidden] == [
        ("external-secrets", "deployment_ready", None),
        ("external-secrets", "crd_registered", None),
    ]
    assert all(s.verdict == "undecided" for s in forbidden)
    eso = result.conclusion.health["external-secrets"]
    assert eso.observed and not eso.failing and eso.state == "unknown"
    assert "external-secrets.deployment_ready (forbidden)" in result.verdict.partial_visibility
    assert "external-secrets.crd_registered (forbidden)" in result.verdict.partial_visibility
    # by the rules (S1, S2): the operator's path survives behind the failing php-fpm, unconfirmed
    assert result.verdict.root_cause == "external-secrets"
    assert not result.verdict.root_confirmed
    assert "unconfirmed" in result.verdict.summary()


def test_forbidden_facts_in_a_gate_scope_give_unknown(acme):
    scenario = _scenario(acme, "15-forbidden-probe-all-else-healthy.yaml")
    result = diagnose(acme, ScenarioProbe(scenario), scope=["rds", "redis"], max_probes=40)
    assert result.verdict.outcome == "unknown"
    assert result.verdict.unvouched == {
        "rds": "could not read available forbidden, connection_count forbidden "
        "(would decide: available, connection_count)"
    }
    assert result.verdict.next_probes == {"rds": ["available", "connection_count"]}
    assert result.verdict.partial_visibility == [
        "rds.available (forbidden)",
        "rds.connection_count (forbidden)",
    ]


def test_a_scope_that_cannot_be_observed_is_unknown_never_healthy(acme):
    scenario = _scenario(acme, "01-all-healthy.yaml")
    # cloudflare is person-observed (cdn): an automated probe cannot vouch for it
    result = diagnose(acme, ScenarioProbe(scenario), scope=["cloudflare", "rds"], max_probes=40)
    assert result.verdict.outcome == "unknown"
    assert result.verdict.unvouched == {"cloudflare": "not observed"}
    assert result.conclusion.health["rds"].vouched


def test_a_vouchable_scope_is_healthy(acme):
    scenario = _scenario(acme, "01-all-healthy.yaml")
    result = diagnose(acme, ScenarioProbe(scenario), scope=["rds", "redis", "mq"], max_probes=40)
    assert result.verdict.outcome == "healthy"
    assert result.verdict.scope == ["rds", "redis", "mq"]
    assert all(result.conclusion.health[n].vouched for n in ("rds", "redis", "mq"))


def test_budget_exhaustion_stops_and_is_not_healthy(acme):
    probe = CountingProbe(_scenario(acme, "01-all-healthy.yaml"))
    result = diagnose(acme, probe, max_probes=3)
    assert result.stopped == "probe budget exhausted"
    assert result.probes_run == len(probe.calls) == 3
    assert result.verdict.outcome == "unknown"
    # nginx-green's state is not known yet (only ready_replicas was read)
    assert list(result.verdict.unvouched) == ["acme-shop-nginx-green"]


def test_budget_exhaustion_with_every_state_known_is_still_not_healthy(acme):
    """After two probes nginx-blue is live by state, but its healthy rules are unread."""
    result = diagnose(acme, ScenarioProbe(_scenario(acme, "01-all-healthy.yaml")), max_probes=2)
    assert result.conclusion.health["acme-shop-nginx-blue"].eliminated
    assert result.verdict.outcome == "unknown"
    assert "acme-shop-nginx-blue" in result.verdict.unvouched
    assert all(
        why == "undecided: probe budget exhausted before it could be vouched for"
        for why in result.verdict.unvouched.values()
    )


def test_budget_exhaustion_keeps_a_named_root(acme):
    result = diagnose(acme, ScenarioProbe(_scenario(acme, "03-rds-unavailable.yaml")), max_probes=4)
    assert result.stopped == "probe budget exhausted"
    assert result.probes_run == 4
    assert result.verdict.outcome == "failing"


class FakeClock:
    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def test_deadline_stops_the_loop(acme):
    probe = CountingProbe(_scenario(acme, "01-all-healthy.yaml"))
    result = diagnose(acme, probe, max_probes=100, deadline_seconds=10, clock=FakeClock(1.0))
    assert result.stopped == "deadline exceeded"
    assert 0 < result.probes_run < 10
    assert result.verdict.outcome == "unknown"
    assert result.elapsed > 10


def test_nothing_to_probe_is_reported(acme):
    class Blind:
        def can_probe(self, component):
            return False

        def probe(self, component, fact):  # pragma: no cover - never called
            raise AssertionError

    result = diagnose(acme, Blind())
    assert (result.stopped, result.probes_run) == ("nothing left to probe", 0)
    assert result.verdict.root_cause == "none"
    assert result.verdict.outcome == "healthy"  # the observed scope is empty: nothing claimed
    assert result.verdict.scope == []


def test_a_probe_that_raises_is_a_transient_unknown(acme):
    class Broken:
        def can_probe(self, component):
            return component.name == "rds"

        def probe(self, component, fact):
            raise TimeoutError("rds API timed out")

    result = diagnose(acme, Broken(), max_probes=5)
    assert [(s.component, s.status) for s in result.trail] == [("rds", "transient"), ("rds", "transient")]
    assert "TimeoutError: rds API timed out" in result.trail[0].detail
    assert result.verdict.outcome == "unknown"
    assert result.verdict.partial_visibility == [
        "rds.available (transient)",
        "rds.connection_count (transient)",
    ]


def test_known_facts_are_not_probed_again(acme):
    store = FactStore.from_mapping({"acme-shop-php-fpm-blue": {"ready_replicas": 0, "desired_replicas": 3}})
    probe = CountingProbe(_scenario(acme, "05-external-secrets-down.yaml"))
    result = diagnose(acme, probe, facts=store)
    assert probe.calls == [("external-secrets", "deployment_ready"), ("ssm-app-config", "exists")]
    assert result.verdict.root_cause == "external-secrets"


def test_on_step_reports_each_probe_as_it_happens(acme):
    lines = []
    diagnose(
        acme,
        ScenarioProbe(_scenario(acme, "05-external-secrets-down.yaml")),
        on_step=lambda step: lines.append(step.line()),
    )
    assert lines == [
        "▶ probe acme-shop-php-fpm-blue ready_replicas = 0  ? undecided",
        "▶ probe acme-shop-php-fpm-blue desired_replicas = 3  ✗ failing",
        "▶ probe external-secrets deployment_ready = False  ✗ failing",
        "▶ probe ssm-app-config exists = True  ✓ healthy",
    ]


def test_unknown_suspect_is_an_error(acme):
    with pytest.raises(ValueError, match="unknown suspect component"):
        diagnose(acme, ScenarioProbe(_scenario(acme, "05-external-secrets-down.yaml")), suspects=["nope"])


def test_suspect_with_a_state_is_reduced_to_the_component(acme):
    result = diagnose(
        acme,
        ScenarioProbe(_scenario(acme, "05-external-secrets-down.yaml")),
        suspects=["external-secrets.not_running"],
    )
    assert result.trail[0].component == "external-secrets"
    assert result.suspect_hints() == ["suspect=external-secrets — confirmed as root"]


def test_needed_facts_follow_the_type_order(acme):
    deployment = acme.components["acme-shop-nginx-blue"]
    assert needed_facts(deployment)[:4] == [
        "ready_replicas",
        "desired_replicas",
        "condition_available",
        "restart_count",
    ]
    assert needed_facts(deployment, revealing_first=True)[:2] == ["condition_available", "restart_count"]
    assert needed_facts(acme.components["mq"]) == [
        "available",
        "queue_depth",
    ]  # consumer_count: no rule reads it


def test_scenario_probe_answers_from_the_scenario(acme):
    scenario = _scenario(acme, "14-forbidden-probe-on-chain.yaml")
    probe = ScenarioProbe(scenario)
    assert probe.can_probe(acme.components["rds"]) and not probe.can_probe(acme.components["acme-shop-cron"])
    assert probe.probe(acme.components["rds"], "available") == ProbeResult(True)
    assert probe.probe(acme.components["external-secrets"], "crd_registered").status == "forbidden"
    assert probe.probe(acme.components["rds"], "nope").status == "missing"
    assert ScenarioProbe(scenario, describe_only=False).can_probe(acme.components["acme-shop-cron"])


def test_gate_verdict_with_explicit_scope_requires_every_rule(acme):
    store = FactStore.from_mapping({"cloudfront": {"enabled": True, "deployed": True}})
    conclusion = conclude(acme, store)
    assert verdict_for(acme, conclusion, store, None).outcome == "healthy"  # default state, no false rule
    verdict = verdict_for(acme, conclusion, store, ["cloudfront"])
    assert verdict.outcome == "unknown"
    assert verdict.unvouched == {
        "cloudfront": "rules undecided: error_rate_5xx < 1 (would decide: error_rate_5xx)"
    }


def test_gate_names_a_failing_entry_of_its_own_by_what_was_read(acme):
    """cloudfront is an entry (nothing depends on it): its failure is a root, described by the
    facts read, never as a lack of visibility (issue 10)."""
    store = FactStore.from_mapping(
        {
            "cloudfront": {"enabled": False, "deployed": True, "error_rate_5xx": 0},
            "media-bucket": {"accessible": True},
        }
    )
    verdict = verdict_for(acme, conclude(acme, store), store, ["cloudfront"])
    assert verdict.outcome == "failing"
    assert (verdict.root_cause, verdict.root_state, verdict.chain) == (
        "cloudfront",
        "disabled",
        ["cloudfront"],
    )
    assert verdict.roots[0]["read"] == (
        "disabled (enabled=False, deployed=True, error_rate_5xx=0), rule false: enabled == true"
    )
    assert "not enough visibility" not in verdict.summary()


def _consumer_green_unreachable(acme):
    """acme-shop with async_jobs → consumer-green in force only while mq is down (it is up)."""
    model = acme.without([])
    deps = model.components["async_jobs"].depends
    for dep in deps:
        dep.targets = [t for t in dep.targets if t != "acme-shop-consumer-green"]
    deps.append(Dependency(["acme-shop-consumer-green"], parse("mq.available == false")))
    return model


def test_failing_deployment_with_no_chain_says_what_was_read_not_visibility(acme):
    """Issue 10: a component read and judged not ready that no path from an entry reaches is
    reported by what was read; "not enough visibility" is kept for what could not be read."""
    model = _consumer_green_unreachable(acme)
    store = FactStore.from_mapping(
        {
            "acme-shop-consumer-green": {
                "ready_replicas": 0,
                "desired_replicas": 2,
                "condition_available": False,
                "restart_count": 0,
            },
            "mq": {"available": True, "queue_depth": 3},
        }
    )
    store.add(Fact("rds", "available", None, "forbidden"))
    conclusion = conclude(model, store)
    assert not conclusion.has_root
    verdict = verdict_for(model, conclusion, store, ["acme-shop-consumer-green", "rds", "mq"])
    assert verdict.outcome == "unknown"
    assert verdict.failing_unchained == ["acme-shop-consumer-green"]
    assert verdict.unvouched["acme-shop-consumer-green"].startswith("not ready (0/2 replicas ready)")
    text = verdict.summary()
    assert (
        "1 component(s) failing with no chain to a root: acme-shop-consumer-green: not ready (0/2 replicas ready)"
        in text
    )
    assert (
        "not enough visibility to vouch for 1 component(s): rds: could not read available forbidden" in text
    )
    assert "vouch for 2" not in text and "failing (" not in text
    assert "acme-shop-consumer-green" not in verdict.next_probes  # its facts were read


def test_a_root_is_described_by_what_was_read(acme):
    scenario = _scenario(acme, "12-consumers-down-async-jobs.yaml")
    facts = scenario.fact_store()
    verdict = verdict_for(acme, conclude(acme, facts), facts, None)
    assert verdict.outcome == "failing"
    assert [r["read"] for r in verdict.roots] == [
        "not ready (0/1 replicas ready, 7 restarts)",
        "not ready (0/1 replicas ready, 9 restarts)",
    ]
    text = verdict.summary()
    assert (
        "root cause: acme-shop-consumer-blue (crashed) — not ready (0/1 replicas ready, 7 restarts)" in text
    )
    assert "also failing independently: acme-shop-consumer-green (crashed)" in text


def test_a_gate_ignores_a_chain_from_another_entry_outside_its_scope(acme):
    """The standby gate vouches for green's serving deployments: green's workers at 0 replicas
    before the switch (by design) are a chain from async_jobs that touches nothing in its scope."""
    store = FactStore.from_mapping(
        {
            "acme-shop-consumer-green": {"ready_replicas": 0, "desired_replicas": 0, "restart_count": 0},
            "acme-shop-nginx-green": {
                "ready_replicas": 2,
                "desired_replicas": 2,
                "condition_available": True,
                "restart_count": 0,
            },
        }
    )
    conclusion = conclude(acme, store)
    assert [r.component for r in conclusion.roots] == ["acme-shop-consumer-green"]
    assert verdict_for(acme, conclusion, store, ["acme-shop-nginx-green"]).outcome == "healthy"
    # whoever vouches for the workers (the live gate's scope, or diagnose) sees the chain
    assert verdict_for(acme, conclusion, store, ["acme-shop-consumer-green"]).outcome == "failing"
    assert verdict_for(acme, conclusion, store, None).root_cause == "acme-shop-consumer-green"


def test_the_standby_gate_vouches_for_its_scope_past_an_out_of_scope_chain(acme):
    """The diagnose loop must not stop at a root the gate does not answer for: it goes on to vouch
    for the scope (green nginx and php-fpm) while green's workers sit at 0 replicas."""
    healthy = {"ready_replicas": 2, "desired_replicas": 2, "condition_available": True, "restart_count": 0}
    scenario = Scenario(
        "standby",
        None,
        {
            "acme-shop-consumer-green": {"ready_replicas": 0, "desired_replicas": 0, "restart_count": 0},
            "acme-shop-nginx-green": healthy,
            "acme-shop-php-fpm-green": healthy,
        },
        {},
        Expectation(),
    )
    result = diagnose(
        acme,
        ScenarioProbe(scenario),
        scope=["acme-shop-nginx-green", "acme-shop-php-fpm-green"],
        suspects=["acme-shop-consumer-green"],
        max_probes=40,
    )
    assert result.verdict.outcome == "healthy", result.verdict.summary()
