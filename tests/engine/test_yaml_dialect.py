"""YAML 1.2-style scalars (spec §1.1): PyYAML's 1.1 resolver must not leak into models or scenarios."""

from __future__ import annotations

import datetime
import math

import pytest

from switchyard.engine import yamlnodes as Y
from switchyard.engine.catalog import load_catalog
from switchyard.engine.errors import YamlError
from switchyard.engine.model import read_model
from switchyard.engine.scenarios import load_scenario


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("True", True),
        ("FALSE", False),
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("42", 42),
        ("+3", 3),
        ("-7", -7),
        ("017", 15),
        ("-017", -15),
        ("0o17", 15),
        ("0x1F", 31),
        ("0b101", 5),
        ("1_000", 1000),
        ("1e3", 1000.0),
        ("2.0", 2.0),
        ("-0.5", -0.5),
        ("09", 9.0),
        ("1_0.5", 10.5),
        (".5", 0.5),
        ("~", None),
        ("null", None),
        ("", None),
        ("12:30", "12:30"),
        ("LoadBalancer", "LoadBalancer"),
        # words that only look numeric: strings, never a crash
        ("e3", "e3"),
        ("E5", "E5"),
        (".e3", ".e3"),
        ("0x_", "0x_"),
        ("0o_", "0o_"),
        ("0b_", "0b_"),
        ("1.2.3", "1.2.3"),
        ("5e", "5e"),
    ],
)
def test_plain_scalar_resolution(text, value):
    got = Y.resolve_plain_scalar(text)
    assert got == value and type(got) is type(value)


def test_infinities_nan_and_dates():
    assert Y.resolve_plain_scalar(".inf") == math.inf
    assert Y.resolve_plain_scalar("-.inf") == -math.inf
    assert math.isnan(Y.resolve_plain_scalar(".nan"))
    assert Y.resolve_plain_scalar("2024-01-01") == datetime.date(2024, 1, 1)
    assert Y.resolve_plain_scalar("2024-13-01") == "2024-13-01"


def test_document_values_keys_and_quoting(write):
    node = Y.load_node(
        write(
            "d.yaml",
            """
            on: yes
            off: [no, on, 017, 0o17, 0x1F, 1_000, 1e3, "5", '017', 1.0]
            nested: {y: n, n: ~}
            """,
        )
    )
    data = Y.to_python(node)
    assert list(data) == ["on", "off", "nested"]  # `on` stays a string key
    assert data["on"] == "yes"
    assert data["off"] == ["no", "on", 15, 15, 31, 1000, 1000.0, "5", "017", 1.0]
    assert data["nested"] == {"y": "n", "n": None}


def test_explicit_tags_are_resolved(write):
    data = Y.to_python(Y.load_node(write("t.yaml", "a: !!int '7'\nb: !!str 7\nc: !!bool 'true'\n")))
    assert data == {"a": 7, "b": "7", "c": True}


def test_depends_on_key_survives_in_a_model_both_styles(write):
    path = write(
        "m.yaml",
        """
        meta: {name: t, version: 1.0, providers: [kubernetes], vars: {port: 8080, flag: on}}
        components:
          web:
            type: deployment
            depends:
              - on: api
          api:
            type: deployment
            depends: [{on: [db, cache]}]
          db: {type: deployment}
          cache: {type: deployment}
        """,
    )
    model = read_model(path, load_catalog(use_env=False))
    assert model.problems == []
    assert model.version == "1.0"  # literal text, not the float 1.0 → "1.0" by accident of repr
    assert model.vars == {"port": "8080", "flag": "on"}
    assert model.components["web"].depends_on == ["api"]
    assert model.components["api"].depends_on == ["db", "cache"]


def test_version_literal_text_is_kept(write):
    for literal, text in (("1.0", "1.0"), ("1.10", "1.10"), ("2", "2"), ('"1.0"', "1.0"), ("017", "017")):
        path = write("v.yaml", f"meta: {{name: t, version: {literal}}}\ncomponents: {{}}\n")
        assert read_model(path, load_catalog(use_env=False)).version == text


def test_duplicate_keys_are_an_error_with_both_lines(write):
    with pytest.raises(YamlError) as info:
        Y.load_node(write("d.yaml", "a: 1\nb:\n  c: 1\n  c: 2\n"))
    assert info.value.location.line == 4
    assert "mapping key 'c' already defined at line 3" in str(info.value)
    assert str(info.value).startswith(str(info.value.location.file))


def test_invalid_yaml_reports_its_position(write):
    with pytest.raises(YamlError) as info:
        Y.load_node(write("bad.yaml", "a: [1, 2\nb: 3\n"))
    assert info.value.location.line >= 2
    assert "invalid YAML" in info.value.detail


def test_scenario_values_are_normalised(write, acme):
    path = write(
        "s.yaml",
        """
        name: t
        inject:
          rds: {available: yes, connection_count: 2.0}
          acme-shop-svc: {type: e5, endpoint_count: 0x10}
        expect: {root_cause: none}
        """,
    )
    scenario = load_scenario(path, acme)
    assert scenario.inject["rds"] == {"available": "yes", "connection_count": 2}
    assert type(scenario.inject["rds"]["connection_count"]) is int  # 2.0 → 2, as the reference
    assert scenario.inject["acme-shop-svc"] == {"type": "e5", "endpoint_count": 16}


def test_a_file_changed_since_it_was_read_is_composed_again(tmp_path):
    """Composed trees are kept by text (a model is read twice per parse); an edit of the same
    length, made within the file system's timestamp granularity, is still seen."""
    path = tmp_path / "m.yaml"
    path.write_text("a: 1\n")
    first = Y.load_node(path)
    assert Y.load_node(path) is first  # unchanged: not composed again
    path.write_text("a: 2\n")
    assert Y.to_python(Y.load_node(path)) == {"a": 2}
