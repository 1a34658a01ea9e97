"""Diagnose a live system: choose a fact, probe it, re-run the path engine, until decided.

The loop asks a ``Probe`` for one component fact per call. Forbidden and transient answers are
recorded as facts without a value (unknown, never false) and reported as partial visibility.

How the next probe is chosen:
1. the root is confirmed failing but something it depends on (transitively) is undecided → that,
   deepest chain first;
2. suspects the user named, in order;
3. once something is failing: the undecided components on surviving paths, longest path first,
   then the most depended-upon (a shared dependency explains more), then declaration order;
4. otherwise, top-down from each entry point (the symptom side), scope members first.
Each list is swept twice: first until every component's state is known (cheap, finds most
failures), then until every healthy rule is decided (a component is ruled out only when all its
rules are true). It stops when the root is confirmed with everything below it decided, when
nothing is left to probe, at the probe budget, or at the deadline; a run cut short with
components still undecided is unknown, never healthy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from switchyard.engine.catalog import GENERIC
from switchyard.engine.errors import shown
from switchyard.engine.facts import OK, Fact, FactStore
from switchyard.engine.model import Component, Model, closest
from switchyard.engine.reasoning import Conclusion, conclude, needed_facts, shortest_paths
from switchyard.engine.verdict import HEALTHY, UNKNOWN, Verdict, in_scope, verdict_for

__all__ = ["Diagnosis", "Probe", "ProbeResult", "ScenarioProbe", "diagnose", "needed_facts"]

BUDGET_EXHAUSTED, DEADLINE_EXCEEDED = "probe budget exhausted", "deadline exceeded"


@dataclass(frozen=True)
class ProbeResult:
    value: Any = None
    status: str = OK  # ok | not_found | forbidden | transient | missing
    detail: str = ""  # e.g. the API error, for the trail


class Probe(Protocol):
    def can_probe(self, component: Component) -> bool:
        """Whether this probe can observe the component at all (e.g. not a person-observed type)."""

    def probe(self, component: Component, fact: str) -> ProbeResult:
        """Read one fact of one component. Read-only."""


@dataclass
class TrailStep:
    number: int
    component: str
    fact: str
    value: Any
    status: str
    detail: str
    verdict: str  # what the component looked like after this probe: healthy, failing, undecided
    seconds: float

    def line(self) -> str:
        shown = self.value if self.status == OK else f"<{self.status}>"
        mark = {"healthy": "✓ healthy", "failing": "✗ failing"}.get(self.verdict, "? undecided")
        detail = f" ({self.detail})" if self.detail and self.status != OK else ""
        return f"▶ probe {self.component} {self.fact} = {shown}{detail}  {mark}"


@dataclass
class Diagnosis:
    verdict: Verdict
    conclusion: Conclusion
    trail: list[TrailStep]
    max_probes: int
    deadline_seconds: float
    elapsed: float
    stopped: str  # why the loop ended
    suspects: list[str] = field(default_factory=list)
    requests: int | None = None  # API requests the probe made (a live probe counts them), else None

    @property
    def probes_run(self) -> int:
        return len(self.trail)

    def suspect_hints(self) -> list[str]:
        hints = []
        for suspect in self.suspects:
            if suspect == self.verdict.root_cause:
                hints.append(f"suspect={suspect} — confirmed as root")
            elif suspect in self.verdict.chain:
                hints.append(
                    f"suspect={suspect} — appeared mid-chain; real root was {self.verdict.root_text()}"
                )
            else:
                hints.append(f"suspect={suspect} — not on the root chain")
        return hints

    def as_dict(self) -> dict:
        return {
            **self.verdict.as_dict(),
            "probes_run": self.probes_run,
            "max_probes": self.max_probes,
            "elapsed_seconds": round(self.elapsed, 3),
            "deadline_seconds": self.deadline_seconds,
            "stopped": self.stopped,
            "api_requests": self.requests,
            "suspects": self.suspect_hints(),
            "trail": [
                {
                    "component": s.component,
                    "fact": s.fact,
                    "value": s.value,
                    "status": s.status,
                    "detail": s.detail,
                    "seconds": round(s.seconds, 3),
                }
                for s in self.trail
            ],
        }


class _Planner:
    def __init__(
        self,
        model: Model,
        probe: Probe,
        facts: FactStore,
        scope: list[str] | None,
        suspects: list[str],
        prefer: list[str],
    ) -> None:
        self.model, self.probe, self.facts = model, probe, facts
        self.scope, self.suspects, self.prefer = scope, suspects, prefer
        self.fan_in = {name: len(model.dependents(name)) for name in model.components}
        self.height = _heights(model)

    def probeable(self, comp: Component) -> bool:
        if comp.type_def is None or (
            comp.type_def.provider == GENERIC and not getattr(self.probe, "asks_operator", False)
        ):
            return False
        return self.probe.can_probe(comp)

    def next_fact(self, name: str, conclusion: Conclusion, vouch: bool = True) -> str | None:
        """The next fact to read for a component, or None when it is decided or nothing is left.

        With ``vouch`` False a component in its default state counts as decided: a cheap sweep
        that finds state-level failures first. With ``vouch`` it is decided only when every healthy
        rule is true, since rule S1 makes a false healthy rule failing in any state (mq live with
        52,000 messages waiting).
        """
        comp = self.model.components.get(name)
        if comp is None or not self.probeable(comp):
            return None
        health = conclusion.health[name]
        if health.failing or health.vouched or (health.eliminated and not vouch):
            return None
        facts = needed_facts(comp, revealing_first=name in self.suspects)
        return next((f for f in facts if self.facts.get(name, f) is None), None)

    def choose(self, conclusion: Conclusion) -> tuple[str, str] | None:
        for name, vouch in self._sweep(conclusion):
            fact = self.next_fact(name, conclusion, vouch)
            if fact is not None:
                return name, fact
        return None

    def pending(self, conclusion: Conclusion) -> list[str]:
        """Components the loop would still read a fact of (for a verdict cut short)."""
        names = (name for name, vouch in self._sweep(conclusion) if vouch)
        return [n for n in dict.fromkeys(names) if self.next_fact(n, conclusion) is not None]

    def root_settled(self, conclusion: Conclusion) -> bool:
        if not conclusion.root_confirmed:
            return False
        return all(self.next_fact(name, conclusion, vouch) is None for name, vouch in self._sweep(conclusion))

    def _sweep(self, conclusion: Conclusion) -> Iterable[tuple[str, bool]]:
        """(component, vouch) in the order the loop reads them: states first, then healthy rules.

        Diagnose (no scope) vouches for every component it considers; a gate for its scope.

        Once the root is confirmed only what it depends on matters: its direct dependencies must
        be vouched for (one of them failing a rule would be the cause), and everything deeper must
        have a known state, since a dependency that looks healthy can pass a failure through (an
        operator that runs but cannot sync a deleted parameter).
        """
        if conclusion.root_confirmed:
            root = conclusion.root_cause
            yield from ((name, False) for name in self.below(root))
            yield from ((name, True) for name in self.model.components[root].depends_on)
            return
        yield from ((name, False) for name in self._candidates(conclusion))
        # A gate vouches for its scope only; elsewhere a known default state is enough for it.
        wanted = set(self.scope) if self.scope is not None else None
        yield from ((name, True) for name in self._candidates(conclusion) if wanted is None or name in wanted)

    def below(self, root: str) -> list[str]:
        """Everything the root depends on, transitively, deepest chain first (depth-first)."""
        order: list[str] = []
        seen = {root}

        def visit(name: str) -> None:
            comp = self.model.components.get(name)
            for dep in self._most_promising(comp.depends_on if comp else []):
                if dep not in seen and dep in self.model.components:
                    seen.add(dep)
                    order.append(dep)
                    visit(dep)

        visit(root)
        return order

    def _most_promising(self, names: Iterable[str]) -> list[str]:
        """Longest chain below first (the engine prefers longer chains), then most depended-upon."""
        model = self.model
        return sorted(
            names,
            key=lambda d: (
                -self.height.get(d, 0),
                -self.fan_in.get(d, 0),
                model.components[d].index if d in model.components else 0,
            ),
        )

    def _candidates(self, conclusion: Conclusion) -> Iterable[str]:
        model = self.model
        yield from self.suspects
        failing = [f.terminal for f in conclusion.alive_paths if f.confirmed]
        if failing:
            # Follow the failure down: the dependencies of the deepest failing component first.
            for name in reversed(failing):
                yield from self._most_promising(model.components[name].depends_on)
            alive = sorted(
                (f for f in conclusion.alive_paths),
                key=lambda f: (
                    -len(f.path),
                    -self.fan_in.get(f.terminal, 0),
                    model.components[f.terminal].index,
                ),
            )
            for fate in alive:
                yield fate.terminal
                yield from reversed(fate.path[:-1])
        # Every entry point (rule S11), the serving path's first: a crashed cron is an outage too.
        top_down: list[str] = []
        for entry in model.entries:
            top_down.append(entry)
            top_down += [
                p[-1] for p in shortest_paths(model, conclusion.states, self.facts, self.prefer, entry)
            ]
        top_down = list(dict.fromkeys(top_down))
        if self.scope is not None:
            wanted = set(self.scope)
            yield from (n for n in top_down if n in wanted)
            yield from (n for n in self.scope if n not in top_down)
        yield from top_down


def _heights(model: Model) -> dict[str, int]:
    """Length of the longest dependency chain below each component (the model is acyclic)."""
    heights: dict[str, int] = {}

    def height(name: str, trail: frozenset[str]) -> int:
        if name in heights:
            return heights[name]
        comp = model.components.get(name)
        below = [t for t in (comp.depends_on if comp else []) if t in model.components and t not in trail]
        heights[name] = 1 + max((height(t, trail | {name}) for t in below), default=-1)
        return heights[name]

    for name in model.components:
        height(name, frozenset())
    return heights


def diagnose(
    model: Model,
    probe: Probe,
    *,
    suspects: Iterable[str] = (),
    scope: Iterable[str] | None = None,
    prefer: Iterable[str] = (),
    max_probes: int = 20,
    deadline_seconds: float = 300.0,
    facts: FactStore | None = None,
    on_step: Callable[[TrailStep], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Diagnosis:
    """Probe the system until the engine can name a root cause, vouch for the scope, or must stop.

    :param scope: components a gate must vouch for (None: diagnose, no vouching required)
    :param prefer: components the path search expands first (the colour under test)
    :param suspects: components to probe first, e.g. where an alert points
    """
    facts = facts if facts is not None else FactStore()
    scope_list = None if scope is None else [c for c in scope if c in model.components]
    suspect_list = [s.partition(".")[0] for s in suspects]
    unknown_suspects = [s for s in suspect_list if s not in model.components]
    if unknown_suspects:
        names = list(model.components)
        described = []
        for name in unknown_suspects:
            guess = closest(name, names)
            described.append(f"{shown(name)}" + (f' (did you mean "{guess}"?)' if guess else ""))
        raise ValueError(f"unknown suspect component(s): {', '.join(described)}")
    prefer_list = list(prefer)
    planner = _Planner(model, probe, facts, scope_list, suspect_list, prefer_list)
    start = clock()
    trail: list[TrailStep] = []
    while True:
        conclusion = in_scope(conclude(model, facts, prefer_list), scope_list)
        if planner.root_settled(conclusion):
            stopped = "root cause confirmed"
            break
        choice = planner.choose(conclusion)
        if choice is None:
            stopped = "nothing left to probe"
            break
        if len(trail) >= max_probes:
            stopped = BUDGET_EXHAUSTED
            break
        if clock() - start > deadline_seconds:
            stopped = DEADLINE_EXCEEDED
            break
        name, fact = choice
        began = clock()
        try:
            result = probe.probe(model.components[name], fact)
        except Exception as exc:  # a probe that breaks is a transient unknown, never a crash at 3am
            result = ProbeResult(None, "transient", f"{type(exc).__name__}: {exc}")
        value = result.value if result.status == OK else None
        facts.add(Fact(name, fact, value, result.status, "probe"))
        after = in_scope(conclude(model, facts, prefer_list), scope_list).health[name]
        state = "failing" if after.failing else "healthy" if after.vouched else "undecided"
        step = TrailStep(
            len(trail) + 1, name, fact, value, result.status, result.detail, state, clock() - began
        )
        trail.append(step)
        if on_step:
            on_step(step)
    verdict = verdict_for(model, conclusion, facts, scope_list)
    if verdict.outcome == HEALTHY and stopped in (BUDGET_EXHAUSTED, DEADLINE_EXCEEDED):
        # Cut short with components still undecided: not healthy, not enough visibility (rule S6).
        for name in planner.pending(conclusion):
            verdict.unvouched[name] = f"undecided: {stopped} before it could be vouched for"
        verdict.outcome = UNKNOWN if verdict.unvouched else HEALTHY
    requests = getattr(probe, "requests", None)
    return Diagnosis(
        verdict,
        conclusion,
        trail,
        max_probes,
        deadline_seconds,
        clock() - start,
        stopped,
        suspect_list,
        requests if isinstance(requests, int) else None,
    )


class ScenarioProbe:
    """Answers probes from a scenario's injected facts (for simulate-style runs and benchmarks).

    Components the scenario does not describe cannot be observed (``describe_only``), or answer
    ``missing`` for every fact (``describe_only=False``, the stricter count).
    """

    def __init__(self, scenario, describe_only: bool = True) -> None:
        self.inject = scenario.inject
        self.unknown = scenario.unknown
        self.describe_only = describe_only

    def can_probe(self, component: Component) -> bool:
        return not self.describe_only or component.name in self.inject or component.name in self.unknown

    def probe(self, component: Component, fact: str) -> ProbeResult:
        status = self.unknown.get(component.name, {}).get(fact)
        if status:
            return ProbeResult(None, status, f"injected {status}")
        values = self.inject.get(component.name, {})
        if fact in values:
            return ProbeResult(values[fact])
        return ProbeResult(None, "missing", "not in the scenario")
