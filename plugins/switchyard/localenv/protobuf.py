"""Kubernetes protobuf request bodies, decoded into the JSON form the rest of the emulator uses.

kubectl 1.32 (client-go's typed clients) sends ``application/vnd.kubernetes.protobuf`` bodies on its
typed create paths (``kubectl create namespace|configmap|secret|deployment|job|service...``) and does
*not* retry as JSON when the server answers 415, so the emulator decodes them. The wire format is
plain protobuf inside the ``k8s\\0`` + ``runtime.Unknown`` envelope; the message schemas (field number →
JSON name and type) come from the descriptors generated with the Kubernetes API types, kept in
``k8s-proto-schema.json`` next to this file. Regenerate it from a kubectl binary (which embeds the
gzipped ``FileDescriptorProto`` of every API group) with::

    python -m switchyard.localenv.protobuf /usr/bin/kubectl

The decoder needs no protobuf library: the schema generator bootstraps the descriptor format itself.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import struct
import sys
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from switchyard.localenv.errors import ApiError

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
SCHEMA_PATH = Path(__file__).with_name("k8s-proto-schema.json")
_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
# Field types of FieldDescriptorProto.Type that are read as varints, and how.
_VARINT_TYPES = {3, 4, 5, 8, 13, 14, 17, 18}
_FIXED64 = {1: "<d", 6: "<Q", 16: "<q"}
_FIXED32 = {2: "<f", 7: "<I", 15: "<i"}
_MESSAGE, _BYTES, _STRING = 11, 12, 9


# ----------------------------------------------------------------------------- wire format
def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ValueError("varint too long")


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """``(field number, wire type, raw value)`` in order; length-delimited values stay bytes."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
            if len(value) != length:
                raise ValueError("truncated field")
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _scalar(ftype: int, wire: int, raw: Any) -> list[Any]:
    """One scalar (or, for packed repeated fields, several)."""
    if wire == 2 and ftype not in (_STRING, _BYTES, _MESSAGE):  # packed
        values, pos = [], 0
        while pos < len(raw):
            if ftype in _VARINT_TYPES:
                value, pos = _varint(raw, pos)
                values.append(_signed(ftype, value))
            else:
                fmt = _FIXED64.get(ftype) or _FIXED32[ftype]
                size = struct.calcsize(fmt)
                values.append(struct.unpack(fmt, raw[pos : pos + size])[0])
                pos += size
        return values
    if ftype in _VARINT_TYPES:
        return [_signed(ftype, raw)]
    if ftype in _FIXED64 or ftype in _FIXED32:
        return [struct.unpack(_FIXED64.get(ftype) or _FIXED32[ftype], raw)[0]]
    if ftype == _STRING:
        return [raw.decode("utf-8")]
    if ftype == _BYTES:
        return [base64.b64encode(raw).decode()]
    raise ValueError(f"unsupported field type {ftype}")


def _signed(ftype: int, value: int) -> Any:
    if ftype == 8:
        return bool(value)
    if ftype in (17, 18):  # zigzag
        return (value >> 1) ^ -(value & 1)
    if ftype in (3, 5) and value >= 1 << 63:
        return value - (1 << 64)
    return value


# ----------------------------------------------------------------------------- schema-driven decoding
@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


# Go structs embedded with ``json:",inline"`` are a nested message in protobuf but flat in JSON.
_INLINE = {
    ("localObjectReference", "LocalObjectReference"),
    ("volumeSource", "VolumeSource"),
    ("persistentVolumeSource", "PersistentVolumeSource"),
    ("handler", "ProbeHandler"),
    ("ephemeralContainerCommon", "EphemeralContainerCommon"),
    ("ingressRuleValue", "IngressRuleValue"),
}


def is_inline(field: list[Any]) -> bool:
    return (field[0], field[3].rsplit(".", 1)[-1]) in _INLINE


