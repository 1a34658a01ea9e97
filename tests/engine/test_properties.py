"""Property tests: no fact set crashes the engine, all-healthy facts never name a root cause, and
no model or scenario text makes reading raise anything but a SwitchyardError."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchyard.engine.catalog import load_catalog
from switchyard.engine.diagnose import ProbeResult, diagnose
from switchyard.engine.errors import SwitchyardError
from switchyard.engine.facts import Fact, FactStore
from switchyard.engine.model import read_model
from switchyard.engine.reasoning import conclude
from switchyard.engine.scenarios import Expectation, Scenario, load_scenario
from switchyard.engine.simulate import run_scenario
from switchyard.engine.verdict import verdict_for

from .conftest import MODEL

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
MODEL_OBJ = read_model(MODEL, load_catalog(use_env=False))
NAMES = list(MODEL_OBJ.components)
STATUSES = ("forbidden", "transient", "not_found", "missing")


# ---- random, possibly nonsensical facts ------------------------------------------------------

any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["true", "false", "5", "LoadBalancer", "", "1e3"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.dates(),
)


@st.composite
def random_facts(draw):
    """component → fact → (value, status), facts mostly from the component's type, some bogus."""
    out: dict[str, dict[str, tuple[object, str]]] = {}
    for name in draw(st.lists(st.sampled_from([*NAMES, "not-a-component"]), max_size=14, unique=True)):
        type_def = MODEL_OBJ.components[name].type_def if name in MODEL_OBJ.components else None
        fact_names = [*(type_def.facts if type_def else []), "bogus"]
        facts = draw(st.lists(st.sampled_from(fact_names), max_size=6, unique=True))
        out[name] = {
            f: (draw(any_value), draw(st.sampled_from(("ok", "ok", "ok", *STATUSES)))) for f in facts
        }
    return out


def _store(facts) -> FactStore:
    store = FactStore()
    for comp, values in facts.items():
        for name, (value, status) in values.items():
            store.add(Fact(comp, name, value if status == "ok" else None, status))
    return store


class _DictProbe:
    """Answers from a fact dict; a fact it lacks is missing; 'explode' facts raise."""

    def __init__(self, facts, explode=()):
        self.facts, self.explode = facts, set(explode)

    def can_probe(self, component):
        return True

    def probe(self, component, fact):
        if (component.name, fact) in self.explode:
            raise RuntimeError("API unreachable")
        value, status = self.facts.get(component.name, {}).get(fact, (None, "missing"))
        return ProbeResult(value if status == "ok" else None, status)


def _check_conclusion(conclusion):
    assert conclusion.entry == "cloudflare"
    if conclusion.has_root:
        assert conclusion.root_cause in MODEL_OBJ.components
        assert conclusion.path[0] in conclusion.entries and conclusion.path[-1] == conclusion.root_cause
        assert conclusion.roots[0].component == conclusion.root_cause
        assert len({r.component for r in conclusion.roots}) == len(conclusion.roots)
        assert all(r.path[-1] == r.component and r.path[0] in conclusion.entries for r in conclusion.roots)
        assert conclusion.root_state == conclusion.states[conclusion.root_cause]
    else:
        assert conclusion.path == []
    assert conclusion.eliminated == sorted(set(conclusion.eliminated))
    assert not set(conclusion.eliminated) & {n for f in conclusion.alive_paths for n in f.path}
    # rule S10: nothing undecided, and nothing depending on something undecided, is eliminated
    assert not set(conclusion.eliminated) & set(conclusion.undecided)
    for name in conclusion.eliminated:
        assert not conclusion.health[name].unknown


@SETTINGS
@given(random_facts(), st.one_of(st.none(), st.lists(st.sampled_from(NAMES), max_size=5, unique=True)))
def test_random_facts_never_crash_conclude_or_the_gate(facts, scope):
    store = _store(facts)
    conclusion = conclude(MODEL_OBJ, store)
    _check_conclusion(conclusion)
    verdict = verdict_for(MODEL_OBJ, conclusion, store, scope)
    assert verdict.outcome in ("healthy", "failing", "unknown")
    for name, health in conclusion.health.items():
        if health.observed and all(f.status != "ok" for f in store.facts_of(name).values()):
            assert not health.failing  # unreadable facts alone never make a component failing
    if verdict.outcome == "healthy":
        members = scope if scope is not None else [n for n in NAMES if store.observed(n)]
        assert not any(conclusion.health[n].failing for n in members)
    if verdict.outcome == "failing":
        assert verdict.root_cause == conclusion.root_cause != "none"


