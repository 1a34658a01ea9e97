"""Every validation error, on a small malformed model: file and line, component, message and fix.

Rule S4: validation never crashes; read_model collects problems, load_model raises ModelError.
"""

from __future__ import annotations

import pytest

from switchyard.engine.catalog import load_catalog
from switchyard.engine.errors import ModelError, YamlError
from switchyard.engine.model import find_cycle, load_model, read_model
from switchyard.engine.report import validation_report

from .conftest import MODEL

HEAD = 'meta: {name: t, version: "1", providers: [kubernetes, aws]}\ncomponents:\n'


def _errors(model):
    return [p for p in model.problems if p.severity == "error"]


def _only_error(model):
    errors = _errors(model)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def _model(write, body: str, name: str = "m.yaml"):
    return read_model(write(name, HEAD + body), load_catalog(use_env=False))


def test_acme_shop_is_valid_with_twenty_components(acme):
    model = read_model(MODEL, load_catalog(use_env=False))
    assert model.problems == []
    assert len(model.components) == 20
    report = validation_report(model)
    assert report.splitlines()[0] == "  ✓ cloudflare                1 dependency valid"
    assert "  ✓ opensearch                healthy override valid" in report
    assert "  ✓ media-bucket              resolved" in report
    assert report.splitlines()[-1] == "  20 components · 0 errors · 0 warnings"


def test_unknown_dependency_suggests_the_closest_name(write):
    model = _model(
        write,
        """\
  web:
    type: deployment
    depends:
      - on: databse
  database:
    type: rds_instance
""",
    )
    error = _only_error(model)
    assert error.message == 'depends on unknown component "databse"'
    assert error.component == "web"
    assert (error.location.file.endswith("m.yaml"), error.location.line) == (True, 6)
    assert error.fix == 'did you mean "database"?'
    assert 'did you mean "database"?' in validation_report(model)


def test_unknown_dependency_without_a_close_name_says_how_to_declare_it(write):
    error = _only_error(_model(write, "  web:\n    type: deployment\n    depends: [{on: zzzzzzzzzz}]\n"))
    assert error.fix == "declare it under components:"


@pytest.mark.parametrize(
    ("body", "cycle"),
    [
        (
            "  a: {type: deployment, depends: [{on: b}]}\n  b: {type: deployment, depends: [{on: a}]}\n",
            "a → b → a",
        ),
        (
            "  x: {type: deployment, depends: [{on: a}]}\n"
            "  a: {type: deployment, depends: [{on: b}]}\n"
            "  b: {type: deployment, depends: [{on: c}]}\n"
            "  c: {type: deployment, depends: [{on: a}]}\n",
            "a → b → c → a",
        ),
        ("  a: {type: deployment, depends: [{on: a}]}\n", "a → a"),
    ],
)
def test_dependency_cycle(write, body, cycle):
    model = _model(write, body)
    error = _only_error(model)
    assert error.message == f"circular dependency detected: {cycle}"
    assert error.component is None  # one global error
    assert error.location.line >= 3
    assert "remove one of these edges" in error.fix
    assert f"  ✗ circular dependency detected: {cycle}" in validation_report(model)
    assert find_cycle(model) == cycle.split(" → ")
    with pytest.raises(ModelError, match="circular dependency detected"):
        load_model(model.files[0], load_catalog(use_env=False))


def test_duplicate_yaml_key_is_one_error_with_its_line(write):
    model = _model(write, "  a:\n    type: deployment\n  a:\n    type: service\n")
    error = _only_error(model)  # no cascade of "meta.name is required"
    assert error.message == "mapping key 'a' already defined at line 3 — remove or rename one of them"
    assert error.location.file.endswith("m.yaml") and error.location.line == 5
    assert error.fix == "correct the YAML"


def test_duplicate_key_inside_a_component(write):
    error = _only_error(_model(write, "  a:\n    type: deployment\n    type: service\n"))
    assert "mapping key 'type' already defined at line 4" in error.message
    assert error.location.line == 5


def test_duplicate_component_across_the_files_of_a_split_model(write, tmp_path):
    write("model/a.yaml", HEAD + "  web:\n    type: deployment\n    depends: [{on: db}]\n")
    write("model/b.yaml", "components:\n  db:\n    type: rds_instance\n  web:\n    type: service\n")
    model = read_model(tmp_path / "model", load_catalog(use_env=False))
    error = _only_error(model)
    assert error.component == "web"
    assert error.message.startswith("duplicate component key 'web', first defined at ")
    assert error.message.endswith("a.yaml:3:3")
    assert error.location.file.endswith("b.yaml") and error.location.line == 4
    assert error.fix == "rename one of them or remove the copy"
    assert model.components["web"].type == "deployment"  # the first definition is kept


def test_meta_defined_in_two_files_is_an_error(write, tmp_path):
    write("model/a.yaml", HEAD + "  web: {type: deployment}\n")
    write("model/b.yaml", HEAD + "  db: {type: rds_instance}\n")
    error = _only_error(read_model(tmp_path / "model", load_catalog(use_env=False)))
    assert error.message.startswith("meta: is defined again in ")
    assert error.fix == "keep meta: in one file of a split model"


