"""A gate's verdict: healthy, failing (root cause and chain), or unknown (rule S6).

Unknown is never reported as healthy: a component the gate must vouch for whose facts could not
be read (forbidden, transient, missing) makes the verdict unknown unless a root cause is named;
so does a component that is failing where no path from the entry reaches it (no chain to name).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from switchyard.engine.facts import OK, FactStore
from switchyard.engine.model import Model
from switchyard.engine.reasoning import Conclusion

HEALTHY, FAILING, UNKNOWN = "healthy", "failing", "unknown"


@dataclass
class Verdict:
    outcome: str
    root_cause: str = "none"
    root_state: str = ""
    root_confirmed: bool = False
    chain: list[str] = field(default_factory=list)
    eliminated: list[str] = field(default_factory=list)
    unvouched: dict[str, str] = field(default_factory=dict)  # component → why it is not vouched for
    partial_visibility: list[str] = field(default_factory=list)  # "component.fact (forbidden)"
    scope: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.outcome == HEALTHY

    def summary(self) -> str:
        """One paragraph for a log line, an exception message or a notification."""
        if self.outcome == FAILING:
            confirmed = (
                ""
                if self.root_confirmed
                else " (unconfirmed: its own facts are missing or unreadable; kept alive by a failing component before it)"
            )
            text = (
                f"root cause: {self.root_cause} ({self.root_state}){confirmed}; chain: {' → '.join(self.chain)}; "
                f"eliminated: {', '.join(self.eliminated) or '-'}"
            )
        elif self.outcome == HEALTHY:
            text = f"healthy: {len(self.scope)} component(s) vouched for"
        else:
            reasons = "; ".join(f"{c}: {why}" for c, why in self.unvouched.items())
            text = (
                f"unknown — not enough visibility to vouch for {len(self.unvouched)} component(s): {reasons}"
            )
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
            "eliminated": self.eliminated,
            "unvouched": self.unvouched,
            "partial_visibility": self.partial_visibility,
            "scope": self.scope,
            "summary": self.summary(),
        }


def verdict_for(
    model: Model, conclusion: Conclusion, facts: FactStore, scope: Iterable[str] | None
) -> Verdict:
    """Turn the engine's conclusion into a gate verdict over ``scope`` (None: what was observed)."""
    partial = [f"{f.component}.{f.name} ({f.status})" for f in facts.unknown_facts() if f.status != OK]
    explicit = scope is not None
    members = [c for c in model.components if (c in set(scope) if explicit else facts.observed(c))]
    verdict = Verdict(UNKNOWN, eliminated=conclusion.eliminated, partial_visibility=partial, scope=members)
    if conclusion.has_root:
        verdict.outcome = FAILING
        verdict.root_cause, verdict.root_state = conclusion.root_cause, conclusion.root_state
        verdict.root_confirmed = conclusion.root_confirmed
        verdict.chain = conclusion.path
        return verdict
    for name in members:
        health = conclusion.health[name]
        unreadable = [f"{n} {f.status}" for n, f in facts.facts_of(name).items() if f.status != OK]
        if not health.observed:
            verdict.unvouched[name] = "not observed"
        elif health.failing:
            # Failing, yet no root was named: no path from the entry reaches it (a business process,
            # a second entry point). The path model cannot chain it, and a gate cannot vouch for it.
            rules = f"; false: {', '.join(health.failed_rules)}" if health.failed_rules else ""
            verdict.unvouched[name] = (
                f"failing ({health.state}{rules}) off every path from the entry {conclusion.entry or '-'}"
            )
        elif health.unknown or (unreadable and not health.vouched):
            verdict.unvouched[name] = "facts unknown: " + ", ".join(
                unreadable or health.unknown_facts or ["state undecided"]
            )
        elif explicit and not health.vouched:
            verdict.unvouched[name] = "rules undecided: " + ", ".join(health.unresolved_rules)
    verdict.outcome = UNKNOWN if verdict.unvouched else HEALTHY
    return verdict