@SETTINGS
@given(random_facts())
def test_random_facts_never_crash_run_scenario(facts):
    inject = {c: {f: v for f, (v, s) in values.items() if s == "ok"} for c, values in facts.items()}
    unknown = {c: {f: s for f, (v, s) in values.items() if s != "ok"} for c, values in facts.items()}
    scenario = Scenario("random", None, inject, unknown, Expectation(root_cause="none"))
    result = run_scenario(MODEL_OBJ, scenario)
    _check_conclusion(result.conclusion)
    assert result.passed == (not result.conclusion.has_root)
    assert run_scenario(MODEL_OBJ, scenario, strict=True).passed == (
        result.passed and result.conclusion.eliminated == []
    )
    assert set(result.as_dict()) >= {"name", "passed", "expected", "got"}


@SETTINGS
@given(
    random_facts(),
    st.lists(st.sampled_from(NAMES), max_size=2, unique=True),
    st.one_of(st.none(), st.lists(st.sampled_from(NAMES), max_size=4, unique=True)),
    st.integers(0, 25),
    st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(["available", "ready_replicas"])), max_size=2),
)
def test_random_facts_never_crash_diagnose(facts, suspects, scope, budget, explode):
    result = diagnose(
        MODEL_OBJ, _DictProbe(facts, explode), suspects=suspects, scope=scope, max_probes=budget
    )
    assert result.probes_run <= budget
    assert result.verdict.outcome in ("healthy", "failing", "unknown")
    assert result.stopped in (
        "root cause confirmed",
        "nothing left to probe",
        "probe budget exhausted",
        "deadline exceeded",
    )
    _check_conclusion(result.conclusion)
    for step in result.trail:
        if (step.component, step.fact) in explode:
            assert step.status == "transient" and "API unreachable" in step.detail
    if result.verdict.outcome == "healthy":
        health = result.conclusion.health
        if scope is None:  # diagnose: cut short is never healthy; else what it saw is vouched for
            assert result.stopped == "nothing left to probe"
            assert not any(h.failing for h in health.values())
        else:  # a gate: its whole scope is vouched for, whatever else was left unread
            assert all(health[n].vouched for n in scope)
    assert len({(s.component, s.fact) for s in result.trail}) == len(result.trail)  # never re-read


# ---- all-healthy facts -----------------------------------------------------------------------


def _optional(draw, values: dict, optional: dict) -> dict:
    for name, strategy in optional.items():
        if draw(st.booleans()):
            values[name] = draw(strategy)
    return values


@st.composite
def healthy_facts_for(draw, name: str):
    """Facts that put the component in its default state with every effective healthy rule true."""
    comp = MODEL_OBJ.components[name]
    override = bool(comp.healthy_override)
    kind = comp.type_def.qualified_name
    if kind == "kubernetes.deployment":
        desired = draw(st.integers(1, 12))
        values = {
            "ready_replicas": desired,
            "desired_replicas": desired,
            "condition_available": True,
            "restart_count": draw(st.integers(0, 4)),
        }
        return _optional(
            draw,
            values,
            {
                "updated_replicas": st.integers(desired, desired + 2),
                "condition_progressing": st.booleans(),
                "available_replicas": st.just(desired),
                "unavailable_replicas": st.just(0),
            },
        )
    if kind == "kubernetes.operator":
        values = {"deployment_ready": True, "crd_registered": True}
        return _optional(draw, values, {"restart_count": st.integers(0, 3), "webhook_healthy": st.booleans()})
    if kind == "kubernetes.service":
        values = {"endpoint_count": draw(st.integers(1, 50))}
        service_type = draw(st.sampled_from([None, "ClusterIP", "NodePort", "LoadBalancer"]))
        if service_type:
            values["type"] = service_type
            if service_type == "LoadBalancer" or draw(st.booleans()):
                values["external_ip_assigned"] = service_type == "LoadBalancer" or draw(st.booleans())
        return _optional(draw, values, {"selector_match": st.booleans()})
    if kind == "kubernetes.ingress":
        values = {"address_assigned": True, "backend_count": draw(st.integers(1, 5))}
        return _optional(
            draw, values, {"tls_configured": st.booleans(), "class": st.sampled_from(["alb", "nginx"])}
        )
    if kind == "aws.rds_instance":
        return {"available": True, "connection_count": draw(st.integers(0, 499))}
    if kind == "aws.elasticache_cluster":
        # the model's override (available == true) replaces cache_hit_ratio > 80: idle stage is fine
        ratio = st.floats(0, 100) if override else st.floats(80.01, 100)
        values = {"available": True, "cache_hit_ratio": draw(ratio)}
        return _optional(draw, values, {"connection_count": st.integers(0, 5000)})
    if kind == "aws.mq_broker":
        # the override (queue_depth < 10000) dropped consumer_count > 0: consumers scaled to zero
        consumers = st.integers(0, 50) if override else st.integers(1, 50)
        return {
            "available": True,
            "queue_depth": draw(st.integers(0, 9999)),
            "consumer_count": draw(consumers),
        }
    if kind == "aws.s3_bucket":
        values = {"accessible": True}
        return _optional(
            draw, values, {"versioning_enabled": st.booleans(), "object_count": st.integers(0, 10**6)}
        )
    if kind == "aws.cloudfront_distribution":
        return {"deployed": True, "enabled": True, "error_rate_5xx": draw(st.floats(0, 0.99))}
    if kind == "aws.ssm_parameter":
        values = {"exists": True}
        return _optional(
            draw, values, {"version": st.integers(1, 99), "last_modified_age_seconds": st.integers(0, 10**7)}
        )
    if comp.type_def.provider == "generic":
        return {"operator_says_healthy": True}
    raise AssertionError(f"no healthy generator for {kind}: add one")


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_every_acme_component_has_a_healthy_generator(data):
    for name in NAMES:
        values = data.draw(healthy_facts_for(name), label=name)
        health = conclude(MODEL_OBJ, FactStore.from_mapping({name: values})).health[name]
        assert health.vouched, (name, values, health)


