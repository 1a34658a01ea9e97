"""System models: components, their types and dependencies, read from one or more YAML files.

Reading never stops at the first mistake: every problem is collected with its file, line,
component and fix, so ``model validate`` can report them all. ``load_model`` is the strict entry
point for everything else: it raises ``ModelError`` when the model has errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from switchyard.engine import yamlnodes as Y
from switchyard.engine.catalog import GENERIC, Catalog, TypeDef, load_catalog
from switchyard.engine.errors import Location, ModelError, YamlError, shown
from switchyard.engine.expr import ExprSyntaxError, Rule, parse

COMPONENT_KEYS = (
    "type",
    "resource",
    "providers",
    "depends",
    "healthy",
    "vars",
    "failure_modes",
    "description",
)
_PLACEHOLDER = re.compile(r"\{([^}]+)\}")
# Kubernetes-style names plus the reference's underscores (scheduled_jobs): letters, digits, '-'
# and '_', starting and ending with a letter or digit, at most 63 characters. No '.', which rules
# read as component.fact; no spaces, control characters or markup, which reports echo.
NAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?")


def valid_name(name: str) -> bool:
    return NAME_RE.fullmatch(name) is not None


def quoted(name: str) -> str:
    """A component name for a message: ``"rds"``, or escaped and cut when it is not a valid name."""
    return f'"{name}"' if valid_name(name) else shown(name)


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" | "warning"
    message: str
    location: Location | None = None
    component: str | None = None
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        who = f"component {self.component!r}: " if self.component else ""
        fix = f" — fix: {self.fix}" if self.fix else ""
        return f"{where}{who}{self.message}{fix}"


@dataclass
class Dependency:
    targets: list[str]
    while_rule: Rule | None = None
    location: Location | None = None


@dataclass
class Component:
    name: str
    type: str
    location: Location
    index: int = 0
    resource: str = ""
    providers: list[str] = field(default_factory=list)
    own_vars: dict[str, str] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    depends: list[Dependency] = field(default_factory=list)
    healthy_override: list[Rule] = field(default_factory=list)
    healthy_locations: list[Location] = field(default_factory=list)  # where each override rule is
    type_def: TypeDef | None = None

    @property
    def depends_on(self) -> list[str]:
        """Every dependency target, in file order (duplicates kept, as the reference does)."""
        return [t for dep in self.depends for t in dep.targets]

    @property
    def healthy_rules(self) -> list[Rule]:
        """The component's override when it has one (it replaces the type's list), else the type's."""
        if self.healthy_override:
            return self.healthy_override
        return self.type_def.healthy if self.type_def else []

    @property
    def default_state(self) -> str:
        return self.type_def.default_state if self.type_def else ""

    @property
    def probe_target(self) -> str:
        """What probes look up: the resource id, else the component name."""
        return self.resource or self.name


@dataclass
class Model:
    name: str
    version: str
    files: list[Path]
    catalog: Catalog
    providers: list[str] = field(default_factory=list)
    vars: dict[str, str] = field(default_factory=dict)
    strict_types: bool = False
    scenarios_option: str = ""
    components: dict[str, Component] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def entries(self) -> list[str]:
        """Every entry point: the components nothing depends on, in declaration order (rule S11).

        The first is the model's front door (the serving path of acme-shop's cloudflare); the
        others are entries of their own: business processes, a distribution nothing serves through.
        """
        targets = {t for c in self.components.values() for t in c.depends_on}
        return [n for n in self.components if n not in targets]

    @property
    def entry(self) -> str | None:
        """The first entry point in declaration order (the live serving path's front door)."""
        return next(iter(self.entries), None)

    def dependents(self, name: str) -> list[str]:
        """Components with a dependency on ``name``, sorted by name."""
        return sorted(c.name for c in self.components.values() if name in c.depends_on)

    def without(self, names: Iterable[str]) -> Model:
        """The same model with some components removed and the edges to them dropped.

        Used by gates: the live path of a blue/green app is the model without the standby colour.
        """
        removed = set(names)
        kept: dict[str, Component] = {}
        for comp in self.components.values():
            if comp.name in removed:
                continue
            deps = [
                Dependency([t for t in d.targets if t not in removed], d.while_rule, d.location)
                for d in comp.depends
            ]
            kept[comp.name] = _replace_depends(comp, [d for d in deps if d.targets])
        return Model(
            self.name,
            self.version,
            self.files,
            self.catalog,
            self.providers,
            self.vars,
            self.strict_types,
            self.scenarios_option,
            kept,
            list(self.problems),
        )

    def source_bytes(self) -> bytes:
        return b"\0".join(p.read_bytes() for p in self.files)


