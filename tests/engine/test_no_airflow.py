"""The engine is a library: importing it and running the CLI must not need Airflow."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from .conftest import MODEL, ROOT, SCENARIOS

ENGINE_MODULES = [
    "switchyard",
    "switchyard.engine.errors",
    "switchyard.engine.yamlnodes",
    "switchyard.engine.expr",
    "switchyard.engine.catalog",
    "switchyard.engine.model",
    "switchyard.engine.facts",
    "switchyard.engine.reasoning",
    "switchyard.engine.verdict",
    "switchyard.engine.scenarios",
    "switchyard.engine.simulate",
    "switchyard.engine.chains",
    "switchyard.engine.diagnose",
    "switchyard.engine.report",
    "switchyard.cli",
]


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
