"""Run artefacts over HTTP: ``/switchyard/artifacts/<dag_id>/<run_id>/<file>`` from the directory
the operators write to (``switchyard.airflow.artifacts.artifacts_root``), and nothing outside it.

A request path is refused (404, the same answer as a missing file, so nothing about the disk leaks)
when any segment is empty, ``.`` or ``..``, hidden (leading dot), or holds a backslash or NUL; and
when the resolved file — symlinks followed — is not inside the resolved root. Files go out with
``nosniff`` and a Content-Security-Policy that runs no script, so an SVG or HTML artefact cannot act
on the Airflow origin it is served from.
"""

from __future__ import annotations

from pathlib import Path

SUFFIX_TYPES = {
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".yaml": "text/plain; charset=utf-8",
    ".yml": "text/plain; charset=utf-8",
    ".mmd": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".log": "text/plain; charset=utf-8",
}
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
    "Cache-Control": "no-store",
}


def resolve_artifact(root: Path, relative: str) -> Path | None:
    """The file or directory ``relative`` names inside ``root``; None when it is absent or the path
    tries to leave the root (or reach a hidden file) in any way."""
    if not relative or "\x00" in relative or "\\" in relative or relative.startswith("/"):
        return None
    segments = relative.rstrip("/").split("/")
    if any(s in ("", ".", "..") or s.startswith(".") for s in segments):
        return None
    try:
        base = root.resolve(strict=True)
        target = base.joinpath(*segments).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    if target != base and not target.is_relative_to(base):
        return None
    return target if target.is_file() or target.is_dir() else None


def media_type(path: Path) -> str:
    return SUFFIX_TYPES.get(path.suffix.lower(), "application/octet-stream")


def listing(root: Path, directory: Path) -> list[tuple[str, bool]]:
    """``(name, is_directory)`` of the visible entries of a directory inside the root, sorted."""
    entries = []
    for child in sorted(directory.iterdir()):
        if child.name.startswith(".") or child.name.endswith(".tmp"):
            continue
        if resolve_artifact(root, child.relative_to(root.resolve()).as_posix()) is None:
            continue  # a symlink pointing out of the root is not listed either
        entries.append((child.name, child.is_dir()))
    return entries