def _replace_depends(comp: Component, depends: list[Dependency]) -> Component:
    clone = Component(**{**comp.__dict__})
    clone.depends = depends
    return clone


# ---- reading ---------------------------------------------------------------------------------


def model_files(paths: Sequence[str | Path]) -> list[Path]:
    """Files of a model given as files and/or directories (a directory: its *.yaml, sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.yaml") if not p.name.endswith(".chains.yaml"))
            if not found:
                raise YamlError(f"{path}: directory holds no *.yaml model files")
            files.extend(found)
        else:
            files.append(path)
    return files


def read_model(paths: Sequence[str | Path] | str | Path, catalog: Catalog | None = None) -> Model:
    """Read a model, collecting problems instead of stopping (``model validate`` uses this)."""
    if isinstance(paths, str | Path):
        paths = [paths]
    files = model_files(paths)
    catalog = catalog or load_catalog()
    model = Model(name="", version="", files=files, catalog=catalog)
    documents: list[tuple[Path, yaml.Node]] = []
    unreadable: list[Path] = []
    for path in files:
        try:
            node = Y.load_node(path)
        except Y.InputRefused:
            raise  # too large, too deep, not a file: not a problem to list among others
        except YamlError as exc:
            if not path.exists():
                raise
            model.problems.append(
                Problem("error", exc.detail, exc.location or Location(str(path)), fix="correct the YAML")
            )
            unreadable.append(path)
            continue
        if node is None:
            continue
        if not Y.is_mapping(node):
            model.problems.append(
                Problem(
                    "error",
                    "a model file must be a mapping with meta: and components:",
                    Y.location(path, node),
                )
            )
            continue
        documents.append((path, node))
    _read_meta(model, documents, meta_may_be_unreadable=bool(unreadable))
    _read_components(model, documents)
    _resolve_types(model)
    _check_references(model)
    return model


def load_model(paths: Sequence[str | Path] | str | Path, catalog: Catalog | None = None) -> Model:
    """Read and validate a model; raises ModelError listing every error when it is not usable."""
    model = read_model(paths, catalog)
    if model.errors:
        first = model.errors[0]
        more = f" (and {len(model.errors) - 1} more; run `model validate`)" if len(model.errors) > 1 else ""
        raise ModelError(f"model has validation errors: {first}{more}", model.errors)
    return model


def _text(node) -> str:
    return Y.scalar_text(node) if Y.is_scalar(node) else ""


def _string_map(model: Model, node, where: Location, component: str | None, what: str) -> dict[str, str]:
    if Y.is_null(node):
        return {}
    if not Y.is_mapping(node):
        model.problems.append(
            Problem("error", f"{what} must be a mapping of names to values", where, component)
        )
        return {}
    out: dict[str, str] = {}
    for key, _, value in Y.mapping_items(node):
        if not Y.is_scalar(value):
            model.problems.append(
                Problem(
                    "error", f"{what}.{key} must be a plain value, not a list or mapping", where, component
                )
            )
            continue
        out[key] = _text(value)
    return out


def _string_list(node) -> list[str] | None:
    if Y.is_null(node):
        return []
    if Y.is_scalar(node):
        return None
    if Y.is_sequence(node) and all(Y.is_scalar(n) for n in node.value):
        return [_text(n) for n in node.value]
    return None


def _read_meta(
    model: Model, documents: list[tuple[Path, yaml.Node]], meta_may_be_unreadable: bool = False
) -> None:
    metas = [(path, Y.get(node, "meta")) for path, node in documents if Y.get(node, "meta") is not None]
    if not metas and meta_may_be_unreadable:
        return  # meta: may well be in the file that did not parse; its YAML error is reported
    if not metas:
        where = Location(str(model.files[0])) if model.files else None
        model.problems.append(
            Problem("error", "meta.name is required", where, fix="add a meta: section with name and version")
        )
        model.problems.append(Problem("error", "meta.version is required", where))
        return
    if len(metas) > 1:
        others = ", ".join(str(p) for p, _ in metas[1:])
        model.problems.append(
            Problem(
                "error",
                f"meta: is defined again in {others}",
                Location(str(metas[0][0])),
                fix="keep meta: in one file of a split model",
            )
        )
    path, meta = metas[0]
    where = Y.location(path, meta)
    model.name = _text(Y.get(meta, "name"))
    model.version = _text(Y.get(meta, "version"))
    if not model.name:
        model.problems.append(
            Problem("error", "meta.name is required", where, fix="add meta.name: <system name>")
        )
    if not model.version:
        model.problems.append(
            Problem("error", "meta.version is required", where, fix='add meta.version: "1.0"')
        )
    providers = _string_list(Y.get(meta, "providers"))
    if providers is None:
        model.problems.append(Problem("error", "meta.providers must be a list of provider names", where))
        providers = []
    model.providers = providers
    model.vars = _string_map(model, Y.get(meta, "vars"), where, None, "meta.vars")
    model.strict_types = Y.to_python(Y.get(meta, "strict_types")) is True
    model.scenarios_option = _text(Y.get(meta, "scenarios"))


def _read_components(model: Model, documents: list[tuple[Path, yaml.Node]]) -> None:
    seen: dict[str, Location] = {}
    entries: list[tuple[int, int, str, Component]] = []
    for file_index, (path, root) in enumerate(documents):
        comps = Y.get(root, "components")
        if Y.is_null(comps):
            continue
        if not Y.is_mapping(comps):
            model.problems.append(
                Problem(
                    "error", "components: must be a mapping of name to component", Y.location(path, comps)
                )
            )
            continue
        for name, key_node, node in Y.mapping_items(comps):
            where = Y.location(path, key_node)
            if not valid_name(name):
                model.problems.append(
                    Problem(
                        "error",
                        f"component name {shown(name)} is not valid",
                        where,
                        None,
                        fix="use letters, digits, '-' and '_' (at most 63, starting and ending with a "
                        "letter or digit), e.g. acme-shop-php-fpm-blue",
                    )
                )
                continue
            if name in seen:
                model.problems.append(
                    Problem(
                        "error",
                        f"duplicate component key {name!r}, first defined at {seen[name]}",
                        where,
                        name,
                        fix="rename one of them or remove the copy",
                    )
                )
                continue
            seen[name] = where
            comp = _read_component(model, name, node, where, path)
            entries.append((file_index, where.line, name, comp))
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    for index, (_, _, name, comp) in enumerate(entries):
        comp.index = index
        model.components[name] = comp


def _read_component(model: Model, name: str, node, where: Location, path: Path) -> Component:
    comp = Component(name=name, type="", location=where)
    if not Y.is_mapping(node):
        model.problems.append(
            Problem("error", "a component must be a mapping with at least type:", where, name)
        )
        return comp
    for key, key_node, _ in Y.mapping_items(node):
        if key not in COMPONENT_KEYS:
            hint = " (dependencies are written depends: [{on: x}])" if key.startswith("depend") else ""
            model.problems.append(
                Problem(
                    "warning",
                    f"unknown key {key!r} is ignored{hint}",
                    Y.location(path, key_node),
                    name,
                    fix=f"use one of: {', '.join(COMPONENT_KEYS)}",
                )
            )
    comp.type = _text(Y.get(node, "type"))
    if not comp.type:
        model.problems.append(
            Problem(
                "error",
                f'component "{name}" has no type',
                where,
                name,
                fix="add type: <one of the catalog types>",
            )
        )
    providers = _string_list(Y.get(node, "providers"))
    if providers is None:
        model.problems.append(Problem("error", "providers must be a list of provider names", where, name))
        providers = []
    comp.providers = providers
    comp.own_vars = _string_map(model, Y.get(node, "vars"), where, name, "vars")
    comp.vars = {**model.vars, **comp.own_vars}
    comp.resource = _template_resource(model, comp, Y.get(node, "resource"), path)
    comp.depends = _read_depends(model, comp, Y.get(node, "depends"), path)
    comp.healthy_override = _read_healthy(model, comp, Y.get(node, "healthy"), path)
    return comp


def _template_resource(model: Model, comp: Component, node, path: Path) -> str:
    if Y.is_null(node):
        return ""
    if not Y.is_scalar(node):
        model.problems.append(
            Problem("error", "resource must be a string", Y.location(path, node), comp.name)
        )
        return ""
    template = _text(node)
    missing = [k for k in _PLACEHOLDER.findall(template) if k not in model.vars]
    if missing:
        in_component = [k for k in missing if k in comp.own_vars]
        fix = (
            f"resource templates read meta.vars only; move {', '.join(in_component)} to meta.vars"
            if in_component
            else f"define {', '.join(missing)} under meta.vars"
        )
        model.problems.append(
            Problem(
                "error",
                f"resource: undefined var(s) {', '.join(missing)} in {template!r}",
                Y.location(path, node),
                comp.name,
                fix=fix,
            )
        )
        return template
    return _PLACEHOLDER.sub(lambda m: model.vars[m.group(1)], template)


def _parse_rule(model: Model, comp: Component, source: str, where: Location, what: str) -> Rule | None:
    try:
        return parse(source)
    except ExprSyntaxError as exc:
        model.problems.append(
            Problem(
                "error",
                f"{what} rule {shown(source)} does not parse at column {exc.column}: {exc.message}",
                where,
                comp.name,
                fix="rules read like `ready_replicas >= 1` joined with and/or/not",
            )
        )
        return None


def _read_depends(model: Model, comp: Component, node, path: Path) -> list[Dependency]:
    if Y.is_null(node):
        return []
    if not Y.is_sequence(node):
        model.problems.append(
            Problem(
                "error",
                "depends must be a list of {on: <component>} entries",
                Y.location(path, node),
                comp.name,
                fix="write depends: [{on: x}]",
            )
        )
        return []
    out: list[Dependency] = []
    for entry in node.value:
        where = Y.location(path, entry)
        if Y.is_scalar(entry):
            model.problems.append(
                Problem(
                    "error",
                    f"dependency {_text(entry)!r} is a bare string",
                    where,
                    comp.name,
                    fix=f"write `- on: {_text(entry)}`",
                )
            )
            continue
        if not Y.is_mapping(entry):
            model.problems.append(
                Problem("error", "a dependency must be a mapping with on:", where, comp.name)
            )
            continue
        on = Y.get(entry, "on")
        targets = _string_list(on)
        if targets is None:
            targets = [_text(on)] if Y.is_scalar(on) else []
        if not targets:
            model.problems.append(
                Problem(
                    "error",
                    "dependency without on: target",
                    where,
                    comp.name,
                    fix="write `- on: <component>`",
                )
            )
            continue
        while_node = Y.get(entry, "while")
        while_rule = None
        if while_node is not None and not Y.is_null(while_node):
            while_rule = _parse_rule(model, comp, _text(while_node), Y.location(path, while_node), "while")
        out.append(Dependency(targets, while_rule, where))
    return out


def _read_healthy(model: Model, comp: Component, node, path: Path) -> list[Rule]:
    if Y.is_null(node):
        return []
    if Y.is_scalar(node):
        model.problems.append(
            Problem(
                "error",
                "healthy must be a list of rules, not a single string",
                Y.location(path, node),
                comp.name,
                fix=f"write healthy: [{_text(node)!r}]",
            )
        )
        return []
    if not Y.is_sequence(node):
        model.problems.append(
            Problem("error", "healthy must be a list of rules", Y.location(path, node), comp.name)
        )
        return []
    rules = []
    for item in node.value:
        where = Y.location(path, item)
        rule = _parse_rule(model, comp, _text(item), where, "healthy")
        if rule is not None:
            rules.append(rule)
            comp.healthy_locations.append(where)
    return rules


# ---- resolution and reference checks ---------------------------------------------------------


def _resolve_types(model: Model) -> None:
    known = model.catalog.known_type_names()
    for comp in model.components.values():
        if not comp.type:
            continue
        refs = comp.providers or model.providers
        comp.type_def = model.catalog.resolve(refs, comp.type)
        declaring = model.catalog.providers_declaring(comp.type)
        if comp.type_def is None and declaring:
            # The type exists, but none of the providers this component looks in declares it.
            where_listed = "the component's providers:" if comp.providers else "meta.providers"
            own = "its providers:" if comp.providers else "meta.providers"
            looked = f"looks only in {own} ({', '.join(refs)})" if refs else "has no providers to look in"
            model.problems.append(
                Problem(
                    "error",
                    f"type {comp.type!r} is declared by provider {' and '.join(declaring)}, "
                    f"but the component {looked}",
                    comp.location,
                    comp.name,
                    fix=f"add {declaring[0]} to {where_listed}, or write type: {declaring[0]}.{comp.type}",
                )
            )
        elif comp.type_def is None:
            guess = closest(comp.type, known)
            model.problems.append(
                Problem(
                    "error",
                    f"unknown type {comp.type!r}; known types: {', '.join(known)}",
                    comp.location,
                    comp.name,
                    fix=f'did you mean "{guess}"?' if guess else "add the type with --types DIR",
                )
            )
        elif model.strict_types and comp.type_def.provider == GENERIC:
            model.problems.append(
                Problem(
                    "error",
                    f'type "{comp.type}" has no typed provider (strict_types: true rejects generic types)',
                    comp.location,
                    comp.name,
                )
            )
    for ref in model.providers:
        bare = ref.split("@", 1)[0].rsplit("/", 1)[-1]
        if bare not in model.catalog.providers:
            model.problems.append(
                Problem(
                    "warning",
                    f"provider {ref!r} is not in the type catalog",
                    None,
                    None,
                    fix=f"add its directory with --types, or remove it (known: {', '.join(sorted(model.catalog.providers))})",
                )
            )


def _check_references(model: Model) -> None:
    names = list(model.components)
    resources: dict[tuple[str, str, str], str] = {}
    for comp in model.components.values():
        for dep in comp.depends:
            for target in dep.targets:
                if target not in model.components:
                    guess = closest(target, names)
                    model.problems.append(
                        Problem(
                            "error",
                            f"depends on unknown component {quoted(target)}",
                            dep.location,
                            comp.name,
                            fix=f'did you mean "{guess}"?' if guess else "declare it under components:",
                        )
                    )
            if dep.while_rule:
                _check_rule_facts(model, comp, dep.while_rule, dep.location, "while")
        for index, rule in enumerate(comp.healthy_override):
            where = comp.healthy_locations[index] if index < len(comp.healthy_locations) else comp.location
            _check_rule_facts(model, comp, rule, where, "healthy")
        if comp.type_def and comp.resource:
            key = (comp.type_def.provider, comp.type_def.name, comp.resource)
            if key in resources:
                model.problems.append(
                    Problem(
                        "warning",
                        f'duplicate resource "{comp.resource}" — same type as component "{resources[key]}"',
                        comp.location,
                        comp.name,
                    )
                )
            else:
                resources[key] = comp.name
    _check_triggered_by(model)
    cycle = find_cycle(model)
    if cycle:
        model.problems.append(
            Problem(
                "error",
                "circular dependency detected: " + " → ".join(cycle),
                model.components[cycle[0]].location,
                None,
                fix="a dependency graph must be acyclic; remove one of these edges",
            )
        )


def _check_rule_facts(model: Model, comp: Component, rule: Rule, where: Location | None, what: str) -> None:
    reported: set[tuple[str, str]] = set()  # one problem per unknown name, however often it is used
    for cmp in rule.comparisons():
        owner_name = cmp.component or comp.name
        owner = model.components.get(owner_name)
        if owner is None:
            if (owner_name, "") in reported:
                continue
            reported.add((owner_name, ""))
            guess = closest(owner_name, list(model.components))
            model.problems.append(
                Problem(
                    "error",
                    f"{what} rule {shown(rule.source)} names unknown component {shown(owner_name)}",
                    where,
                    comp.name,
                    fix=f'did you mean "{guess}"?' if guess else "declare it under components:",
                )
            )
            continue
        if owner.type_def is None or cmp.fact == "state":
            continue
        facts = owner.type_def.facts
        for fact in _facts_named(cmp, facts):
            if fact not in facts and (owner_name, fact) not in reported:
                reported.add((owner_name, fact))
                guess = closest(fact, list(facts))
                model.problems.append(
                    Problem(
                        "error",
                        f"{what} rule {shown(rule.source)}: type {owner.type!r} has no fact {shown(fact)}",
                        where,
                        comp.name,
                        fix=(f'did you mean "{guess}"? ' if guess else "") + f"facts: {', '.join(facts)}",
                    )
                )


def _facts_named(cmp, facts) -> list[str]:
    named = [cmp.fact]
    lhs = facts.get(cmp.fact)
    from switchyard.engine.expr import NUMERIC_FACT_TYPES  # local: keeps the import list short

    if lhs and lhs.type in NUMERIC_FACT_TYPES and isinstance(cmp.literal, str) and not cmp.literal_quoted:
        named.append(cmp.literal)  # `ready_replicas < desired_replicas`: the right side is a fact too
    return named


def _check_triggered_by(model: Model) -> None:
    producers = {
        label
        for p in model.catalog.providers.values()
        for t in p.types.values()
        for labels in t.failure_modes.values()
        for label in labels
    }
    reported: set[tuple[str, str, str]] = set()
    for comp in model.components.values():
        if not comp.type_def:
            continue
        for state in comp.type_def.states:
            for label in state.triggered_by:
                key = (comp.type_def.qualified_name, state.name, label)
                if label not in producers and key not in reported:
                    reported.add(key)
                    model.problems.append(
                        Problem(
                            "warning",
                            f'type "{comp.type}" state "{state.name}": triggered_by label "{label}" '
                            "has no producer (no can_cause mentions it)",
                            comp.location,
                            comp.name,
                        )
                    )


def find_cycle(model: Model) -> list[str]:
    """The first dependency cycle in declaration order, closed (a → b → a), or []."""
    white, gray, black = 0, 1, 2
    colour = dict.fromkeys(model.components, white)
    parent: dict[str, str] = {}
    for start in model.components:
        if colour[start] != white:
            continue
        stack = [(start, iter(model.components[start].depends_on))]
        colour[start] = gray
        while stack:
            node, it = stack[-1]
            advanced = False
            for target in it:
                if target not in model.components:
                    continue
                if colour[target] == gray:
                    cycle = [node]
                    while cycle[-1] != target:
                        cycle.append(parent[cycle[-1]])
                    cycle.reverse()
                    return [*cycle, target]
                if colour[target] == white:
                    colour[target] = gray
                    parent[target] = node
                    stack.append((target, iter(model.components[target].depends_on)))
                    advanced = True
                    break
            if not advanced:
                colour[node] = black
                stack.pop()
    return []


def closest(word: str, candidates: Sequence[str]) -> str | None:
    """The candidate nearest to ``word`` by case-insensitive edit distance (first on ties)."""
    best, best_distance = None, None
    for cand in candidates:
        d = _levenshtein(word.lower(), cand.lower())
        if best_distance is None or d < best_distance:
            best, best_distance = cand, d
    if best is None or best_distance is None or best_distance > max(3, len(word) // 2):
        return None
    return best


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
