"""The model's release: section has a JSON Schema, shipped in the package; `switchyard model validate`
checks a model against it and names the key of every problem, with the file position and a fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from switchyard.cli import main
from switchyard.release.loadtest import LoadTestSpec
from switchyard.release.schema import SCHEMA_PATH, release_schema
from switchyard.release.spec import ReleaseSpec

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "include" / "models" / "acme-shop.model.yaml"


def with_release(tmp_path: Path, release_yaml: str) -> Path:
    """acme-shop with its release: section replaced."""
    text = MODEL.read_text()
    head = text[: text.index("\nrelease:")]
    path = tmp_path / "app.model.yaml"
    path.write_text(f"{head}\nrelease:\n{release_yaml}")
    return path


def validate(capsys, path: Path) -> tuple[int, str, list[dict]]:
    code = main(["model", "validate", "--model", str(path)])
    out = capsys.readouterr().out
    main(["model", "validate", "--json", "--model", str(path)])
    problems = json.loads(capsys.readouterr().out)["problems"]
    return code, out, problems


def test_the_schema_is_valid_and_shipped_inside_the_package():
    Draft202012Validator.check_schema(release_schema())
    assert SCHEMA_PATH.parent == ROOT / "plugins" / "switchyard" / "release"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"*.json"' in pyproject  # package data: a non-editable install ships it too


def test_the_schema_documents_every_key_the_release_spec_reads():
    section = release_schema()["$defs"]["release"]
    assert set(section["properties"]) == {
        "image_repository",
        "switch",
        "gateway",
        "smoke",
        "migration",
        "thresholds",
        "shared",
        "namespace",
        "labels",
        "metrics",
        "restore_replicas",
        "load_test",
    }
    documented = []

    def walk(schema):
        for name, sub in schema.get("properties", {}).items():
            documented.append((name, bool(sub.get("description"))))
            walk(sub)

    walk(section)
    assert all(has for _, has in documented), [n for n, has in documented if not has]
    # the defaults the schema states are those ReleaseSpec applies
    assert section["properties"]["smoke"]["properties"]["port"]["default"] == ReleaseSpec.smoke_port
    thresholds = section["properties"]["thresholds"]["properties"]
    assert thresholds["error_ratio"]["default"] == ReleaseSpec.max_error_ratio
    assert thresholds["p99_seconds"]["default"] == ReleaseSpec.max_p99_seconds
    conventions = ReleaseSpec.conventions
    labels = section["properties"]["labels"]["properties"]
    assert (labels["colour"]["default"], labels["app"]["default"]) == (
        conventions.colour_label,
        conventions.app_label,
    )
    metrics = section["properties"]["metrics"]["properties"]
    assert (metrics["requests"]["default"], metrics["latency_bucket"]["default"]) == (
        conventions.requests_metric,
        conventions.latency_bucket_metric,
    )
    assert section["properties"]["restore_replicas"]["default"] == ReleaseSpec.restore_replicas
    load, default = section["properties"]["load_test"]["properties"], LoadTestSpec()
    assert (load["enabled"]["default"], load["rps"]["default"], load["seconds"]["default"]) == (
        default.enabled,
        default.rps,
        default.seconds,
    )
    assert load["min_samples"]["default"] == default.min_samples
    assert load["thresholds"]["properties"]["cpu_ratio"]["default"] == default.max_cpu_ratio
    assert load["thresholds"]["properties"]["memory_ratio"]["default"] == default.max_memory_ratio


def test_the_example_model_is_valid(capsys):
    code, _, problems = validate(capsys, MODEL)
    assert code == 0 and problems == []


@pytest.mark.parametrize(
    ("release_yaml", "message", "line"),
    [
        ("  thresholds:\n    p99: 5\n", "release.thresholds.p99: unknown key", 3),
        ("  smoke:\n    port: eighty\n", "release.smoke.port: 'eighty' is not of type 'integer'", 3),
        ("  smoke:\n    paths: [health]\n", "release.smoke.paths.0: 'health' does not match '^/'", 3),
        (
            "  switch: dns\n",
            "release.switch: 'dns' is not one of ['service_selector', 'gateway_configmap']",
            2,
        ),
        (
            "  switch: gateway_configmap\n",
            "release.gateway is required (switch: gateway_configmap needs it)",
            2,
        ),
        (
            "  thresholds: {error_ratio: 5}\n",
            "release.thresholds.error_ratio: 5 is greater than the maximum of 1",
            2,
        ),
        ("  migration: {command: [./migrate]}\n", "release.migration.from is required", 2),
        ("  load_test: {rps: 0}\n", "release.load_test.rps: 0 is less than or equal to the minimum of 0", 2),
        (
            "  migration: {from: acme-shop-php}\n",
            "release.migration.from 'acme-shop-php' is not a per-colour tier",
            0,
        ),
    ],
)
def test_a_wrong_release_section_is_an_error_naming_the_key(capsys, tmp_path, release_yaml, message, line):
    path = with_release(tmp_path, release_yaml)
    release_line = path.read_text().splitlines().index("release:") + 1

    code, out, problems = validate(capsys, path)

    assert code == 1
    assert len(problems) == 1, problems
    assert message in problems[0]["message"]
    assert message in out
    expected = f"{path}:{release_line + line - 1}" if line else str(path)
    assert problems[0]["location"].startswith(expected), problems[0]["location"]


def test_an_unknown_key_lists_the_known_ones(capsys, tmp_path):
    _, _, problems = validate(capsys, with_release(tmp_path, "  treshholds: {}\n"))
    assert (
        problems[0]["fix"]
        == "expected one of: image_repository, switch, gateway, smoke, migration, thresholds, shared, "
        "namespace, labels, metrics, restore_replicas, load_test"
    )


def test_a_type_error_quotes_the_keys_description(capsys, tmp_path):
    _, _, problems = validate(capsys, with_release(tmp_path, "  smoke: {port: 0}\n"))
    assert problems[0]["fix"].startswith("Port of the preview Service")


def test_a_model_without_a_release_section_is_not_checked_for_one(capsys, tmp_path):
    path = tmp_path / "plain.model.yaml"
    path.write_text(
        "meta: {name: t, version: '1', providers: [kubernetes]}\ncomponents:\n  a: {type: deployment}\n"
    )
    code, _, problems = validate(capsys, path)
    assert code == 0 and problems == []
