"""A gate's verdict: healthy, failing (root causes and chains), or unknown (rule S6).

Unknown is never reported as healthy: a component the gate must vouch for whose facts could not
be read (forbidden, transient, missing) makes the verdict unknown unless a root cause is named;
so does a component that is failing where no path from any entry reaches it (no chain to name).

The wording keeps two things apart (rule S10): "not enough visibility" is said only of components
whose facts could not be read or do not decide their state, each with the facts that would decide
it; a component whose facts were read and show it failing is described by what was read
("not ready (0/2 replicas ready)"), never as a visibility problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from switchyard.engine.facts import OK, FactStore
from switchyard.engine.model import Model
from switchyard.engine.notation import chain_text, root_text
from switchyard.engine.reasoning import Conclusion, Health, needed_facts

HEALTHY, FAILING, UNKNOWN = "healthy", "failing", "unknown"


@dataclass
class Verdict:
    outcome: str
    root_cause: str = "none"
    root_state: str = ""
    root_confirmed: bool = False
    chain: list[str] = field(default_factory=list)
    roots: list[dict] = field(default_factory=list)  # every independent chain, the first is root_cause
    eliminated: list[str] = field(default_factory=list)
    unvouched: dict[str, str] = field(default_factory=dict)  # component → why it is not vouched for
    failing_unchained: list[str] = field(default_factory=list)  # unvouched: read and failing, no chain
    next_probes: dict[str, list[str]] = field(default_factory=dict)  # component → facts that would decide it
    partial_visibility: list[str] = field(default_factory=list)  # "component.fact (forbidden)"
    scope: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.outcome == HEALTHY

    def root_text(self) -> str:
        """The root cause as written everywhere: ``component (state)``."""
        return root_text(self.root_cause, self.root_state)

    def chain_text(self) -> str:
        """The chain as written everywhere: ``cloudflare → … → rds (stopped)`` (``-``: none)."""
        return chain_text(self.chain, self.root_state)

    @property
    def not_visible(self) -> dict[str, str]:
        """Unvouched components whose facts could not be read or do not decide them."""
        return {c: why for c, why in self.unvouched.items() if c not in self.failing_unchained}

    def unknown_text(self) -> str:
        """Why the outcome is unknown: failures read but not chained, then what could not be seen."""
        parts = []
        if self.failing_unchained:
            listed = "; ".join(f"{c}: {self.unvouched[c]}" for c in self.failing_unchained)
            parts.append(
                f"{len(self.failing_unchained)} component(s) failing with no chain to a root: {listed}"
            )
        hidden = self.not_visible
        if hidden:
            listed = "; ".join(f"{c}: {why}" for c, why in hidden.items())
            parts.append(f"not enough visibility to vouch for {len(hidden)} component(s): {listed}")
        return " — ".join(parts)

    def summary(self) -> str:
        """One paragraph for a log line, an exception message or a notification."""
        if self.outcome == FAILING:
            confirmed = (
                ""
                if self.root_confirmed
                else " (unconfirmed: its own facts are missing or unreadable; kept alive by a failing component before it)"
            )
            read = self.roots[0].get("read") if self.roots else ""
            text = (
                f"root cause: {self.root_text()}"
                + (f" — {read}" if read else "")
                + f"{confirmed}; chain: {self.chain_text()}"
            )
            if len(self.roots) > 1:
                others = "; ".join(
                    f"{root_text(r['root_cause'], r['root_state'])}"
                    + (f" — {r['read']}" if r.get("read") else "")
                    + f": {chain_text(r['chain'], r['root_state'])}"
                    for r in self.roots[1:]
                )
                text += f"; also failing independently: {others}"
            text += f"; eliminated: {', '.join(self.eliminated) or '-'}"
        elif self.outcome == HEALTHY:
            text = f"healthy: {len(self.scope)} component(s) vouched for"
        else:
            text = f"unknown — {self.unknown_text()}"
        if self.partial_visibility:
            text += f"; partial visibility: {', '.join(self.partial_visibility)}"
        return text

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "root_cause": self.root_cause,
            "root_state": self.root_state,
            "root_confirmed": self.root_confirmed,
            "chain": self.chain,
            "chain_text": self.chain_text() if self.outcome == FAILING else "",
            "roots": [{**r, "chain_text": chain_text(r["chain"], r["root_state"])} for r in self.roots],
            "eliminated": self.eliminated,
            "unvouched": self.unvouched,
            "failing_unchained": self.failing_unchained,
            "next_probes": self.next_probes,
            "partial_visibility": self.partial_visibility,
            "scope": self.scope,
            "summary": self.summary(),
        }


def what_was_read(health: Health, facts: FactStore) -> str:
    """A failing component described by the facts read: ``not ready (0/2 replicas ready)``,
    ``disabled (enabled=False, deployed=True)``, with any healthy rule found false."""
    known = {
        n: f.value for n, f in facts.facts_of(health.name).items() if f.status == OK and f.value is not None
    }
    ready, desired = known.get("ready_replicas"), known.get("desired_replicas")
    if isinstance(ready, int) and isinstance(desired, int) and ready < desired:
        restarts = known.get("restart_count")
        more = f", {restarts} restarts" if isinstance(restarts, int) and restarts > 0 else ""
        return f"not ready ({ready}/{desired} replicas ready{more})"  # the replicas say it all
    shown = ", ".join(f"{k}={v}" for k, v in list(known.items())[:4])
    text = f"{health.state} ({shown})" if shown else health.state
    if health.failed_rules:
        text += f", rule false: {', '.join(health.failed_rules)}"
    return text


def _read_if_failing(health: Health, facts: FactStore) -> str:
    return what_was_read(health, facts) if health.failing else ""


def deciding_facts(model: Model, name: str, facts: FactStore) -> list[str]:
    """The facts of a component that were not read (or not readable) and would decide it."""
    comp = model.components.get(name)
    if comp is None:
        return []
    return [f for f in needed_facts(comp) if (fact := facts.get(name, f)) is None or not fact.known]


def in_scope(conclusion: Conclusion, scope: Iterable[str] | None) -> Conclusion:
    """The conclusion as a gate over ``scope`` sees it (None: everything).

    A gate answers for its scope: a chain from another entry point that touches nothing in scope is
    not its failure (the standby colour's workers at 0 replicas before the switch, by design, must
    not fail the standby gate). Chains from the first entry — the serving path — always count.
    """
    if scope is None:
        return conclusion
    wanted = set(scope)
    roots = [r for r in conclusion.roots if r.path[0] == conclusion.entry or wanted & set(r.path)]
    if roots == conclusion.roots:
        return conclusion
    first = roots[0] if roots else None
    return replace(
        conclusion,
        roots=roots,
        root_cause=first.component if first else "none",
        root_state=first.state if first else "",
        path=list(first.path) if first else [],
    )


def verdict_for(
    model: Model, conclusion: Conclusion, facts: FactStore, scope: Iterable[str] | None
) -> Verdict:
    """Turn the engine's conclusion into a gate verdict over ``scope`` (None: what was observed)."""
    partial = [f"{f.component}.{f.name} ({f.status})" for f in facts.unknown_facts() if f.status != OK]
    explicit = scope is not None
    wanted = set(scope) if explicit else set()
    members = [c for c in model.components if (c in wanted if explicit else facts.observed(c))]
    verdict = Verdict(UNKNOWN, eliminated=conclusion.eliminated, partial_visibility=partial, scope=members)
    roots = in_scope(conclusion, scope).roots
    if roots:
        first = roots[0]
        verdict.outcome = FAILING
        verdict.root_cause, verdict.root_state = first.component, first.state
        verdict.root_confirmed = conclusion.health[first.component].failing
        verdict.chain = list(first.path)
        verdict.roots = [
            {**r.as_dict(), "read": _read_if_failing(conclusion.health[r.component], facts)} for r in roots
        ]
        return verdict
    for name in members:
        health = conclusion.health[name]
        unreadable = [f"{n} {f.status}" for n, f in facts.facts_of(name).items() if f.status != OK]
        if not health.observed:
            verdict.unvouched[name] = "not observed"
        elif health.failing:
            # Failing, yet no root was named: no path from any entry reaches it (a dependency
            # switched off by a while: rule). Say what was read; a gate cannot vouch for it.
            verdict.unvouched[name] = f"{what_was_read(health, facts)} — no path from an entry reaches it"
            verdict.failing_unchained.append(name)
        elif unreadable and not health.vouched:
            verdict.unvouched[name] = "could not read " + ", ".join(unreadable)
        elif health.unknown:
            read = [n for n, f in facts.facts_of(name).items() if f.known]
            verdict.unvouched[name] = f"state undecided from {', '.join(read) or 'no fact'}"
        elif explicit and not health.vouched:
            verdict.unvouched[name] = "rules undecided: " + ", ".join(health.unresolved_rules)
        else:
            continue
        if name in verdict.unvouched and name not in verdict.failing_unchained:
            deciding = deciding_facts(model, name, facts)
            if deciding:
                verdict.next_probes[name] = deciding
                if health.observed:
                    verdict.unvouched[name] += f" (would decide: {', '.join(deciding)})"
    verdict.outcome = UNKNOWN if verdict.unvouched else HEALTHY
    return verdict
