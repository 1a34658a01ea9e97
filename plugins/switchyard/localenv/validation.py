"""What the API server refuses beyond names and required fields: label syntax, immutable fields,
unknown fields and field selectors it does not index.

Unknown fields are found with the Kubernetes protobuf schema (``k8s-proto-schema.json``: its field
names are the JSON names), so every field of the real API types is known without a hand-kept list.
``fieldValidation`` works as on a real server: ``Strict`` refuses an unknown field with 400,
``Warn`` (the default) and ``Ignore`` drop it, ``Warn`` with a warning.
"""

from __future__ import annotations

import re
from typing import Any

from switchyard.localenv import protobuf
from switchyard.localenv.errors import ApiError
from switchyard.localenv.resources import ResourceType

Obj = dict[str, Any]
Cause = tuple[str, Any, str]

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',"
    "  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
_LABEL_NAME_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)

# Field selectors each resource indexes (besides metadata.name and metadata.namespace), as the API server.
SELECTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.podIPs",
        "status.nominatedNodeName",
    ),
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
    "Node": ("spec.unschedulable",),
    "Job": ("status.successful",),
    "ReplicaSet": ("status.replicas",),
    "Service": ("spec.clusterIP", "spec.type"),
}


def check_field_selector(rt: ResourceType, selector: str | None) -> None:
    """400 for a field selector on a field the resource does not index (a real server refuses it)."""
    if not selector:
        return
    allowed = {"metadata.name", "metadata.namespace", *SELECTABLE_FIELDS.get(rt.kind, ())}
    for part in selector.split(","):
        field = re.split(r"!=|==|=", part, maxsplit=1)[0].strip()
        if field and field not in allowed:
            # kubectl prefixes 'Unable to find "/v1, Resource=pods" that match ...' itself.
            raise ApiError.bad_request(f"field label not supported: {field}")


def label_causes(labels: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for key, value in (labels or {}).items() if isinstance(labels, dict) else ():
        prefix, _, name = str(key).rpartition("/")
        if not _LABEL_NAME.match(name) or len(name) > 63:
            causes.append((path, str(key), _LABEL_NAME_RULE))
        elif prefix and not _DNS1123_SUBDOMAIN.match(prefix):
            causes.append(
                (
                    path,
                    str(key),
                    "prefix part a lowercase RFC 1123 subdomain must consist of lower case "
                    "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                    "character",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append((path, str(value), _LABEL_VALUE_RULE))
    return causes


def labels_causes(rt: ResourceType, obj: Obj) -> list[Cause]:
    """Label keys and values of the object, its pod template and its selector."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    causes = label_causes((obj.get("metadata") or {}).get("labels"), "metadata.labels")
    if rt.kind in ("Deployment", "Job", "ReplicaSet"):
        template = spec.get("template") or {}
        causes += label_causes((template.get("metadata") or {}).get("labels"), "spec.template.labels")
        causes += label_causes((spec.get("selector") or {}).get("matchLabels"), "spec.selector.matchLabels")
    if rt.kind == "Service":
        causes += label_causes(spec.get("selector"), "spec.selector")
    return causes


def immutable_causes(rt: ResourceType, current: Obj, updated: Obj) -> list[Cause]:
    """Fields a real API server refuses to change after create."""
    old, new = current.get("spec") or {}, updated.get("spec") or {}
    causes: list[Cause] = []
    if rt.kind in ("Deployment", "ReplicaSet") and new.get("selector") != old.get("selector"):
        causes.append(("spec.selector", new.get("selector"), "field is immutable"))
    if rt.kind == "Job":
        if new.get("selector") != old.get("selector"):
            causes.append(("spec.selector", new.get("selector"), "field is immutable"))
        if new.get("template") != old.get("template"):
            causes.append(("spec.template", new.get("template"), "field is immutable"))
        if new.get("completions") != old.get("completions"):
            causes.append(("spec.completions", str(new.get("completions")), "field is immutable"))
    if rt.kind == "Service" and old.get("clusterIP") not in (None, "", "None"):
        wanted = new.get("clusterIP")
        if wanted not in (None, "") and wanted != old["clusterIP"]:
            causes.append(("spec.clusterIPs[0]", [wanted], "may not change once set"))
    if (
        rt.kind in ("Secret", "ConfigMap")
        and current.get("immutable")
        and any(updated.get(k) != current.get(k) for k in ("data", "stringData", "binaryData"))
    ):
        causes.append(("data", "", "field is immutable when `immutable` is set"))
    return causes


# --------------------------------------------------------------------------- unknown fields
def unknown_fields(rt: ResourceType, obj: Obj, prune: bool) -> list[str]:
    """Paths of fields the resource's schema does not have (``spec.template.spec.containers[0].imagee``);
    with ``prune`` they are removed from ``obj``. Kinds without a protobuf schema (CRDs) are not checked."""
    try:
        type_name = protobuf.proto_type(rt.api_version, rt.kind)
    except ValueError:
        return []
    found: list[str] = []
    _walk(type_name, obj, "", found, prune, top=True)
    return found


def _walk(type_name: str, value: Any, path: str, found: list[str], prune: bool, top: bool = False) -> None:
    schema = protobuf.schema()
    message = schema.get(type_name)
    if message is None or type_name in protobuf.LEAF_TYPES or not isinstance(value, dict):
        return
    fields = protobuf.json_fields(type_name)
    for key in list(value):
        field = fields.get(key)
        if field is None:
            if top and key in ("apiVersion", "kind"):
                continue
            found.append(f"{path}{key}")
            if prune:
                del value[key]
            continue
        _, ftype, repeated, ref = field
        if ftype != 11:
            continue
        child = value[key]
        entry = schema.get(ref) or {}
        if entry.get("map"):
            value_field = next((f for f in entry["fields"].values() if f[0] == "value"), None)
            if value_field and value_field[1] == 11 and isinstance(child, dict):
                for k, v in child.items():
                    _walk(value_field[3], v, f"{path}{key}[{k}].", found, prune)
            continue
        if repeated and isinstance(child, list):
            for i, item in enumerate(child):
                _walk(ref, item, f"{path}{key}[{i}].", found, prune)
        else:
            _walk(ref, child, f"{path}{key}.", found, prune)


def apply_field_validation(
    rt: ResourceType, obj: Obj, mode: str | None, warnings: list[str] | None, verb: str = "creating"
) -> None:
    """``fieldValidation``: Strict → 400 naming the fields; Warn (default) / Ignore → drop them."""
    mode = (mode or "Warn").capitalize()
    if mode not in ("Strict", "Warn", "Ignore"):
        raise ApiError.bad_request(f"fieldValidation must be one of Ignore, Warn or Strict, got {mode!r}")
    unknown = unknown_fields(rt, obj, prune=mode != "Strict")
    if not unknown:
        return
    listed = ", ".join(f'unknown field "{p}"' for p in unknown)
    if mode == "Strict":
        raise ApiError.bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
            f"strict decoding error: {listed}"
        )
    if mode == "Warn" and warnings is not None:
        warnings.extend(f'unknown field "{p}"' for p in unknown)
