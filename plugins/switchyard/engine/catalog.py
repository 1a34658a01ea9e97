"""The type catalog: providers of component types (facts, ordered states, healthy rules).

Types are data. Switchyard ships ``catalog/`` (kubernetes, aws, generic); users add provider
directories in the reference layout with ``--types DIR`` or ``SWITCHYARD_TYPES``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from switchyard.engine import yamlnodes as Y
from switchyard.engine.errors import CatalogError
from switchyard.engine.expr import ExprSyntaxError, Rule, parse

BUILTIN_DIR = Path(__file__).parent / "catalog"
GENERIC = "generic"
_PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class FactDef:
    name: str
    type: str  # stdlib name without the "mgtt." prefix: int, bool, string, percentage...
    description: str = ""


@dataclass(frozen=True)
class StateDef:
    name: str
    when: Rule | None
    description: str = ""
    triggered_by: tuple[str, ...] = ()


@dataclass
class TypeDef:
    provider: str
    name: str
    description: str
    facts: dict[str, FactDef]
    states: list[StateDef]
    default_state: str
    healthy: list[Rule]
    failure_modes: dict[str, list[str]]
    source: Path | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.provider}.{self.name}"

    def state(self, name: str) -> StateDef | None:
        return next((s for s in self.states if s.name == name), None)


@dataclass
class Provider:
    name: str
    version: str
    description: str
    directory: Path | None
    types: dict[str, TypeDef] = field(default_factory=dict)
    type_files: list[Path] = field(default_factory=list)


def bare_provider_name(ref: str) -> str:
    """``mgt-tool/kubernetes@^3.0.0`` → ``kubernetes`` (versions do not affect type lookup)."""
    return ref.split("@", 1)[0].rsplit("/", 1)[-1]


class Catalog:
    """Providers by name, with type resolution in the reference engine's order."""

    def __init__(self, providers: Iterable[Provider]) -> None:
        self.providers: dict[str, Provider] = {}
        for provider in providers:
            existing = self.providers.get(provider.name)
            if existing is None:
                self.providers[provider.name] = provider
            else:  # a later directory with the same provider name extends it; its types win
                existing.types.update(provider.types)
                existing.type_files.extend(provider.type_files)

    def resolve(self, provider_refs: Iterable[str], type_name: str) -> TypeDef | None:
        """The type for a component, or None when no provider declares it."""
        if "." in type_name:
            provider_name, _, local = type_name.partition(".")
            provider = self.providers.get(provider_name)
            return provider.types.get(local) if provider else None
        for ref in provider_refs:
            provider = self.providers.get(bare_provider_name(ref))
            if provider and type_name in provider.types:
                return provider.types[type_name]
        generic = self.providers.get(GENERIC)
        return generic.types.get(type_name) if generic else None

    def providers_declaring(self, type_name: str) -> list[str]:
        """Names of the providers that declare a (non-dotted) type, sorted."""
        return sorted(name for name, p in self.providers.items() if type_name in p.types)

    def known_type_names(self) -> list[str]:
        return sorted({name for p in self.providers.values() for name in p.types})

    def type_files(self) -> list[Path]:
        return sorted({f for p in self.providers.values() for f in p.type_files}, key=str)

    def fingerprint(self) -> str:
        """sha256 over every type file, so a chain table goes stale when a type changes."""
        digest = hashlib.sha256()
        for path in self.type_files():
            digest.update(path.read_bytes() + b"\0")
        return digest.hexdigest()


def load_catalog(extra_dirs: Iterable[str | Path] = (), use_env: bool = True) -> Catalog:
    """Built-in providers, then every provider under ``extra_dirs`` and ``$SWITCHYARD_TYPES``."""
    dirs: list[Path] = [BUILTIN_DIR]
    if use_env and os.environ.get("SWITCHYARD_TYPES"):
        dirs += [Path(p) for p in os.environ["SWITCHYARD_TYPES"].split(":") if p]
    dirs += [Path(d) for d in extra_dirs]
    providers: list[Provider] = []
    for directory in dirs:
        providers.extend(_providers_in(directory))
    return Catalog(providers)


def _providers_in(directory: Path) -> list[Provider]:
    if not directory.is_dir():
        raise CatalogError(
            f"types directory {directory} does not exist — pass an existing directory to --types"
        )
    if (directory / "manifest.yaml").is_file():
        return [load_provider(directory)]
    found = [load_provider(sub) for sub in sorted(directory.iterdir()) if (sub / "manifest.yaml").is_file()]
    if not found:
        raise CatalogError(
            f"types directory {directory} holds no provider: expected {directory}/manifest.yaml "
            f"or sub-directories each with a manifest.yaml"
        )
    return found


