"""YAML reading with the scalar rules of the reference engine (YAML 1.2 style).

PyYAML's default resolver is YAML 1.1: it turns the key ``on`` (in every ``depends:`` entry) into
``True`` and ``yes/no/off`` into booleans. We compose the node tree with no implicit resolvers and
resolve plain scalars ourselves, so ``on`` stays a string and positions stay available for errors.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from switchyard.engine.errors import Location, YamlError

# libyaml's parser when PyYAML was built with it (about 10× faster), else the pure-Python one.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# Untagged plain scalars get a private tag, resolved later by our own rules; an explicit `!!str 7`
# keeps the standard str tag and stays the text "7".
_PLAIN_TAG = "tag:switchyard,2026:plain"


class _PlainLoader(_BaseLoader):
    """A loader whose untagged plain scalars compose as ``_PLAIN_TAG`` nodes (resolved later)."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN_TAG
        return super().resolve(kind, value, implicit)


_PlainLoader.yaml_implicit_resolvers = {}

_TYPED_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null")}
_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_OCT_LEGACY_RE = re.compile(r"^[-+]?0[0-7_]+$")
_OCT_RE = re.compile(r"^[-+]?0o_*[0-7][0-7_]*$")
_HEX_RE = re.compile(r"^[-+]?0x_*[0-9a-fA-F][0-9a-fA-F_]*$")
_BIN_RE = re.compile(r"^[-+]?0b_*[01][01_]*$")
# The mantissa needs a digit: `e3`, `E5` or `.e3` are words (an instance class), not numbers.
_FLOAT_RE = re.compile(r"^[-+]?([0-9][0-9_]*(\.[0-9_]*)?|\.[0-9_]*[0-9][0-9_]*)([eE][-+]?[0-9]+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def resolve_plain_scalar(text: str) -> Any:
    """Value of an unquoted scalar, following the reference decoder's table (spec §1.1)."""
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if _INT_RE.match(text):
        return int(text.replace("_", ""))
    if _OCT_LEGACY_RE.match(text):
        return sign * int(body.replace("_", ""), 8)
    if _OCT_RE.match(text):
        return sign * int(body[2:].replace("_", ""), 8)
    if _HEX_RE.match(text):
        return sign * int(body[2:].replace("_", ""), 16)
    if _BIN_RE.match(text):
        return sign * int(body[2:].replace("_", ""), 2)
    lowered = body.lower()
    if lowered in (".inf", "inf") and body.startswith("."):
        return sign * math.inf
    if lowered == ".nan":
        return math.nan
    if _FLOAT_RE.match(text):
        return float(text.replace("_", ""))
    if _DATE_RE.match(text):
        try:
            return _dt.date.fromisoformat(text)
        except ValueError:
            return text
    return text


# Bounds on what a model, scenario, type file or release section may be (issue 14): real files are
# a few KB with nesting under 10 levels; hostile ones must end in one line, quickly, in little memory.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64  # nested collections (libyaml's composer recurses in C and segfaults at ~30,000)
MAX_NODES = 100_000  # nodes after alias expansion (a 476-byte alias bomb expands to billions)


class InputRefused(YamlError):
    """A file refused before or while parsing because it exceeds a bound or is not a file at all.

    Unlike a YAML syntax error, it is not a problem ``model validate`` lists among others: every
    command stops on it with one line (exit 2).
    """


def read_text(path: Path, what: str = "YAML file") -> str:
    """A file's text, refused when it is not a regular file, too large, or not UTF-8."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise YamlError(f"{path}: no such file") from None
    except OSError as exc:  # a symlink loop, a path through a file, permissions
        raise InputRefused(f"{path}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise YamlError(f"{path}: is a directory, expected a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise InputRefused(f"{path}: not a regular file (a device, pipe or socket), expected a {what}")
    if info.st_size > MAX_FILE_BYTES:
        raise InputRefused(
            f"{path}: {info.st_size:,} bytes is over the {MAX_FILE_BYTES:,}-byte limit for a {what}"
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # the file may grow between stat and read
    except OSError as exc:
        raise InputRefused(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise InputRefused(f"{path}: over the {MAX_FILE_BYTES:,}-byte limit for a {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(f"{path}: not UTF-8 text ({exc.reason})") from None


# Composed trees by file and text: a model file is read more than once in one process (the model,
# then its release: section, at DAG parse and again in a task), and composing is most of a read.
# The file is still read (and bounded) every time; only an unchanged text is not composed again.
# Trees are never changed once composed (readers convert them, they do not edit them).
_NODES: dict[tuple[str, str], yaml.Node | None] = {}
_NODES_KEPT = 64
_NODES_TEXT_MAX = 256 * 1024  # larger files are composed every time (the cache stays small)


def load_node(path: Path) -> yaml.Node | None:
    """Compose one YAML document into a node tree; duplicate mapping keys are an error.

    Composed here, iteratively from the parser's events, rather than by ``yaml.compose``: libyaml's
    composer recurses in C (30,000 nested ``[`` crash the process) and aliases expand without bound
    when the tree is converted. Depth and expanded size are checked as the events arrive, so a
    hostile file is refused after reading no more than the bound. A file read before and not
    changed since is not composed again (``_NODES``).
    """
    text = read_text(path)
    key = (str(path), text)
    if key in _NODES:
        return _NODES[key]
    node = _compose_file(path, text)
    if len(text) > _NODES_TEXT_MAX:
        return node
    if len(_NODES) >= _NODES_KEPT:
        _NODES.pop(next(iter(_NODES)))  # the oldest
    _NODES[key] = node
    return node


def _compose_file(path: Path, text: str) -> yaml.Node | None:
    try:
        node = compose_bounded(text, str(path))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = Location(str(path), mark.line + 1, mark.column + 1) if mark else Location(str(path))
        raise YamlError(
            f"{where}: invalid YAML: {exc.problem}", where, f"invalid YAML: {exc.problem}"
        ) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"{path}: invalid YAML: {exc}") from None
    if node is not None:
        _check_duplicate_keys(node, path)
    return node


def compose_bounded(text: str, name: str = "<text>") -> yaml.Node | None:
    """``yaml.compose`` with our scalar tags, bounded depth and bounded size after alias expansion.

    When a cheap upper bound on the nesting shows libyaml's recursive composer is safe (every real
    file), it composes in C and the tree is checked afterwards; otherwise the events are composed
    here, iteratively, refusing at the first level too deep.
    """
    if _nesting_bound(text) <= _SAFE_FOR_C:
        node = yaml.compose(text, Loader=_PlainLoader)
        if node is not None:
            _check_tree(node, name)
        return node
    loader = _PlainLoader(text)
    try:
        return _compose_events(loader, name)
    finally:
        loader.dispose()


_SAFE_FOR_C = 500  # libyaml's composer recurses once per level; it crashes in the tens of thousands


def _nesting_bound(text: str) -> int:
    """An upper bound on how deeply collections nest: each flow level needs a bracket, each block
    level more indentation or a compact indicator ('- ', '? ', ': ') on the same line."""
    flow = text.count("[") + text.count("{")
    if flow > _SAFE_FOR_C:
        return flow
    block = 0
    for line in text.splitlines():
        body = line.lstrip(" ")
        block = max(block, len(line) - len(body) + body.count("- ") + body.count("? ") + body.count(": ") + 1)
    return flow + block


def _check_tree(root: yaml.Node, name: str) -> None:
    """Depth and expanded size of a composed tree (aliases are shared nodes, maybe cyclic)."""
    height: dict[int, int] = {}
    size: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            height[key], size[key] = 0, 1
            continue
        children = (
            [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        )
        if done:
            active.discard(key)
            height[key] = 1 + max((height[id(c)] for c in children), default=0)
            size[key] = 1 + sum(size[id(c)] for c in children)
            if height[key] > MAX_DEPTH:
                raise _refuse_at(name, node, f"YAML nested deeper than {MAX_DEPTH} levels")
            if size[key] > MAX_NODES:
                raise _refuse_at(name, node, f"more than {MAX_NODES:,} YAML nodes once aliases are expanded")
            continue
        if key in height:
            continue
        if key in active:
            raise _refuse_at(name, node, "recursive alias (a node that contains itself)")
        active.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in active and not isinstance(child, yaml.ScalarNode):
                raise _refuse_at(name, child, "recursive alias (a node that contains itself)")
            if id(child) not in height:
                stack.append((child, False))


def _refuse_at(name: str, node: yaml.Node, detail: str) -> InputRefused:
    mark = node.start_mark
    where = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name)
    return InputRefused(f"{where}: {detail}", where, detail)


def _refuse(name: str, event: yaml.Event, detail: str) -> InputRefused:
    mark = event.start_mark
    where = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name)
    return InputRefused(f"{where}: {detail}", where, detail)


def _compose_events(loader, name: str) -> yaml.Node | None:
    loader.get_event()  # StreamStart
    if loader.check_event(yaml.StreamEndEvent):
        loader.get_event()
        return None
    loader.get_event()  # DocumentStart
    anchors: dict[str, yaml.Node] = {}
    sizes: dict[int, int] = {}  # id(node) → nodes it stands for once expanded
    open_anchors: set[str] = set()
    # Each frame: [node, anchor, pending mapping key or _NO_KEY, expanded size so far]
    stack: list[list] = []
    total = 0
    root: yaml.Node | None = None

    def attach(node: yaml.Node, size: int, new: int) -> None:
        """Hang ``node`` (``size`` nodes once expanded, ``new`` of them not yet counted) on its parent."""
        nonlocal root, total
        total += new
        if total > MAX_NODES:
            raise _refuse(name, event, f"more than {MAX_NODES:,} YAML nodes once aliases are expanded")
        if not stack:
            root = node
            return
        frame = stack[-1]
        frame[3] += size
        parent = frame[0]
        if isinstance(parent, yaml.SequenceNode):
            parent.value.append(node)
        elif frame[2] is _NO_KEY:
            frame[2] = node
        else:
            parent.value.append((frame[2], node))
            frame[2] = _NO_KEY

    while True:
        event = loader.get_event()
        if isinstance(event, yaml.DocumentEndEvent):
            break
        if isinstance(event, yaml.AliasEvent):
            target = anchors.get(event.anchor)
            if target is None or event.anchor in open_anchors:
                if event.anchor in open_anchors:
                    raise _refuse(
                        name, event, f"recursive alias *{event.anchor} (a node that contains itself)"
                    )
                raise _refuse(name, event, f"undefined alias *{event.anchor}")
            size = sizes.get(id(target), 1)
            attach(target, size, size)
        elif isinstance(event, yaml.ScalarEvent):
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
            if event.anchor is not None:
                anchors[event.anchor] = node
            sizes[id(node)] = 1
            attach(node, 1, 1)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise _refuse(name, event, f"YAML nested deeper than {MAX_DEPTH} levels")
            kind = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(kind, None, event.implicit)
            node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
            if event.anchor is not None:
                anchors[event.anchor] = node
                open_anchors.add(event.anchor)
            stack.append([node, event.anchor, _NO_KEY, 1])
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            node, anchor, _, size = stack.pop()
            node.end_mark = event.end_mark
            open_anchors.discard(anchor)
            sizes[id(node)] = size
            attach(node, size, 1)  # its children were counted as they arrived
    if not loader.check_event(yaml.StreamEndEvent):
        event = loader.get_event()
        raise yaml.composer.ComposerError(
            "expected a single document in the stream",
            None,
            "but found another document",
            event.start_mark,
        )
    return root


_NO_KEY = object()


def _check_duplicate_keys(node: yaml.Node, path: Path) -> None:
    stack = [node]
    seen_nodes: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen_nodes:  # aliases share nodes
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in current.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    detail = "a mapping key must be a plain name, not a list or mapping (a stray '?')"
                    raise YamlError(f"{path}:{line}: {detail}", Location(str(path), line), detail)
                key = str(key_node.value)
                if key in first_line:
                    detail = (
                        f"mapping key {key!r} already defined at line {first_line[key]}"
                        " — remove or rename one of them"
                    )
                    raise YamlError(f"{path}:{line}: {detail}", Location(str(path), line), detail)
                first_line[key] = line
                stack.append(value_node)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def location(path: Path | str, node: yaml.Node | None) -> Location:
    """The file position of a node (1-based)."""
    if node is None:
        return Location(str(path))
    return Location(str(path), node.start_mark.line + 1, node.start_mark.column + 1)


def to_python(node: yaml.Node | None) -> Any:
    """Plain Python value of a node: dicts, lists, and scalars resolved per spec §1.1."""
    if node is None:
        return None
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _PLAIN_TAG:
            return resolve_plain_scalar(node.value)
        if node.tag in _TYPED_TAGS:  # explicit !!int, !!float, !!bool, !!null
            return resolve_plain_scalar(node.value)
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [to_python(item) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        return {scalar_text(k): to_python(v) for k, v in node.value}
    raise TypeError(f"unexpected YAML node {node!r}")


def scalar_text(node: yaml.Node | None) -> str:
    """The literal text of a scalar, for fields read as strings (``version: 1.0`` → ``"1.0"``)."""
    if node is None:
        return ""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _PLAIN_TAG and node.value in ("~", "null", "Null", "NULL"):
            return ""
        return node.value
    raise TypeError("not a scalar")


def is_scalar(node: yaml.Node | None) -> bool:
    return isinstance(node, yaml.ScalarNode)


def is_mapping(node: yaml.Node | None) -> bool:
    return isinstance(node, yaml.MappingNode)


def is_sequence(node: yaml.Node | None) -> bool:
    return isinstance(node, yaml.SequenceNode)


def is_null(node: yaml.Node | None) -> bool:
    return node is None or (
        isinstance(node, yaml.ScalarNode)
        and node.tag == _PLAIN_TAG
        and node.value in ("", "~", "null", "Null", "NULL")
    )


def mapping_items(node: yaml.Node) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """(key text, key node, value node) for each entry of a mapping node."""
    return [(scalar_text(k) if is_scalar(k) else "", k, v) for k, v in node.value]


def get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node under ``key`` in a mapping node, or None."""
    if not is_mapping(node):
        return None
    for k, v in node.value:
        if is_scalar(k) and k.value == key:
            return v
    return None
