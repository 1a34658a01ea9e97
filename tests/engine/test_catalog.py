"""The type catalog: the shipped types as the spec describes them, and user extensions without code."""

from __future__ import annotations

import pytest

from switchyard.cli import main
from switchyard.engine.catalog import load_catalog
from switchyard.engine.errors import CatalogError
from switchyard.engine.model import load_model, read_model

INLINE_MANIFEST = """
meta: {name: acme-internal, version: 0.1.0, description: in-house services}
types:
  feature_flags:
    description: the feature-flag service
    facts:
      reachable: {type: mgtt.bool}
      stale_flags: {type: mgtt.int}
    healthy: reachable == true
    states:
      live: {when: "reachable == true"}
      down: {when: "reachable == false"}
    default_active_state: live
    failure_modes:
      down: {can_cause: [upstream_failure]}
"""

FOLDER_MANIFEST = "meta: {name: payments, version: 2.0.0, description: payment provider}\n"
PSP_TYPE = """
facts:
  reachable: {type: mgtt.bool}
  error_rate: {type: mgtt.percentage}
healthy: [reachable == true, error_rate < 5]
states:
  live: {when: "reachable == true"}
  unreachable: {when: "reachable == false"}
default_active_state: live
failure_modes:
  unreachable: {can_cause: [upstream_failure, 5xx_errors]}
"""

MODEL = """
meta:
  name: shop
  version: "2"
  providers: [mgt-tool/kubernetes@^3.0.0, acme/acme-internal@0.1.0]
components:
  web:
    type: deployment
    depends: [{on: flags}, {on: psp}]
  flags:
    type: feature_flags
  psp:
    type: psp_gateway
    providers: [payments]
    healthy: [error_rate < 2]
"""


@pytest.fixture
def providers(write, tmp_path):
    write("types/inline/manifest.yaml", INLINE_MANIFEST)
    write("types/folder/manifest.yaml", FOLDER_MANIFEST)
    write("types/folder/types/psp_gateway.yaml", PSP_TYPE)
    return tmp_path / "types"


@pytest.fixture
def model_file(write):
    return write("shop.model.yaml", MODEL)


# ---- the shipped catalog (spec Part 2 §2.4) ---------------------------------------------------


def _type(name):
    return load_catalog(use_env=False).resolve(["kubernetes", "aws"], name)


@pytest.mark.parametrize(
    ("name", "states", "default", "healthy"),
    [
        (
            "ingress",
            ["no_backends", "no_address", "live"],
            "live",
            ["address_assigned == true", "backend_count > 0"],
        ),
        ("service", ["no_endpoints", "pending_lb", "live"], "live", ["endpoint_count > 0"]),
        (
            "deployment",
            ["crashed", "rollout_stuck", "rolling", "degraded", "scaled_to_zero", "live"],
            "live",
            ["ready_replicas == desired_replicas", "condition_available == true", "restart_count < 5"],
        ),
        (
            "operator",
            ["crd_missing", "not_running", "degraded", "ready"],
            "ready",
            ["deployment_ready == true", "crd_registered == true"],
        ),
        ("rds_instance", ["live", "stopped"], "live", ["available == true", "connection_count < 500"]),
        ("elasticache_cluster", ["live", "stopped"], "live", ["available == true", "cache_hit_ratio > 80"]),
        (
            "mq_broker",
            ["live", "stopped"],
            "live",
            ["available == true", "queue_depth < 10000", "consumer_count > 0"],
        ),
        ("s3_bucket", ["live", "inaccessible"], "live", ["accessible == true"]),
        (
            "cloudfront_distribution",
            ["live", "disabled", "deploying"],
            "live",
            ["deployed == true", "enabled == true", "error_rate_5xx < 1"],
        ),
        ("ssm_parameter", ["present", "absent"], "present", ["exists == true"]),
        ("cdn", ["live", "stopped"], "live", []),
        ("business_process", ["live", "stopped"], "live", []),
        ("component", ["live", "stopped"], "live", []),
    ],
)
def test_shipped_types_match_the_spec(name, states, default, healthy):
    t = _type(name)
    assert [s.name for s in t.states] == states  # order is semantic: the first true state wins
    assert t.default_state == default
    assert [r.source for r in t.healthy] == healthy
    assert all(s.when is not None for s in t.states)


def test_generic_types_are_person_observed():
    for name in ("cdn", "business_process", "component"):
        t = _type(name)
        assert t.provider == "generic"
        assert list(t.facts) == ["operator_says_healthy"]
        assert t.failure_modes == {"stopped": ["upstream_failure"]}


