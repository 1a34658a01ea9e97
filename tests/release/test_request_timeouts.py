"""The release path's rules for Kubernetes API calls (``switchyard.release.calls``), read from the
source so that a new call that breaks one fails here, named by file and line:

- every call names its request timeout: a call that leaves ``_request_timeout`` out waits as long
  as the client's default says (for the kubernetes client: forever);
- every read (``read_*``, ``list_*``) goes through ``retried``, and nothing but idempotent calls do
  (no create, replace or delete is retried);
- no client is built with a retry of its own (a urllib3 ``Retry`` on the pools, or the client
  configuration's ``retries``): the only retries are the explicit ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "switchyard"
RELEASE = PACKAGE / "release"
# Modules that call the cluster on the release path: the domain and its Airflow adapters.
CALLERS = sorted([*RELEASE.glob("*.py"), *(PACKAGE / "airflow").rglob("*.py")])
# The generated clients' methods (CoreV1Api, AppsV1Api, CoordinationV1Api...): verb_namespaced_kind.
VERBS = ("read_", "list_", "create_", "replace_", "patch_", "delete_", "connect_")
NOT_RETRIED = ("create_", "replace_", "delete_", "connect_")


def _is_api_method(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr.startswith(VERBS) and "namespaced" in node.attr


def _api_calls(path: Path) -> list[tuple[str, ast.Call, bool]]:
    """(method, the call carrying its arguments, through ``retried``) for each API call: a direct
    ``api.read_namespaced_x(...)`` or ``retried(api.read_namespaced_x, ...)``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if _is_api_method(node.func):
            found.append((node.func.attr, node, False))
        elif (
            isinstance(node.func, ast.Name)
            and node.func.id == "retried"
            and node.args
            and _is_api_method(node.args[0])
        ):
            found.append((node.args[0].attr, node, True))
    return found


def _scan(paths) -> dict[str, list[tuple[str, ast.Call, bool]]]:
    return {
        str(path.relative_to(PACKAGE)): _api_calls(path)
        for path in paths
        if path.name != "discover.py"  # the read-only model drafter, run by hand from the CLI
    }


def test_every_api_call_of_the_release_path_has_a_request_timeout():
    calls = _scan(CALLERS)
    assert sum(len(c) for c in calls.values()) > 40  # the scan sees the calls (switch, workloads, ...)
    missing = [
        f"{name}:{call.lineno} {method}"
        for name, found in calls.items()
        for method, call, _ in found
        if not any(k.arg == "_request_timeout" or k.arg is None for k in call.keywords)
    ]
    assert missing == []


def test_reads_are_retried_explicitly_and_only_idempotent_calls_are():
    calls = _scan(CALLERS)
    unretried_reads = [
        f"{name}:{call.lineno} {method}"
        for name, found in calls.items()
        for method, call, through_retried in found
        if method.startswith(("read_", "list_")) and not through_retried
    ]
    retried_writes = [
        f"{name}:{call.lineno} {method}"
        for name, found in calls.items()
        for method, call, through_retried in found
        if method.startswith(NOT_RETRIED) and through_retried
    ]
    assert sum(r for found in calls.values() for *_, r in found) > 20  # the scan sees retried()
    assert (unretried_reads, retried_writes) == ([], [])


def test_no_client_is_built_with_a_retry_of_its_own():
    """No ``urllib3`` ``Retry`` anywhere in the package, and a client's ``retries`` (the
    configuration's, or the pools' ``connection_pool_kw``) is only ever set to False."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        where = f"{path.relative_to(PACKAGE)}"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("urllib3"):
                found += [f"{where}:{node.lineno} imports Retry" for a in node.names if a.name == "Retry"]
            elif isinstance(node, ast.Attribute) and node.attr == "Retry":
                found.append(f"{where}:{node.lineno} uses .Retry")
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    named = (isinstance(target, ast.Attribute) and target.attr == "retries") or (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.slice, ast.Constant)
                        and target.slice.value == "retries"
                    )
                    if named and not (isinstance(node.value, ast.Constant) and node.value.value is False):
                        found.append(f"{where}:{node.lineno} sets retries to {ast.unparse(node.value)}")
    assert found == []