@cache
def json_fields(type_name: str) -> dict[str, list[Any]]:
    """The JSON field names of a message (embedded structs flattened) → ``[name, type, repeated, ref]``."""
    result: dict[str, list[Any]] = {}
    for field in (schema().get(type_name) or {"fields": {}})["fields"].values():
        if field[1] == _MESSAGE and is_inline(field):
            result.update(json_fields(field[3]))
        else:
            result[field[0]] = field
    return result


def decode_message(type_name: str, data: bytes) -> Any:
    """A message as its Kubernetes JSON form (empty strings, lists and maps and zero times left out,
    as Go's ``omitempty`` does)."""
    special = _SPECIAL.get(type_name)
    messages = schema()
    message = messages.get(type_name)
    if message is None:
        raise ValueError(f"no protobuf schema for {type_name}")
    result: dict[str, Any] = {}
    for number, wire, raw in _fields(data):
        field = message["fields"].get(str(number))
        if field is None:
            continue  # unknown fields are dropped, as the API server's decoder does
        name, ftype, repeated, ref = field
        if ftype == _MESSAGE:
            entry = messages.get(ref, {})
            if entry.get("map"):
                pair = decode_message(ref, raw)
                result.setdefault(name, {})[pair.get("key", "")] = pair.get("value", "")
                continue
            if is_inline(field):
                result.update(decode_message(ref, raw))
                continue
            values = [decode_message(ref, raw)]
        else:
            values = _scalar(ftype, wire, raw)
        if repeated:
            result.setdefault(name, []).extend(values)
        else:
            result[name] = values[-1]
    if special is not None:
        return special(result)
    if message.get("map"):
        return result
    return {
        k: v
        for k, v in result.items()
        if v not in ("", None, [], {}) and (k in _ZERO_MEANS_SOMETHING or (v is not False and v != 0))
    }


# The wire format cannot tell an unset field from a zero one (Go's non-pointer fields are always
# sent); zeros are dropped like ``omitempty`` except in these pointer fields, where 0/false is a choice.
_ZERO_MEANS_SOMETHING = frozenset(
    {
        "replicas",
        "backoffLimit",
        "parallelism",
        "completions",
        "ttlSecondsAfterFinished",
        "terminationGracePeriodSeconds",
        "activeDeadlineSeconds",
        "revisionHistoryLimit",
        "runAsUser",
        "runAsGroup",
        "fsGroup",
        "defaultMode",
        "automountServiceAccountToken",
        "allowPrivilegeEscalation",
        "readOnlyRootFilesystem",
        "runAsNonRoot",
        "privileged",
        "optional",
        "immutable",
        "allowed",
        "denied",
    }
)


def _time(value: dict[str, Any]) -> str | None:
    seconds, nanos = int(value.get("seconds", 0)), int(value.get("nanos", 0))
    if not seconds and not nanos:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    if nanos:
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _raw_json(value: dict[str, Any]) -> Any:
    raw = value.get("raw") or value.get("Raw")
    return json.loads(base64.b64decode(raw)) if raw else None


_SPECIAL: dict[str, Any] = {
    f"{_META}.Time": _time,
    f"{_META}.MicroTime": _time,
    f"{_META}.Duration": lambda v: f"{int(v.get('duration', 0)) / 1e9:g}s",
    f"{_META}.FieldsV1": _raw_json,
    "k8s.io.apimachinery.pkg.runtime.RawExtension": _raw_json,
    "k8s.io.apimachinery.pkg.api.resource.Quantity": lambda v: v.get("string", "0"),
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": lambda v: (
        v.get("strVal", "") if int(v.get("type", 0)) == 1 else int(v.get("intVal", 0))
    ),
}


LEAF_TYPES = frozenset(_SPECIAL)  # messages whose JSON form is a scalar (time, quantity, int-or-string...)


