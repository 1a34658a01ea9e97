"""Kubernetes label and field selectors, as the API server parses them.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x,y)``, ``a`` (exists),
``!a`` (does not exist), comma-separated and ANDed. Field selectors: ``path=value``,
``path==value``, ``path!=value`` on any dotted field of the object (``metadata.name``,
``metadata.namespace``, ``status.phase``, ``spec.nodeName`` ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from switchyard.localenv.errors import ApiError

Matcher = Callable[[Mapping[str, str]], bool]

_SET_RE = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s+(in|notin)\s+\((.*?)\)\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*$")


def _split_requirements(selector: str) -> list[str]:
    """Split on commas that are not inside a ``(...)`` value set."""
    parts, depth, current = [], 0, []
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _requirement(text: str) -> Matcher:
    if m := _SET_RE.match(text):
        bang, key, op, values = m.groups()
        if bang:
            raise ApiError.bad_request(f"unable to parse requirement: {text!r}")
        allowed = {v.strip() for v in values.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in allowed
        return lambda labels: labels.get(key) not in allowed
    if m := _EQ_RE.match(text):
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _EXISTS_RE.match(text):
        bang, key = m.groups()
        if bang:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise ApiError.bad_request(f"unable to parse requirement: {text!r}")


def parse_label_selector(selector: str | None) -> Matcher:
    """Compile a label selector string; an empty selector matches everything."""
    if not selector or not selector.strip():
        return lambda labels: True
    requirements = [_requirement(part) for part in _split_requirements(selector)]
    return lambda labels: all(req(labels) for req in requirements)


def match_label_selector(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """A structured ``LabelSelector`` (``matchLabels`` + ``matchExpressions``), as in Deployments."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), set(expr.get("values") or [])
        if op == "In":
            ok = labels.get(key) in values
        elif op == "NotIn":
            ok = labels.get(key) not in values
        elif op in ("Exists", "DoesNotExist"):
            ok = (key in labels) == (op == "Exists")
        else:
            ok = False
        if not ok:
            return False
    return True


def label_selector_string(selector: Mapping[str, Any]) -> str:
    """The string form of ``matchLabels`` (what the scale subresource reports as ``status.selector``)."""
    return ",".join(f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items()))


def field_value(obj: Mapping[str, Any], path: str) -> str | None:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return None if current is None else str(current)


def parse_field_selector(selector: str | None) -> Callable[[Mapping[str, Any]], bool]:
    """Compile a field selector string; an empty selector matches everything."""
    if not selector or not selector.strip():
        return lambda obj: True
    checks = []
    for part in selector.split(","):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise ApiError.bad_request(f"invalid field selector: {part!r}")
        path, op, value = m.groups()
        if op == "!=":
            checks.append(lambda obj, p=path, v=value: (field_value(obj, p) or "") != v)
        else:
            checks.append(lambda obj, p=path, v=value: (field_value(obj, p) or "") == v)
    return lambda obj: all(check(obj) for check in checks)