# ---- user extensions --------------------------------------------------------------------------


def test_without_the_user_types_the_model_lists_every_known_type(model_file):
    model = read_model(model_file, load_catalog(use_env=False))
    errors = {p.component: p for p in model.errors}
    assert set(errors) == {"flags", "psp"}
    known = load_catalog(use_env=False).known_type_names()
    assert errors["flags"].message == f"unknown type 'feature_flags'; known types: {', '.join(known)}"
    assert errors["flags"].fix == "add the type with --types DIR"
    (warning,) = model.warnings
    assert warning.message == "provider 'acme/acme-internal@0.1.0' is not in the type catalog"


def test_types_from_directories_resolve_through_model_providers(providers, model_file):
    catalog = load_catalog([providers / "inline", providers / "folder"], use_env=False)
    model = load_model(model_file, catalog)
    assert model.problems == []
    flags, psp = model.components["flags"].type_def, model.components["psp"].type_def
    assert flags.qualified_name == "acme-internal.feature_flags"
    assert flags.source.name == "manifest.yaml"
    assert psp.qualified_name == "payments.psp_gateway"
    assert psp.source.name == "psp_gateway.yaml"
    assert [r.source for r in model.components["psp"].healthy_rules] == ["error_rate < 2"]  # override
    assert [r.source for r in flags.healthy] == ["reachable == true"]  # a single string is a list of one


def test_a_parent_directory_of_providers_works_too(providers, model_file):
    catalog = load_catalog([providers], use_env=False)
    assert {"acme-internal", "payments", "kubernetes", "aws", "generic"} <= set(catalog.providers)
    assert load_model(model_file, catalog).problems == []


def test_switchyard_types_environment_variable(providers, model_file, monkeypatch):
    monkeypatch.setenv("SWITCHYARD_TYPES", f"{providers / 'inline'}:{providers / 'folder'}")
    assert load_model(model_file, load_catalog()).problems == []
    assert read_model(model_file, load_catalog(use_env=False)).errors  # the variable is what did it


def test_provider_scoping_of_types(providers, write):
    """psp_gateway is only in `payments`: a component looking in other providers does not see it."""
    catalog = load_catalog([providers], use_env=False)
    path = write(
        "m.yaml",
        "meta: {name: t, version: '1', providers: [kubernetes]}\ncomponents:\n  psp: {type: psp_gateway}\n",
    )
    (error,) = read_model(path, catalog).errors
    assert "declared by provider payments" in error.message
    path = write(
        "n.yaml", "meta: {name: t, version: '1'}\ncomponents:\n  psp: {type: payments.psp_gateway}\n"
    )
    assert read_model(path, catalog).problems == []


def test_a_typo_in_a_user_type_lists_the_user_types_too(providers, write):
    catalog = load_catalog([providers], use_env=False)
    path = write(
        "m.yaml",
        "meta: {name: t, version: '1', providers: [payments]}\ncomponents:\n  psp: {type: psp_gatewy}\n",
    )
    (error,) = read_model(path, catalog).errors
    assert error.component == "psp"
    assert "unknown type 'psp_gatewy'; known types: " in error.message
    assert (
        "feature_flags" in error.message and "psp_gateway" in error.message and "deployment" in error.message
    )
    assert error.fix == 'did you mean "psp_gateway"?'


def test_user_types_simulate(providers, model_file, write):
    catalog = load_catalog([providers], use_env=False)
    model = load_model(model_file, catalog)
    from switchyard.engine.scenarios import load_scenario
    from switchyard.engine.simulate import run_scenario

    scenario = write(
        "s.yaml",
        """
        name: psp errors over the component's bound
        inject:
          web: {ready_replicas: 2, desired_replicas: 2, condition_available: true, restart_count: 0}
          flags: {reachable: true}
          psp: {reachable: true, error_rate: 3.5}
        expect: {root_cause: psp, path: [web, psp], eliminated: [flags], outcome: failing}
        """,
    )
    result = run_scenario(model, load_scenario(scenario, model), strict=True)
    assert result.passed, result.as_dict()


def test_a_provider_named_like_a_builtin_extends_it(write, tmp_path):
    write(
        "k8s/manifest.yaml",
        "meta: {name: kubernetes, version: 9.0.0, description: extra}\n"
        "types:\n  cronjob:\n    facts: {last_success_age_seconds: {type: mgtt.int}}\n"
        "    states: {live: {when: 'last_success_age_seconds < 3600'}}\n    default_active_state: live\n",
    )
    catalog = load_catalog([tmp_path / "k8s"], use_env=False)
    assert catalog.resolve(["kubernetes"], "cronjob") is not None
    assert catalog.resolve(["kubernetes"], "deployment") is not None  # the shipped types stay


