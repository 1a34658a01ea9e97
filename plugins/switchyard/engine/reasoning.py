"""The path engine: from facts to states, health, surviving paths and a root cause.

Data flows one way: facts → states (first matching ``when``) → health (rule S1) → shortest paths
from the entry point → path fates (rule S2 for unobserved terminals) → the root cause at the end
of the longest surviving path (rule S3 when only the entry is failing).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from switchyard.engine.expr import Unresolved, evaluate
from switchyard.engine.facts import FactStore
from switchyard.engine.model import Model

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


def shortest_paths(
    model: Model, states: dict[str, str], facts: FactStore, prefer: Iterable[str] = ()
) -> list[list[str]]:
    """One path per component reachable from the entry: the first breadth-first discovery.

    ``prefer`` lists components expanded before their siblings, so that shared dependencies are
    reached through them (a gate on the green colour walks to rds through green, not blue).
    """
    entry = model.entry
    if entry is None:
        return []
    preferred = set(prefer)
    visited = {entry}
    queue = deque([[entry]])
    paths: list[list[str]] = []
    while queue:
        path = queue.popleft()
        comp = model.components.get(path[-1])
        if comp is None:
            continue
        targets: list[str] = []
        for dep in comp.depends:
            if dep.while_rule is not None and evaluate(dep.while_rule, comp.name, facts, states.get).false:
                continue
            targets.extend(dep.targets)
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


def conclude(model: Model, facts: FactStore, prefer: Iterable[str] = ()) -> Conclusion:
    """Run the path engine on a set of facts."""
    states = derive_states(model, facts)
    health = assess(model, facts, states)
    entry = model.entry
    fates = [_fate(p, health) for p in shortest_paths(model, states, facts, prefer)]
    alive = [f for f in fates if f.alive]
    on_alive = {name for f in alive for name in f.path}
    eliminated = sorted({name for f in fates if not f.alive for name in f.path} - on_alive)
    conclusion = Conclusion(entry, "none", fates=fates, states=states, health=health, eliminated=eliminated)
    if alive:
        # Longest surviving path wins; on equal length a confirmed failure beats a terminal kept
        # alive only by its ancestor, then path order (declaration order of the terminal).
        best = min(enumerate(alive), key=lambda item: (-len(item[1].path), not item[1].confirmed, item[0]))[1]
        conclusion.root_cause, conclusion.path = best.terminal, list(best.path)
    elif entry is not None and health[entry].failing:
        conclusion.root_cause, conclusion.path = entry, [entry]  # rule S3
        conclusion.eliminated = [n for n in eliminated if n != entry]
    if conclusion.has_root:
        conclusion.root_state = states[conclusion.root_cause]
    return conclusion
