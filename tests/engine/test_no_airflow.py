"""The engine is a library: importing it and running the CLI must not need Airflow."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from .conftest import MODEL, ROOT, SCENARIOS

PACKAGE = ROOT / "plugins" / "switchyard"


def modules_without_airflow() -> list[str]:
    """Every module of the layers that must not need Airflow (engine, release) and the CLI, read
    from the tree: a new module is checked without anyone adding it to a list."""
    names = ["switchyard", "switchyard.cli"]
    for layer in ("engine", "release"):
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            names.append(".".join(parts))
    return names


ENGINE_MODULES = modules_without_airflow()


def test_the_module_list_is_the_tree():
    assert {"switchyard.engine.diagnose", "switchyard.release.evidence", "switchyard.release.records"} <= set(
        ENGINE_MODULES
    )


def test_engine_imports_and_runs_with_airflow_blocked():
    script = textwrap.dedent(
        f"""
        import importlib, sys
        sys.modules["airflow"] = None  # any `import airflow...` now raises ImportError
        for name in {ENGINE_MODULES!r}:
            importlib.import_module(name)
        from switchyard.cli import main
        code = main(["simulate", "--model", {str(MODEL)!r}, "--all", {str(SCENARIOS)!r}])
        leaked = sorted(m for m in sys.modules if m.split(".")[0] == "airflow" and sys.modules[m] is not None)
        print("airflow modules:", leaked)
        sys.exit(code)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "scenarios passed" in done.stdout
    assert "airflow modules: []" in done.stdout


def test_blocking_really_blocks():
    """The check above would be vacuous if sys.modules[...] = None did not stop an import."""
    script = 'import sys; sys.modules["airflow"] = None\ntry:\n    import airflow.models\nexcept ImportError:\n    print("blocked")\n'
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "blocked"
