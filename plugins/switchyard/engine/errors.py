"""Exceptions of the engine. Each names the thing, the value and the fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where something is written: file, 1-based line and column (0 when unknown)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")
        return self.file


class SwitchyardError(Exception):
    """Base class: bad input the user can fix (the CLI exits 2 with the message)."""


class YamlError(SwitchyardError):
    """A file is not valid YAML, or has a duplicate key.

    ``str()`` is the whole one-line message (with the file); ``location`` and ``detail`` let a
    validation report show the position and the problem without repeating the file name.
    """

    def __init__(self, message: str, location: Location | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.location = location
        self.detail = detail or message


class ModelError(SwitchyardError):
    """A model cannot be used: it has validation errors."""

    def __init__(self, message: str, problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ScenarioError(SwitchyardError):
    """A scenario file cannot be read."""


class CatalogError(SwitchyardError):
    """A type catalog directory is malformed."""
