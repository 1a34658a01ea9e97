"""The path engine: from facts to states, health, surviving paths and a root cause.

Data flows one way: facts → states (first matching ``when``) → health (rule S1) → shortest paths
from every entry point (rule S11) → path fates (rule S2 for unobserved terminals) → root causes:
each surviving terminal nothing below it explains, the longest surviving path first (rule S3
when only an entry itself is failing). Eliminated means ruled out by evidence (rule S10).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from switchyard.engine.expr import NUMERIC_FACT_TYPES, Unresolved, evaluate
from switchyard.engine.facts import OK, FactStore
from switchyard.engine.model import Component, Model
from switchyard.engine.notation import chain_text, root_text

UNKNOWN_STATE = "unknown"


def derive_states(model: Model, facts: FactStore) -> dict[str, str]:
    """Each component's state: the first of its type's states whose ``when`` is true.

    Components are taken in declaration order, so ``x.state`` in a rule sees only components
    derived before it (as the reference engine does).
    """
    states: dict[str, str] = {}
    for comp in model.components.values():
        state = UNKNOWN_STATE
        if comp.type_def is not None:
            for candidate in comp.type_def.states:
                if candidate.when is not None and evaluate(candidate.when, comp.name, facts, states.get).true:
                    state = candidate.name
                    break
        states[comp.name] = state
    return states


def needed_facts(comp: Component, revealing_first: bool = False) -> list[str]:
    """Facts the component's states or healthy rules read, in the type's (most decisive) order.

    With ``revealing_first`` (a suspect: we expect it to fail), facts that decide a healthy rule
    on their own (``condition_available == true``) come first: one read can show it failing.
    """
    if comp.type_def is None:
        return []
    declared = comp.type_def.facts
    named: set[str] = set()
    decisive: set[str] = set()
    rules = [s.when for s in comp.type_def.states if s.when is not None] + comp.healthy_rules
    for rule in rules:
        own = []
        for cmp in rule.comparisons():
            if cmp.component not in (None, comp.name):
                continue
            own.append(cmp.fact)
            lhs = declared.get(cmp.fact)
            if (
                lhs
                and lhs.type in NUMERIC_FACT_TYPES
                and isinstance(cmp.literal, str)
                and not cmp.literal_quoted
            ):
                own.append(cmp.literal)
        named.update(own)
        if rule in comp.healthy_rules and len(own) == 1:
            decisive.add(own[0])
    if not revealing_first:
        decisive = set()
    ordered = [f for f in declared if f in decisive] + [f for f in declared if f in named - decisive]
    return ordered or list(declared)


@dataclass(frozen=True)
class Health:
    """What the facts say about one component."""

    name: str
    state: str
    default_state: str
    observed: bool
    failed_rules: tuple[str, ...] = ()  # healthy rules that are definitively false
    unresolved_rules: tuple[str, ...] = ()  # healthy rules that could not be decided
    unknown_facts: tuple[str, ...] = ()  # facts the rules needed but could not read

    @property
    def failing(self) -> bool:
        """Rule S1 on known facts: a known state other than the default, or a false healthy rule.

        A state that is ``unknown`` only because the facts its rules need could not be read does
        not make a component failing: unknown rule results never decide on their own.
        """
        return self.observed and (
            self.state not in (self.default_state, UNKNOWN_STATE) or bool(self.failed_rules)
        )

    @property
    def unknown(self) -> bool:
        """Observed, yet neither failing nor in its default state: the facts do not decide."""
        return self.observed and not self.failing and self.state != self.default_state

    @property
    def eliminated(self) -> bool:
        """Observed in its default state with no false rule: ruled out as a cause."""
        return self.observed and self.state == self.default_state and not self.failed_rules

    @property
    def vouched(self) -> bool:
        """Healthy on every rule: default state and each healthy rule evaluated true."""
        return self.eliminated and not self.unresolved_rules


def assess(model: Model, facts: FactStore, states: dict[str, str] | None = None) -> dict[str, Health]:
    states = states if states is not None else derive_states(model, facts)
    out: dict[str, Health] = {}
    for comp in model.components.values():
        failed, unresolved, unknown = [], [], []
        for rule in comp.healthy_rules:
            result = evaluate(rule, comp.name, facts, states.get)
            if result.false:
                failed.append(rule.source)
            elif result.error is not None:
                unresolved.append(rule.source)
                if isinstance(result.error, Unresolved):
                    unknown.append(f"{result.error.component}.{result.error.fact}")
        out[comp.name] = Health(
            comp.name,
            states[comp.name],
            comp.default_state,
            facts.observed(comp.name),
            tuple(failed),
            tuple(unresolved),
            tuple(dict.fromkeys(unknown)),
        )
    return out


@dataclass
class PathFate:
    path: list[str]
    alive: bool
    reason: str
    confirmed: bool  # the terminal itself is observed and failing (not kept alive by an ancestor)

    @property
    def terminal(self) -> str:
        return self.path[-1]


@dataclass(frozen=True)
class RootCause:
    """One independent failing chain: its root, the root's state and the chain from an entry."""

    component: str
    state: str
    path: tuple[str, ...]
    confirmed: bool  # failing on known facts (not a terminal kept alive by a failing ancestor)

    def text(self) -> str:
        """The one root-cause notation: ``component (state)``."""
        return root_text(self.component, self.state)

    def chain_text(self) -> str:
        """The one chain notation: ``cloudflare → … → rds (stopped)``."""
        return chain_text(self.path, self.state)

    def as_dict(self) -> dict:
        return {
            "root_cause": self.component,
            "root_state": self.state,
            "chain": list(self.path),
            "confirmed": self.confirmed,
        }


