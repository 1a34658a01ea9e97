"""The model's ``release:`` section checked against its JSON Schema (``release.schema.json`` beside
this module, shipped with the package and usable in editors), then against the model itself (the
migration's tier exists, the colours are paired). ``switchyard model validate`` reports the result
as errors naming the key, e.g. ``release.thresholds.p99: unknown key``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from switchyard.engine import yamlnodes as Y
from switchyard.engine.errors import Location
from switchyard.engine.model import Model, Problem
from switchyard.release.spec import release_spec

SCHEMA_PATH = Path(__file__).with_name("release.schema.json")


@cache
def release_schema() -> dict[str, Any]:
    """The schema of a model file's ``release:`` section (other top-level keys unconstrained)."""
    return json.loads(SCHEMA_PATH.read_text())


def release_problems(model: Model) -> list[Problem]:
    """Every problem of the model's ``release:`` section; none when the model has no section."""
    problems: list[Problem] = []
    found = False
    for path in model.files:
        try:
            root = Y.load_node(Path(path))
        except Exception:  # an unreadable file is already a problem of read_model
            continue
        section = Y.get(root, "release")
        if section is None:
            continue
        found = True
        validator = Draft202012Validator(release_schema())
        errors = sorted(
            validator.iter_errors({"release": Y.to_python(section)}), key=lambda e: list(e.absolute_path)
        )
        problems += [_problem(error, root, path) for error in errors]
    if found and not problems:
        try:
            release_spec(model)
        except ValueError as exc:
            problems.append(Problem("error", str(exc), Location(str(model.files[0]))))
    return problems


_SEE_SCHEMA = f"see the release: keys in {SCHEMA_PATH.name} (switchyard/release/)"


def _problem(error: ValidationError, root: yaml.Node, path: Path | str) -> Problem:
    keys = [str(k) for k in error.absolute_path]
    node = _node_at(root, list(error.absolute_path))
    where = Y.location(path, node) if node is not None else Location(str(path))
    subschema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        allowed = ", ".join(subschema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(subschema.get("properties", {})))
        for key in unknown:
            node = _node_at(root, [*error.absolute_path, key])
            where = Y.location(path, node) if node is not None else where
        name = ".".join([*keys, unknown[0]]) if len(unknown) == 1 else ".".join(keys)
        what = "unknown key" if len(unknown) == 1 else f"unknown keys {', '.join(unknown)}"
        return Problem("error", f"{name}: {what}", where, fix=f"expected one of: {allowed}")
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        properties = subschema.get("properties") or release_schema()["$defs"]["release"]["properties"]
        described = properties.get(missing, {}).get("description", "")
        when = " (switch: gateway_configmap needs it)" if missing == "gateway" else ""
        return Problem("error", f"{'.'.join([*keys, missing])} is required{when}", where, fix=described)
    return Problem(
        "error", f"{'.'.join(keys)}: {error.message}", where, fix=subschema.get("description", _SEE_SCHEMA)
    )


def _node_at(root: yaml.Node, keys: list[Any]) -> yaml.Node | None:
    node: yaml.Node | None = root
    for key in keys:
        if node is None:
            return None
        if isinstance(key, int) and Y.is_sequence(node):
            node = node.value[key] if key < len(node.value) else None
        elif Y.is_mapping(node):
            node = Y.get(node, str(key))
        else:
            return None
    return node