def test_unknown_type_names_the_component_and_the_known_types(write):
    model = _model(write, "  api:\n    type: deploymnet\n")
    error = _only_error(model)
    assert error.component == "api"
    assert error.location.line == 3
    known = load_catalog(use_env=False).known_type_names()
    assert error.message == f"unknown type 'deploymnet'; known types: {', '.join(known)}"
    for name in ("deployment", "rds_instance", "cdn", "business_process", "ssm_parameter"):
        assert name in error.message
    assert error.fix == 'did you mean "deployment"?'


def test_a_type_of_a_provider_the_model_does_not_list(write):
    path = write("m.yaml", 'meta: {name: t, version: "1"}\ncomponents:\n  api:\n    type: deployment\n')
    error = _only_error(read_model(path, load_catalog(use_env=False)))
    assert (
        error.message
        == "type 'deployment' is declared by provider kubernetes, but the component has no providers to look in"
    )
    assert error.fix == "add kubernetes to meta.providers, or write type: kubernetes.deployment"
    path = write(
        "n.yaml",
        'meta: {name: t, version: "1"}\ncomponents:\n  db:\n    type: rds_instance\n    providers: [kubernetes]\n',
    )
    error = _only_error(read_model(path, load_catalog(use_env=False)))
    assert "looks only in its providers: (kubernetes)" in error.message
    assert error.fix == "add aws to the component's providers:, or write type: aws.rds_instance"


def test_dotted_type_names_its_provider(write):
    path = write("m.yaml", 'meta: {name: t, version: "1"}\ncomponents:\n  db: {type: aws.rds_instance}\n')
    model = read_model(path, load_catalog(use_env=False))
    assert model.problems == []
    assert model.components["db"].type_def.qualified_name == "aws.rds_instance"


def test_component_without_type(write):
    error = _only_error(_model(write, "  api:\n    resource: x\n"))
    assert error.message == 'component "api" has no type'
    assert error.component == "api" and error.location.line == 3
    assert error.fix.startswith("add type:")


@pytest.mark.parametrize(
    ("rule", "column", "text"),
    [
        ("ready_replicas >= = 1", 19, "expected a value after '>=', found '='"),
        ("ready_replicas = 1", 16, "found '=' (use == for equality)"),
        ("(ready_replicas == 1", 21, "expected ')'"),
        ("ready_replicas == 1 desired_replicas", 21, "unexpected 'desired_replicas'"),
        ('ready_replicas == "1', 19, "unterminated string literal"),
        ("ready_replicas == 1 ; restart_count < 5", 21, "unexpected character ';'"),
    ],
)
def test_unparsable_healthy_rule_reports_the_column(write, rule, column, text):
    model = _model(write, f"  api:\n    type: deployment\n    healthy:\n      - '{rule}'\n")
    error = _only_error(model)
    assert error.component == "api"
    assert error.location.line == 6
    assert f"healthy rule {rule!r} does not parse at column {column}: " in error.message
    assert text in error.message
    assert "ready_replicas >= 1" in error.fix


def test_unparsable_while_rule(write):
    body = "  api:\n    type: deployment\n    depends:\n      - on: db\n        while: 'db.available =='\n  db: {type: rds_instance}\n"
    error = _only_error(_model(write, body))
    assert error.component == "api" and error.location.line == 7
    assert error.message.startswith(
        "while rule 'db.available ==' does not parse at column 16: expected a value after '=='"
    )


def test_unknown_fact_in_healthy_rules_including_the_right_hand_side(write):
    model = _model(
        write,
        """\
  api:
    type: deployment
    healthy:
      - ready_replicas < desred_replicas
      - redy_replicas >= 1
      - ready_replicas >= 1
""",
    )
    errors = _errors(model)
    assert [(e.component, e.location.line) for e in errors] == [("api", 6), ("api", 7)]
    assert (
        errors[0].message
        == "healthy rule 'ready_replicas < desred_replicas': type 'deployment' has no fact 'desred_replicas'"
    )
    assert errors[0].fix.startswith(
        'did you mean "desired_replicas"? facts: ready_replicas, desired_replicas'
    )
    assert errors[1].message.endswith("has no fact 'redy_replicas'")
    assert errors[1].fix.startswith('did you mean "ready_replicas"?')


def test_string_literal_on_the_right_is_not_a_fact(write):
    """`type == LoadBalancer` compares a string fact: the right side is a value, not a fact name."""
    model = _model(
        write, "  svc:\n    type: service\n    healthy: ['type == LoadBalancer', 'endpoint_count > \"3\"']\n"
    )
    assert _errors(model) == []