def test_the_generators_cover_the_model_types():
    kinds = {c.type_def.qualified_name for c in MODEL_OBJ.components.values()}
    assert kinds == {
        "generic.cdn",
        "generic.business_process",
        "kubernetes.ingress",
        "kubernetes.service",
        "kubernetes.deployment",
        "kubernetes.operator",
        "aws.rds_instance",
        "aws.elasticache_cluster",
        "aws.mq_broker",
        "aws.s3_bucket",
        "aws.cloudfront_distribution",
        "aws.ssm_parameter",
    }


@st.composite
def healthy_system(draw):
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=len(NAMES)))
    return {name: draw(healthy_facts_for(name)) for name in names}


@SETTINGS
@given(healthy_system())
def test_all_healthy_facts_never_name_a_root_cause(inject):
    scenario = Scenario("healthy", None, inject, {}, Expectation(root_cause="none", outcome="healthy"))
    result = run_scenario(MODEL_OBJ, scenario)
    assert result.conclusion.root_cause == "none"
    assert result.verdict.outcome == "healthy", result.verdict.unvouched
    assert result.passed
    for name in inject:
        health = result.conclusion.health[name]
        assert health.vouched, (name, health)
    # an explicit gate scope of exactly what was observed is vouched for too
    store = scenario.fact_store()
    assert verdict_for(MODEL_OBJ, result.conclusion, store, list(inject)).outcome == "healthy"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(healthy_system())
def test_diagnosing_a_healthy_system_finds_no_root(inject):
    facts = {c: {f: (v, "ok") for f, v in values.items()} for c, values in inject.items()}

    class Observed(_DictProbe):
        def can_probe(self, component):
            return component.name in inject

    result = diagnose(MODEL_OBJ, Observed(facts), max_probes=200)
    assert result.verdict.root_cause == "none"
    assert result.stopped == "nothing left to probe"
    assert result.verdict.outcome == "healthy", result.verdict.unvouched


# ---- reading never crashes ----------------------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "meta",
        "components",
        "name",
        "version",
        "providers",
        "vars",
        "type",
        "depends",
        "on",
        "while",
        "healthy",
        "resource",
        "scenarios",
        "strict_types",
        "a",
        "b",
        "inject",
        "unknown",
        "expect",
        "root_cause",
        "path",
        "eliminated",
        "outcome",
        "rds",
        "available",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(
        [
            "deployment",
            "rds_instance",
            "kubernetes",
            "aws",
            "a",
            "b",
            "{env}",
            "x.y == 1",
            "ready_replicas >=",
            "e3",
            "0x_",
            "forbidden",
            "none",
            "failing",
            "2024-01-01",
            "on",
            "~",
        ]
    ),
)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=30,
)
_YAMLISH = st.lists(
    st.sampled_from(
        [
            *"ab:{}[]-, \n'\"&*!|>%@#?~",
            "on",
            "meta",
            "components",
            "type",
            "\n  ",
            "    ",
            "depends",
            "deployment",
            "providers: [kubernetes]",
            "healthy",
            "!!str",
            "!!int",
            "<<: *a",
            "&a",
        ]
    ),
    max_size=50,
).map("".join)
_TMP = Path(tempfile.mkdtemp(prefix="switchyard-fuzz-"))


def _dump(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True)


@SETTINGS
@given(st.one_of(_TREES.map(_dump), _YAMLISH, st.text(alphabet=string.printable, max_size=80)))
def test_read_model_raises_only_switchyard_errors(text):
    path = _TMP / "model.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        model = read_model(path, load_catalog(use_env=False))
    except SwitchyardError:
        return
    assert all(p.severity in ("error", "warning") and p.message for p in model.problems)


@SETTINGS
@given(st.one_of(_TREES.map(_dump), _YAMLISH))
def test_load_scenario_raises_only_switchyard_errors(text):
    path = _TMP / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        scenario = load_scenario(path, MODEL_OBJ)
    except SwitchyardError:
        return
    run_scenario(MODEL_OBJ, scenario)  # whatever loaded also runs
