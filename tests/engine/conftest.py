"""Fixtures for the engine tests: the acme-shop model and a writer for small models in tmp_path.

Nothing here imports Airflow; the engine must not need it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from switchyard.engine.catalog import load_catalog
from switchyard.engine.model import Model, load_model

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "include" / "models" / "acme-shop.model.yaml"
SCENARIOS = ROOT / "include" / "scenarios" / "acme-shop"


@pytest.fixture(autouse=True)
def _no_user_types(monkeypatch):
    """A developer's SWITCHYARD_TYPES must not change what the engine tests see."""
    monkeypatch.delenv("SWITCHYARD_TYPES", raising=False)


@pytest.fixture(scope="session")
def acme() -> Model:
    return load_model(MODEL, load_catalog(use_env=False))


@pytest.fixture
def write(tmp_path):
    """write("m.yaml", text) → path; the text is dedented so tests can indent it inline."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write