def test_unknown_fact_and_component_in_while_rules(write):
    model = _model(
        write,
        """\
  api:
    type: deployment
    depends:
      - on: db
        while: "db.avail == true"
      - on: db
        while: "dbb.available == true"
  db:
    type: rds_instance
""",
    )
    errors = _errors(model)
    assert [(e.component, e.location.line) for e in errors] == [("api", 6), ("api", 8)]  # the entries
    assert errors[0].message == "while rule 'db.avail == true': type 'rds_instance' has no fact 'avail'"
    assert errors[0].fix == "facts: available, connection_count"
    assert errors[1].message == "while rule 'dbb.available == true' names unknown component 'dbb'"
    assert errors[1].fix == 'did you mean "db"?'


def test_undefined_var_in_resource(write):
    path = write(
        "m.yaml",
        """\
meta: {name: t, version: "1", providers: [aws], vars: {env: stage}}
components:
  db:
    type: rds_instance
    resource: acme-{env}-{region}-{zone}
  cache:
    type: elasticache_cluster
    resource: cache-{region}
    vars: {region: eu-central-1}
""",
    )
    model = read_model(path, load_catalog(use_env=False))
    db, cache = _errors(model)
    assert (db.component, db.location.line) == ("db", 5)
    assert db.message == "resource: undefined var(s) region, zone in 'acme-{env}-{region}-{zone}'"
    assert db.fix == "define region, zone under meta.vars"
    assert cache.fix == "resource templates read meta.vars only; move region to meta.vars"


def test_resource_templating_from_meta_vars(acme):
    assert acme.components["rds"].resource == "acme-shop-stage-rds"
    assert acme.components["external-secrets"].vars["namespace"] == "external-secrets"
    assert acme.components["rds"].vars["namespace"] == "default"


def test_bare_string_dependency(write):
    error = _only_error(
        _model(write, "  api:\n    type: deployment\n    depends:\n      - db\n  db: {type: rds_instance}\n")
    )
    assert error.message == "dependency 'db' is a bare string"
    assert (error.component, error.location.line) == ("api", 6)
    assert error.fix == "write `- on: db`"


def test_healthy_as_a_bare_string(write):
    error = _only_error(_model(write, "  api:\n    type: deployment\n    healthy: ready_replicas >= 1\n"))
    assert error.message == "healthy must be a list of rules, not a single string"
    assert (error.component, error.location.line) == ("api", 5)
    assert error.fix == "write healthy: ['ready_replicas >= 1']"


def test_dependency_without_target_and_depends_not_a_list(write):
    model = _model(
        write,
        "  a:\n    type: deployment\n    depends: [{while: 'x == 1'}]\n  b:\n    type: deployment\n    depends: {on: a}\n",
    )
    errors = _errors(model)
    assert [(e.component, e.message) for e in errors] == [
        ("a", "dependency without on: target"),
        ("b", "depends must be a list of {on: <component>} entries"),
    ]


@pytest.mark.parametrize(
    ("meta", "missing"),
    [
        ("meta: {version: '1'}", ["meta.name is required"]),
        ("meta: {name: t}", ["meta.version is required"]),
        ("meta: {name: '', version: ''}", ["meta.name is required", "meta.version is required"]),
        ("other: 1", ["meta.name is required", "meta.version is required"]),
    ],
)
def test_missing_meta_name_or_version(write, meta, missing):
    path = write("m.yaml", f"{meta}\ncomponents:\n  a: {{type: cdn}}\n")
    errors = _errors(read_model(path, load_catalog(use_env=False)))
    assert [e.message for e in errors] == missing
    assert all(e.location.file.endswith("m.yaml") for e in errors)
    assert all(e.fix for e in errors if e.message == missing[0])


def test_unknown_component_key_is_a_warning(write):
    model = _model(write, "  a:\n    type: deployment\n    depends_on: [b]\n")
    (warning,) = model.warnings
    assert (
        warning.message == "unknown key 'depends_on' is ignored (dependencies are written depends: [{on: x}])"
    )
    assert warning.location.line == 5
    assert _errors(model) == []


def test_load_model_raises_with_the_first_problem_and_a_count(write):
    path = write("m.yaml", HEAD + "  a: {type: deploymnet}\n  b: {type: deployment, depends: [{on: c}]}\n")
    with pytest.raises(ModelError) as info:
        load_model(path, load_catalog(use_env=False))
    assert "unknown type 'deploymnet'" in str(info.value)
    assert "(and 1 more; run `model validate`)" in str(info.value)
    assert len(info.value.problems) == 2


def test_missing_model_file_raises_a_yaml_error(tmp_path):
    with pytest.raises(YamlError, match="no such file"):
        read_model(tmp_path / "nope.yaml")


def test_report_lists_every_error_of_a_component_with_its_fix(write):
    model = _model(
        write,
        "  api:\n    type: deployment\n    depends: [db, {on: dbx}]\n    healthy: x\n  db: {type: rds_instance}\n",
    )
    report = validation_report(model)
    lines = report.splitlines()
    assert lines[0].startswith("  ✗ api  dependency 'db' is a bare string")
    assert sum(line.startswith("  ✗") for line in lines) == 3
    assert lines[-1] == "  2 components · 3 errors · 0 warnings"
