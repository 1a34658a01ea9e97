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


def shown(text: object, limit: int = 80) -> str:
    """User-supplied text made safe to print on one line: quoted, control characters escaped
    (newlines, terminal escapes), cut at ``limit`` characters."""
    value = str(text)
    clipped = value[:limit] + ("…" if len(value) > limit else "")
    return repr(clipped)


def one_line(message: str, limit: int = 1000) -> str:
    """A message for a single line of output: control characters escaped, cut at ``limit``."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    return text[:limit] + ("…" if len(text) > limit else "")


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