def test_cli_types_flag_and_environment(providers, model_file, capsys, monkeypatch):
    assert main(["model", "validate", "--model", str(model_file)]) == 1
    assert "unknown type 'feature_flags'" in capsys.readouterr().out
    args = ["model", "validate", "--model", str(model_file)]
    assert main([*args, "--types", str(providers / "inline"), "--types", str(providers / "folder")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "  3 components · 0 errors · 0 warnings"
    monkeypatch.setenv("SWITCHYARD_TYPES", str(providers))
    assert main(args) == 0


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "holds no provider"),
        (
            {"p/manifest.yaml": "meta: {name: Bad_Name, version: 1, description: x}\n"},
            "is not a provider name",
        ),
        (
            {
                "p/manifest.yaml": "meta: {name: p, version: 1, description: x}\ntypes:\n  t: {states: {a: {when: 'x == 1'}}, default_active_state: b}\n"
            },
            "default_active_state 'b' is not one of its states",
        ),
        (
            {
                "p/manifest.yaml": "meta: {name: p, version: 1, description: x}\ntypes:\n  t: {healthy: ['x =='], states: {}}\n"
            },
            "rule 'x ==' column 5",
        ),
    ],
)
def test_malformed_type_directories_are_catalog_errors(write, tmp_path, files, message):
    (tmp_path / "types").mkdir()
    for name, text in files.items():
        write(f"types/{name}", text)
    with pytest.raises(CatalogError, match=message):
        load_catalog([tmp_path / "types"], use_env=False)


def test_cli_missing_types_directory_is_bad_input(tmp_path, capsys):
    from .conftest import MODEL as ACME

    code = main(["model", "validate", "--model", str(ACME), "--types", str(tmp_path / "nope")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: types directory ") and err.count("\n") == 1


def _numeric_bounds(rule):
    """(fact, op, number) for each comparison of a fact with a number literal in a rule."""
    return [
        (c.fact, c.op, c.literal)
        for c in rule.comparisons()
        if c.component is None and isinstance(c.literal, int | float) and not isinstance(c.literal, bool)
    ]


_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def test_no_type_leaves_a_gap_between_a_healthy_bound_and_a_state_bound():
    """Issue 14 #3: when a state's threshold is meant to capture a healthy rule's failing side (they
    agree somewhere), they must agree at every boundary value — `restart_count < 5` healthy with
    `crashed: restart_count > 5` left exactly 5 restarts neither healthy nor crashed."""
    gaps, checked = [], 0
    catalog = load_catalog(use_env=False)
    for provider in catalog.providers.values():
        for type_def in provider.types.values():
            for healthy in type_def.healthy:
                for fact, h_op, h_lit in _numeric_bounds(healthy):
                    for state in type_def.states:
                        if state.when is None:
                            continue
                        for s_fact, s_op, s_lit in _numeric_bounds(state.when):
                            if s_fact != fact:
                                continue
                            # counts, ratios and percentages: never negative
                            points = sorted({v + d for v in (h_lit, s_lit) for d in (-1, 0, 1)} - {-1})
                            failing = [not _OPS[h_op](v, h_lit) for v in points]
                            in_state = [_OPS[s_op](v, s_lit) for v in points]
                            if not any(f and s for f, s in zip(failing, in_state, strict=True)):
                                continue  # the state is about something else
                            checked += 1
                            for value, f, s in zip(points, failing, in_state, strict=True):
                                if f != s:
                                    gaps.append(
                                        f"{provider.name}.{type_def.name}: {fact}={value} is "
                                        f"{'failing' if f else 'healthy'} by `{healthy.source}` but "
                                        f"{'in' if s else 'not in'} state {state.name} (`{state.when.source}`)"
                                    )
    assert checked >= 1  # the deployment's restart bound at least
    assert gaps == []


def test_exactly_five_restarts_with_pods_missing_is_crashed():
    from switchyard.engine.facts import FactStore
    from switchyard.engine.reasoning import conclude

    acme = load_model("include/models/acme-shop.model.yaml", load_catalog(use_env=False))
    facts = FactStore.from_mapping(
        {"acme-shop-cron": {"ready_replicas": 0, "desired_replicas": 1, "restart_count": 5}}
    )
    assert conclude(acme, facts).states["acme-shop-cron"] == "crashed"
