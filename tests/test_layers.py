"""The package's folders say what may import what; this test reads every module of the tree (no
hand list) and checks each import, including those inside functions, against the folder's rule.

    engine   → engine                                   (pure: no Airflow, no cluster or AWS client)
    release  → engine, release                          (kubernetes client allowed, no Airflow)
    probes   → engine, release, probes                  (Airflow's providers, kubernetes, boto3)
    airflow  → engine, release, probes, airflow         (Airflow)
    localenv → anything of switchyard; nothing outside localenv imports it (tests aside)
    top level (cli, __main__) → engine, release, probes
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "plugins" / "switchyard"
LAYERS = ("engine", "release", "probes", "airflow", "localenv")
ALLOWED_INTERNAL = {
    "engine": {"engine"},
    "release": {"engine", "release"},
    "probes": {"engine", "release", "probes"},
    "airflow": {"engine", "release", "probes", "airflow"},
    "localenv": set(LAYERS) | {""},
    "": {"engine", "release", "probes", ""},
}
# Third-party roots a layer must not import at all.
FORBIDDEN_EXTERNAL = {
    "engine": {"airflow", "kubernetes", "boto3", "botocore", "moto", "fastapi", "requests", "urllib3"},
    "release": {"airflow", "boto3", "botocore", "moto", "fastapi"},
    "probes": {"moto"},
    "airflow": {"moto"},
    "localenv": set(),
    "": {"airflow", "moto"},
}


def _layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else ""


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append((".".join(parts), path))
    return found


def _imports(path: Path, module: str) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = module.split(".")[: -node.level if path.name != "__init__.py" else None]
                if path.name == "__init__.py" and node.level > 1:
                    base = module.split(".")[: -(node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names.append((target, node.lineno))
            if target in {"switchyard", *(f"switchyard.{layer}" for layer in LAYERS)}:
                names += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
    return names


MODULES = _modules()


def test_the_tree_has_every_layer():
    layers = {_layer_of(name) for name, _ in MODULES}
    assert set(LAYERS) <= layers, layers
    assert len(MODULES) > 60  # the walk really found the package


@pytest.mark.parametrize("module,path", MODULES, ids=[name for name, _ in MODULES])
def test_module_imports_only_what_its_layer_may(module: str, path: Path):
    layer = _layer_of(module)
    refused = []
    for target, line in _imports(path, module):
        root = target.split(".")[0]
        if root == "switchyard":
            target_layer = _layer_of(target) if target.count(".") >= 1 else ""
            if target.count(".") == 1 and target.split(".")[1] in LAYERS:
                target_layer = target.split(".")[1]
            if target_layer not in ALLOWED_INTERNAL[layer]:
                refused.append(
                    f"{path.name}:{line} imports {target} ({layer or 'top level'} → {target_layer})"
                )
        elif root in FORBIDDEN_EXTERNAL[layer]:
            refused.append(f"{path.name}:{line} imports {target} (not allowed in {layer or 'top level'})")
    assert not refused, "\n".join(refused)


def test_the_rule_catches_a_wrong_import(tmp_path):
    """The check above would be vacuous if it could not see an import inside a function."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from switchyard.localenv.store import PODS\n    import airflow.sdk\n")
    targets = [t for t, _ in _imports(bad, "switchyard.engine.bad")]
    assert "switchyard.localenv.store" in targets and "airflow.sdk" in targets
    assert "localenv" not in ALLOWED_INTERNAL["engine"] and "airflow" in FORBIDDEN_EXTERNAL["engine"]
