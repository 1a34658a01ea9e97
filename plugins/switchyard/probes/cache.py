"""Reads shared between facts: one API read answers every fact of an object for a few seconds.

A diagnose asks one fact per call; without this, the six facts of a deployment would be six GETs
of the same object. Only successful reads are kept: a failure is raised to the caller of that
read and the next call reads again (a 403 or a timeout must not outlive the probe that saw it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class ReadCache:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self.reads = 0  # API requests made (a cached answer is not one): the gate's trail reports it

    def get(self, key: Hashable, read: Callable[[], T]) -> T:
        """The value read for ``key`` less than ``seconds`` ago, else ``read()`` (kept if it succeeds)."""
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.seconds:
            return entry[1]
        self.reads += 1
        value = read()
        if self.seconds > 0:
            self._entries[key] = (now, value)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        """Keep a value read along with another (a lookup that returned the object itself)."""
        if self.seconds > 0:
            self._entries[key] = (self.clock(), value)

    def clear(self) -> None:
        self._entries.clear()