@dataclass
class Conclusion:
    """The engine's answer for one set of facts."""

    entry: str | None
    root_cause: str  # "none" when nothing survives
    root_state: str = ""
    path: list[str] = field(default_factory=list)
    eliminated: list[str] = field(default_factory=list)
    fates: list[PathFate] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    health: dict[str, Health] = field(default_factory=dict)
    entries: list[str] = field(default_factory=list)
    roots: list[RootCause] = field(default_factory=list)  # every independent chain, the first is root_cause
    undecided: list[str] = field(default_factory=list)  # observed, but the facts do not decide them

    @property
    def has_root(self) -> bool:
        return self.root_cause != "none"

    @property
    def root_confirmed(self) -> bool:
        """The root is observed and failing on known facts (not a hypothesis, not just unknown)."""
        return self.has_root and self.health[self.root_cause].failing

    @property
    def alive_paths(self) -> list[PathFate]:
        return [f for f in self.fates if f.alive]


def _active_targets(model: Model, name: str, states: dict[str, str], facts: FactStore) -> list[str]:
    """The dependencies of ``name`` in force: those whose ``while`` rule is not definitively false."""
    comp = model.components.get(name)
    if comp is None:
        return []
    targets: list[str] = []
    for dep in comp.depends:
        if dep.while_rule is not None and evaluate(dep.while_rule, comp.name, facts, states.get).false:
            continue
        targets.extend(t for t in dep.targets if t in model.components)
    return targets


def shortest_paths(
    model: Model,
    states: dict[str, str],
    facts: FactStore,
    prefer: Iterable[str] = (),
    entry: str | None = None,
) -> list[list[str]]:
    """One path per component reachable from ``entry`` (default: the model's first entry point):
    the first breadth-first discovery.

    ``prefer`` lists components expanded before their siblings, so that shared dependencies are
    reached through them (a gate on the green colour walks to rds through green, not blue).
    """
    entry = entry if entry is not None else model.entry
    if entry is None:
        return []
    preferred = set(prefer)
    visited = {entry}
    queue = deque([[entry]])
    paths: list[list[str]] = []
    while queue:
        path = queue.popleft()
        targets = _active_targets(model, path[-1], states, facts)
        if preferred:
            targets.sort(key=lambda t: t not in preferred)  # stable: keeps file order otherwise
        for target in targets:
            if target in visited:
                continue
            visited.add(target)
            paths.append([*path, target])
            queue.append([*path, target])
    order = {name: comp.index for name, comp in model.components.items()}
    paths.sort(key=lambda p: order.get(p[-1], len(order)))
    return paths


