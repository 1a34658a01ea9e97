"""The three PATCH formats of the Kubernetes API: JSON merge, strategic merge and JSON patch.

Strategic merge is implemented for the lists the release DAGs and kubectl touch (containers, env,
ports, volumes, volumeMounts, conditions, imagePullSecrets): list items are merged by their merge
key instead of the whole list being replaced. The directives kubectl sends (``$patch``,
``$setElementOrder/...``, ``$retainKeys``, ``$deleteFromPrimitiveList/...``) are honoured or, for
the ordering ones, dropped.
"""

from __future__ import annotations

import copy
from typing import Any

from switchyard.localenv.errors import ApiError

# List field name → the key that identifies an item (``patchMergeKey`` in the Kubernetes types).
_MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "env": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "conditions": ("type",),
    "ports": ("containerPort", "port"),  # container ports vs service ports
    "hostAliases": ("ip",),
}
# Lists of scalars merged as sets (``patchStrategy:"merge"`` on primitives).
_MERGE_PRIMITIVE_LISTS = {"finalizers"}


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if key.startswith("$"):  # $setElementOrder/..., $retainKeys: ordering hints, not data
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and key in _MERGE_KEYS and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, _MERGE_KEYS[key])
        elif isinstance(value, list) and key in _MERGE_PRIMITIVE_LISTS:
            merged = list(result.get(key) or [])
            merged += [v for v in value if v not in merged]
            result[key] = merged
        elif isinstance(value, dict):
            merged_value = strategic_merge_patch(result.get(key), value)
            if merged_value is None:
                result.pop(key, None)
            else:
                result[key] = merged_value
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_list(current: list[Any], patch: list[Any], keys: tuple[str, ...]) -> list[Any]:
    if not all(isinstance(item, dict) for item in current + patch):
        return copy.deepcopy(patch)
    key = next((k for k in keys if any(k in item for item in current + patch)), None)
    if key is None:
        return copy.deepcopy(patch)
    if any(item.get("$patch") == "replace" for item in patch):
        return [copy.deepcopy(i) for i in patch if i.get("$patch") != "replace"]
    result = [copy.deepcopy(item) for item in current]
    for item in patch:
        index = next((i for i, existing in enumerate(result) if existing.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append(strategic_merge_patch({}, item))
        else:
            result[index] = strategic_merge_patch(result[index], item)
    return result


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 (add, remove, replace, move, copy, test)."""
    if not isinstance(operations, list):
        raise ApiError.bad_request("json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        kind, path = op.get("op"), op.get("path", "")
        if kind in ("add", "replace"):
            doc = _put(doc, path, copy.deepcopy(op.get("value")), insert=kind == "add")
        elif kind == "remove":
            doc, _ = _take(doc, path)
        elif kind in ("move", "copy"):
            if kind == "move":
                doc, value = _take(doc, op.get("from", ""))
            else:
                value = copy.deepcopy(_get(doc, op.get("from", "")))
            doc = _put(doc, path, value, insert=True)
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise ApiError(
                    422,
                    "Invalid",
                    f"the server rejected our request due to an error in our "
                    f"request: testing value {path} failed",
                )
        else:
            raise ApiError.bad_request(f"unexpected json patch operation {kind!r}")
    return doc


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError.bad_request(f"invalid json pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError) as exc:
            raise ApiError(
                422, "Invalid", f"the server rejected our request: path /{'/'.join(parts)} does not exist"
            ) from exc
    return node


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    node = _parent(doc, parts)
    try:
        return node[int(parts[-1])] if isinstance(node, list) else node[parts[-1]]
    except (KeyError, IndexError, ValueError) as exc:
        raise ApiError(
            422, "Invalid", f"the server rejected our request: path {path} does not exist"
        ) from exc


def _put(doc: Any, path: str, value: Any, insert: bool) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    node = _parent(doc, parts)
    last = parts[-1]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if insert:
            node.insert(index, value)
        else:
            node[index] = value
    elif isinstance(node, dict):
        if not insert and last not in node:
            raise ApiError(
                422,
                "Invalid",
                f"the server rejected our request: replace operation does not "
                f"apply: doc is missing key: {path}",
            )
        node[last] = value
    else:
        raise ApiError(422, "Invalid", f"the server rejected our request: path {path} is not a container")
    return doc


def _take(doc: Any, path: str) -> tuple[Any, Any]:
    parts = _pointer(path)
    node = _parent(doc, parts)
    try:
        value = node.pop(int(parts[-1])) if isinstance(node, list) else node.pop(parts[-1])
    except (KeyError, IndexError, ValueError) as exc:
        raise ApiError(
            422,
            "Invalid",
            f"the server rejected our request: remove operation does not apply: doc is missing path: {path}",
        ) from exc
    return doc, value


PATCHERS = {
    "application/merge-patch+json": json_merge_patch,
    "application/strategic-merge-patch+json": strategic_merge_patch,
    "application/json-patch+json": json_patch,
    # Server-side apply is approximated by a strategic merge (ownership is not tracked).
    "application/apply-patch+yaml": strategic_merge_patch,
}


def apply_patch(content_type: str, target: dict[str, Any], patch: Any) -> dict[str, Any]:
    media = content_type.split(";")[0].strip().lower()
    patcher = PATCHERS.get(media)
    if patcher is None:
        raise ApiError.unsupported_media_type(media)
    result = patcher(target, patch)
    if not isinstance(result, dict):
        raise ApiError.bad_request("patch did not produce an object")
    return result
