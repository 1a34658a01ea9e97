"""The fact store: what is known about each component, injected by a scenario or probed live.

Append-only; a lookup returns the latest fact for (component, name). A fact may carry no value
and a status (``forbidden``, ``transient``, ``not_found``, ``missing``): the component counts as
observed, but rules reading that fact are unresolved — unknown, never false.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

OK = "ok"
UNKNOWN_STATUSES = ("forbidden", "transient", "not_found", "missing")


@dataclass(frozen=True)
class Fact:
    component: str
    name: str
    value: Any
    status: str = OK
    source: str = "inject"
    at: float = field(default_factory=time.time)

    @property
    def known(self) -> bool:
        return self.status == OK and self.value is not None


class FactStore:
    def __init__(self, facts: Iterable[Fact] = ()) -> None:
        self._log: list[Fact] = []
        self._latest: dict[tuple[str, str], Fact] = {}
        self._components: set[str] = set()
        for fact in facts:
            self.add(fact)

    @classmethod
    def from_mapping(cls, inject: dict[str, dict[str, Any]], source: str = "inject") -> FactStore:
        return cls(Fact(c, k, v, OK, source) for c, values in inject.items() for k, v in values.items())

    def add(self, fact: Fact) -> None:
        self._log.append(fact)
        self._latest[(fact.component, fact.name)] = fact
        self._components.add(fact.component)

    def lookup(self, component: str, fact: str) -> tuple[Any, str] | None:
        found = self._latest.get((component, fact))
        return None if found is None else (found.value, found.status)

    def get(self, component: str, fact: str) -> Fact | None:
        return self._latest.get((component, fact))

    def observed(self, component: str) -> bool:
        """The component has at least one fact, even a value-less one."""
        return component in self._components

    def facts_of(self, component: str) -> dict[str, Fact]:
        return {name: f for (comp, name), f in self._latest.items() if comp == component}

    def unknown_facts(self) -> list[Fact]:
        """Latest facts that could not be read (forbidden, transient, ...), in the order seen."""
        return [f for f in self._latest.values() if f.status != OK]

    def __iter__(self):
        return iter(self._log)

    def __len__(self) -> int:
        return len(self._log)