def _fate(path: list[str], health: dict[str, Health]) -> PathFate:
    terminal = health[path[-1]]
    if terminal.failing:
        return PathFate(path, True, f"{terminal.name} failing ({terminal.state})", True)
    if terminal.eliminated:
        return PathFate(path, False, f"{terminal.name} healthy ({terminal.state})", False)
    # Rule S2: a terminal the facts do not decide (unobserved, or observed with unreadable facts)
    # survives only when the nearest decided component before it on the path is failing.
    what = "unknown" if terminal.observed else "unobserved"
    for name in reversed(path[:-1]):
        ancestor = health[name]
        if ancestor.failing:
            return PathFate(path, True, f"{terminal.name} {what}, behind failing {name}", False)
        if ancestor.eliminated:
            return PathFate(path, False, f"{terminal.name} {what}, shielded by healthy {name}", False)
    return PathFate(
        path,
        False,
        f"{terminal.name} has no observations"
        if what == "unobserved"
        else f"{terminal.name} unknown, nothing failing before it",
        False,
    )


def _below(model: Model, name: str, states: dict[str, str], facts: FactStore) -> set[str]:
    """Everything ``name`` depends on, transitively, over the dependencies in force."""
    seen: set[str] = set()
    stack = [name]
    while stack:
        for target in _active_targets(model, stack.pop(), states, facts):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def is_undecided(health: Health, facts: FactStore) -> bool:
    """Observed, not failing, and not cleared either (rule S10): its state is unknown, or some
    fact could not be read and its healthy rules are not all true."""
    if not health.observed or health.failing:
        return False
    if health.unknown:
        return True
    unreadable = any(f.status != OK for f in facts.facts_of(health.name).values())
    return unreadable and not health.vouched


def conclude(model: Model, facts: FactStore, prefer: Iterable[str] = ()) -> Conclusion:
    """Run the path engine on a set of facts, from every entry point (rule S11)."""
    states = derive_states(model, facts)
    health = assess(model, facts, states)
    entries = model.entries
    fates: list[PathFate] = []
    by_entry: dict[str, list[PathFate]] = {}
    for entry in entries:
        by_entry[entry] = [_fate(p, health) for p in shortest_paths(model, states, facts, prefer, entry)]
        fates.extend(by_entry[entry])
    alive = [f for f in fates if f.alive]
    alive_terminals = {f.terminal for f in alive}
    # A surviving terminal is a root when nothing it depends on survives too: a failure below it
    # would explain it (php-fpm-green failing because rds is down is one chain, not two).
    explained = {t for t in alive_terminals if _below(model, t, states, facts) & alive_terminals}
    roots: list[RootCause] = []
    named: set[str] = set()
    for entry in entries:
        candidates = [f for f in by_entry[entry] if f.alive and f.terminal not in explained]
        if candidates:
            # Longest surviving path first; on equal length a confirmed failure beats a terminal
            # kept alive only by its ancestor, then path order (declaration order of the terminal).
            ranked = sorted(
                enumerate(candidates), key=lambda item: (-len(item[1].path), not item[1].confirmed, item[0])
            )
            found = [(f.terminal, f.path, f.confirmed) for _, f in ranked]
        elif health[entry].failing and not any(f.alive for f in by_entry[entry]):
            found = [(entry, [entry], True)]  # rule S3: only the entry itself is failing
        else:
            found = []
        for terminal, path, confirmed in found:
            # Past the first root, only confirmed failures are independent chains: a terminal kept
            # alive by a failing ancestor is a hypothesis, named only when it is the best there is.
            if terminal in named or (roots and not confirmed):
                continue
            named.add(terminal)
            roots.append(RootCause(terminal, states[terminal], tuple(path), confirmed))
    on_alive = {name for f in alive for name in f.path}
    undecided = [n for n, h in health.items() if is_undecided(h, facts)]
    # Rule S10: eliminated means ruled out by evidence. Nothing undecided, and nothing that depends
    # on something undecided (its chain could run through it), is eliminated.
    blocked = set(undecided) | {
        name for name in model.components if _below(model, name, states, facts) & set(undecided)
    }
    rooted = {r.component for r in roots}
    # Eliminated keeps the reference's meaning — ruled out as a cause of the first entry's symptoms
    # (the serving path), so the seed scenarios hold exactly — minus anything another entry's
    # surviving chain runs through.
    first = by_entry.get(model.entry, []) if model.entry else []
    eliminated = sorted({name for f in first if not f.alive for name in f.path} - on_alive - blocked - rooted)
    conclusion = Conclusion(
        model.entry,
        "none",
        fates=fates,
        states=states,
        health=health,
        eliminated=eliminated,
        entries=entries,
        roots=roots,
        undecided=undecided,
    )
    if roots:
        conclusion.root_cause, conclusion.path = roots[0].component, list(roots[0].path)
        conclusion.root_state = roots[0].state
    return conclusion
