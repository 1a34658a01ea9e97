"""What a probe family answers for one fact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Observation:
    """A fact's value and, when it took judgement to get it, why (kept in the diagnosis trail)."""

    value: Any
    detail: str = ""