def load_provider(directory: Path) -> Provider:
    manifest_path = directory / "manifest.yaml"
    root = Y.load_node(manifest_path)
    meta = Y.get(root, "meta")
    name = Y.scalar_text(Y.get(meta, "name")) if Y.is_scalar(Y.get(meta, "name")) else ""
    if not _PROVIDER_NAME.match(name):
        raise CatalogError(
            f"{manifest_path}: meta.name {name!r} is not a provider name — use lower case letters, digits, '-'"
        )
    provider = Provider(
        name=name,
        version=Y.scalar_text(Y.get(meta, "version")) if Y.is_scalar(Y.get(meta, "version")) else "",
        description=Y.scalar_text(Y.get(meta, "description"))
        if Y.is_scalar(Y.get(meta, "description"))
        else "",
        directory=directory,
    )
    inline = Y.get(root, "types")
    if Y.is_mapping(inline):
        for type_name, _, type_node in Y.mapping_items(inline):
            provider.types[type_name] = _load_type(name, type_name, type_node, manifest_path)
    elif (directory / "types").is_dir():
        for path in sorted((directory / "types").glob("*.yaml")):
            provider.types[path.stem] = _load_type(name, path.stem, Y.load_node(path), path)
            provider.type_files.append(path)
    return provider


def _rule(source: str, where: str) -> Rule:
    try:
        return parse(source)
    except ExprSyntaxError as exc:
        raise CatalogError(f"{where}: rule {source!r} column {exc.column}: {exc.message}") from None


def _load_type(provider: str, name: str, node, path: Path) -> TypeDef:
    where = f"{path} (type {name})"
    if not Y.is_mapping(node):
        raise CatalogError(f"{where}: a type must be a mapping with facts, states and default_active_state")
    facts: dict[str, FactDef] = {}
    for fact_name, _, fact_node in (
        Y.mapping_items(Y.get(node, "facts")) if Y.is_mapping(Y.get(node, "facts")) else []
    ):
        type_text = (
            Y.scalar_text(Y.get(fact_node, "type")) if Y.is_scalar(Y.get(fact_node, "type")) else "string"
        )
        desc_node = Y.get(fact_node, "description")
        facts[fact_name] = FactDef(
            fact_name,
            type_text.removeprefix("mgtt."),
            Y.scalar_text(desc_node) if Y.is_scalar(desc_node) else "",
        )
    states: list[StateDef] = []
    states_node = Y.get(node, "states")
    for state_name, _, state_node in Y.mapping_items(states_node) if Y.is_mapping(states_node) else []:
        when_node = Y.get(state_node, "when")
        when = _rule(Y.scalar_text(when_node), where) if Y.is_scalar(when_node) and when_node.value else None
        trig = Y.to_python(Y.get(state_node, "triggered_by")) or []
        desc_node = Y.get(state_node, "description")
        states.append(
            StateDef(
                state_name,
                when,
                Y.scalar_text(desc_node) if Y.is_scalar(desc_node) else "",
                tuple(str(t) for t in trig),
            )
        )
    healthy_node = Y.get(node, "healthy")
    if Y.is_scalar(healthy_node) and not Y.is_null(healthy_node):
        healthy_sources = [Y.scalar_text(healthy_node)]
    elif Y.is_sequence(healthy_node):
        healthy_sources = [Y.scalar_text(n) for n in healthy_node.value]
    else:
        healthy_sources = []
    failure_modes: dict[str, list[str]] = {}
    fm_node = Y.get(node, "failure_modes")
    for state_name, _, fm in Y.mapping_items(fm_node) if Y.is_mapping(fm_node) else []:
        failure_modes[state_name] = [str(x) for x in (Y.to_python(Y.get(fm, "can_cause")) or [])]
    default_node = Y.get(node, "default_active_state")
    default = Y.scalar_text(default_node) if Y.is_scalar(default_node) else ""
    if states and default not in {s.name for s in states}:
        raise CatalogError(f"{where}: default_active_state {default!r} is not one of its states")
    desc_node = Y.get(node, "description")
    return TypeDef(
        provider=provider,
        name=name,
        description=Y.scalar_text(desc_node) if Y.is_scalar(desc_node) else "",
        facts=facts,
        states=states,
        default_state=default,
        healthy=[_rule(src, where) for src in healthy_sources],
        failure_modes=failure_modes,
        source=path,
    )
