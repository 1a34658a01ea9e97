"""The rule language (spec §3): parse errors with columns, three-valued logic, comparisons."""

from __future__ import annotations

import pytest

from switchyard.engine.expr import EvalFailure, ExprSyntaxError, Unresolved, evaluate, parse
from switchyard.engine.facts import Fact, FactStore

FACTS = {
    "ready": 3,
    "desired": 5,
    "zero": 0,
    "up": True,
    "kind": "LoadBalancer",
    "numtext": "5",
    "booltext": "true",
    "ratio": 2.5,
    "label": "x",
}


@pytest.fixture
def store():
    facts = FactStore.from_mapping({"c": FACTS, "other": {"available": False}})
    facts.add(Fact("c", "secret", None, "forbidden"))
    facts.add(Fact("c", "slow", None, "transient"))
    facts.add(Fact("c", "gone", None, "not_found"))
    facts.add(Fact("c", "empty", None))
    return facts


def ev(store, source, states=None):
    result = evaluate(parse(source), "c", store, states)
    if result.error is not None:
        return result.error
    return result.value


@pytest.mark.parametrize(
    ("source", "column", "message"),
    [
        ("", 1, "empty rule"),
        ("ready >", 8, "expected a value after '>'"),
        ("ready", 6, "expected a comparison"),
        ("ready = 3", 7, "(use == for equality)"),
        ("ready == 3 desired", 12, "unexpected 'desired' after a complete rule"),
        ("(ready == 3", 12, "expected ')'"),
        ("ready == 3)", 11, "unexpected ')'"),
        ("== 3", 1, "expected a fact name, found '=='"),
        ("ready == 3 & ", 14, "unexpected end of rule"),
        ('kind == "Load', 9, "unterminated string literal"),
        ("ready == 3 # why", 12, "unexpected character '#'"),
        ("ready == 3 and and desired == 5", 16, "expected a fact name, found 'and'"),
        ("ready == == 3", 10, "expected a value after '=='"),
    ],
)
def test_parse_errors_point_at_the_column(source, column, message):
    with pytest.raises(ExprSyntaxError) as info:
        parse(source)
    assert info.value.column == column
    assert message in info.value.message


def test_operators_and_precedence(store):
    assert ev(store, "ready == 3 & desired == 5") is True
    assert ev(store, "ready == 3 && desired == 4") is False
    assert ev(store, "ready == 3 and desired == 4 or up == true") is True  # and binds tighter
    assert ev(store, "ready == 4 | ready == 3") is True
    assert ev(store, "ready == 4 || ready == 5") is False
    assert ev(store, "not ready == 3") is False
    assert ev(store, "!(ready == 4)") is True
    assert ev(store, "not (ready == 3 or up == false)") is False
    assert ev(store, "ready == 3 & (desired == 4 | up == true)") is True


@pytest.mark.parametrize("fact", ["secret", "slow", "gone", "empty", "never_seen"])
def test_unreadable_or_missing_fact_is_unresolved_never_false(store, fact):
    reason = {"secret": "forbidden", "slow": "transient", "gone": "not_found"}.get(fact, "missing")
    expected = Unresolved("c", fact, reason)
    assert ev(store, f"{fact} == true") == expected
    assert ev(store, f"{fact} != true") == expected
    assert ev(store, f"not {fact} == true") == expected  # not(unknown) is unknown
    assert ev(store, f"{fact} < 3") == expected


def test_three_valued_and_or(store):
    unknown = Unresolved("c", "secret", "forbidden")
    # a definite false decides an and; a definite true decides an or
    assert ev(store, "secret == true & ready == 4") is False
    assert ev(store, "ready == 4 & secret == true") is False
    assert ev(store, "secret == true | ready == 3") is True
    assert ev(store, "ready == 3 | secret == true") is True
    # otherwise the unknown survives
    assert ev(store, "secret == true & ready == 3") == unknown
    assert ev(store, "secret == true | ready == 4") == unknown
    # both unknown: the left one is reported
    assert ev(store, "secret == true & slow == true") == unknown
    assert ev(store, "slow == 1 | secret == true") == Unresolved("c", "slow", "transient")


def test_right_hand_fact_references(store):
    assert ev(store, "ready < desired") is True
    assert ev(store, "ready >= desired") is False
    assert ev(store, "ready < missing_fact") == Unresolved("c", "missing_fact", "missing")
    assert ev(store, "ready < secret") == Unresolved("c", "secret", "forbidden")
    assert ev(store, "ready < label") == Unresolved("c", "label", "type mismatch")
    assert ev(store, "ready < numtext") is True  # a numeric string fact still compares as a number


def test_numeric_comparisons(store):
    assert ev(store, "ready == 3.0") is True
    assert ev(store, "ratio >= 2.5") is True
    assert ev(store, "ratio < 1e3") is True
    assert ev(store, "zero > -1") is True
    assert ev(store, 'ready == "3"') is True  # numeric literal text compares as a number
    assert ev(store, "ready == true") == Unresolved("c", "ready", "type mismatch")


def test_boolean_comparisons(store):
    assert ev(store, "up == true") is True
    assert ev(store, "up != false") is True
    assert ev(store, 'up == "true"') is True
    assert ev(store, "booltext == true") is True
    assert ev(store, "up == 1") == Unresolved("c", "up", "type mismatch")
    assert isinstance(ev(store, "up < true"), EvalFailure)  # no ordering on booleans


def test_string_comparisons(store):
    assert ev(store, "kind == LoadBalancer") is True
    assert ev(store, 'kind == "LoadBalancer"') is True
    assert ev(store, "kind != ClusterIP") is True
    assert isinstance(ev(store, "kind < ClusterIP"), EvalFailure)
    assert ev(store, "numtext == 5") is True  # numeric string vs numeric literal: numbers
    assert ev(store, "numtext < 10") is True
    assert ev(store, "label == 5") is False  # non-numeric string: compared as text


def test_other_component_facts(store):
    assert ev(store, "other.available == false") is True
    assert ev(store, "nobody.available == true") == Unresolved("nobody", "available", "missing")


def test_state_comparisons():
    states = {"c": "live", "other": "stopped"}.get
    store = FactStore()
    assert evaluate(parse("state == live"), "c", store, states).true
    assert evaluate(parse("other.state != live"), "c", store, states).true
    assert evaluate(parse("state == live"), "c", store, None).error == Unresolved("c", "state", "missing")
    assert isinstance(evaluate(parse("state < live"), "c", store, states).error, EvalFailure)


def test_uncomparable_fact_values_are_errors_not_crashes():
    store = FactStore.from_mapping({"c": {"items": [1, 2], "when": {"a": 1}}})
    assert isinstance(evaluate(parse("items == 1"), "c", store).error, EvalFailure)
    assert isinstance(evaluate(parse("when > 1"), "c", store).error, EvalFailure)


def test_rule_lists_its_comparisons():
    rule = parse("ready < desired & (up == true | not kind == LoadBalancer)")
    assert [(c.component, c.fact, c.op, c.literal) for c in rule.comparisons()] == [
        (None, "ready", "<", "desired"),
        (None, "up", "==", True),
        (None, "kind", "==", "LoadBalancer"),
    ]
    assert parse('x.kind == "42"').comparisons()[0].literal == "42"  # quoted: no inference
    assert parse("x.kind == 42").comparisons()[0].literal == 42