def proto_type(api_version: str, kind: str) -> str:
    """``apps/v1`` + ``Deployment`` → ``k8s.io.api.apps.v1.Deployment`` (meta types where they live)."""
    group, _, version = api_version.rpartition("/")
    candidates = [
        f"k8s.io.api.{group.split('.')[0] if group else 'core'}.{version}.{kind}",
        f"{_META}.{kind}",
    ]
    for candidate in candidates:
        if candidate in schema():
            return candidate
    raise ValueError(f"no protobuf schema for {api_version} {kind}")


def decode(body: bytes) -> dict[str, Any]:
    """A whole request body (``k8s\\0`` + ``runtime.Unknown``) as a JSON object; 400 if malformed."""
    if not body.startswith(MAGIC):
        raise ApiError.bad_request(
            "the protobuf body of the request does not start with the Kubernetes magic number k8s\\x00"
        )
    try:
        envelope = {n: raw for n, _, raw in _fields(body[len(MAGIC) :])}
        type_meta = {n: raw.decode() for n, _, raw in _fields(envelope.get(1, b""))}
        api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
        obj = decode_message(proto_type(api_version, kind), envelope.get(2, b""))
    except (ValueError, UnicodeDecodeError, struct.error, json.JSONDecodeError) as exc:
        raise ApiError.bad_request(f"the protobuf body of the request could not be decoded: {exc}") from exc
    return {"apiVersion": api_version, "kind": kind, **obj}


# ----------------------------------------------------------------------------- schema generation
_WANTED = re.compile(
    rb"k8s\.io/(api/(core|apps|batch|networking|coordination|discovery|authorization|"
    rb"authentication|autoscaling|rbac|policy|events)/v1|apimachinery/pkg/[a-z/0-9]+)/generated\.proto"
)


def _descriptor_messages(descriptor: bytes) -> dict[str, Any]:
    """Messages of one ``FileDescriptorProto``: ``{full name: {"map": bool, "fields": {...}}}``."""
    top = _fields(descriptor)
    package = next((raw.decode() for n, _, raw in top if n == 2), "")
    messages: dict[str, Any] = {}

    def walk(prefix: str, data: bytes) -> None:
        parts = _fields(data)
        name = prefix + "." + next(raw.decode() for n, _, raw in parts if n == 1)
        fields: dict[str, Any] = {}
        is_map = False
        for number, _, raw in parts:
            if number == 2:  # FieldDescriptorProto: name 1, number 3, label 4, type 5, type_name 6
                f = {n: v for n, _, v in _fields(raw)}
                fields[str(f[3])] = [f[1].decode(), f[5], f.get(4) == 3, f.get(6, b"").decode().lstrip(".")]
            elif number == 3:
                walk(name, raw)
            elif number == 7:  # MessageOptions.map_entry = 7
                is_map = any(n == 7 and v for n, _, v in _fields(raw))
        messages[name] = {"map": is_map, "fields": fields} if is_map else {"fields": fields}

    for number, _, raw in top:
        if number == 4:
            walk(package, raw)
    return messages


def generate_schema(binary: Path) -> dict[str, Any]:
    """Scan a Go binary for the gzipped descriptors of the Kubernetes API types."""
    data = binary.read_bytes()
    messages: dict[str, Any] = {}
    for match in re.finditer(rb"\x1f\x8b\x08\x00\x00\x00\x00\x00", data):
        try:
            descriptor = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(
                data[match.start() : match.start() + 400_000]
            )
        except zlib.error:
            continue
        if descriptor[:1] != b"\n" or not _WANTED.fullmatch(descriptor[2 : 2 + descriptor[1]]):
            continue
        messages.update(_descriptor_messages(descriptor))
    return dict(sorted(messages.items()))


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/kubectl").resolve()
    generated = generate_schema(source)
    SCHEMA_PATH.write_text(
        "{\n"
        + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in generated.items())
        + "\n}\n"
    )
    print(f"{len(generated)} messages from {source} → {SCHEMA_PATH}")
