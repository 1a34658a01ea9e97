"""Every Kubernetes API call of the release domain names its request timeout: a call that leaves
``_request_timeout`` out waits as long as the client's default says (for the kubernetes client:
forever). Read from the source (every module of release/ that calls the API), so a new call
without one fails here, named by file and line."""

from __future__ import annotations

import ast
from pathlib import Path

RELEASE = Path(__file__).resolve().parents[2] / "plugins" / "switchyard" / "release"
# The generated clients' methods (CoreV1Api, AppsV1Api, CoordinationV1Api...): verb_namespaced_kind.
VERBS = ("read_", "list_", "create_", "replace_", "patch_", "delete_", "connect_")


def _api_calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr.startswith(VERBS)
        and "namespaced" in node.func.attr
    ]


def test_every_api_call_of_the_release_domain_has_a_request_timeout():
    calls = {path.name: _api_calls(path) for path in sorted(RELEASE.glob("*.py"))}
    assert (
        sum(len(c) for c in calls.values()) > 30
    )  # the scan sees the calls (switch, workloads, records, lock)
    missing = [
        f"{name}:{call.lineno} {call.func.attr}"
        for name, found in calls.items()
        if name != "discover.py"  # the read-only model drafter, run by hand from the CLI
        for call in found
        if not any(k.arg == "_request_timeout" or k.arg is None for k in call.keywords)
    ]
    assert missing == []
