"""Run artefacts served by the plugin: the files under ``$SWITCHYARD_ARTIFACTS_DIR`` and nothing
else — over real HTTP against the api-server (raw request paths, so no client normalises ``..``),
and the path check itself."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

from switchyard.airflow.ui.artifacts import resolve_artifact
from tests.ui.conftest import DAG_ID


def raw_get(base_url: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET with the path sent exactly as written."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)  # a loaded machine
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def run_path(view_env) -> str:
    [run_dir] = [p for p in (view_env.artifacts / DAG_ID).iterdir()]
    return f"/switchyard/artifacts/{DAG_ID}/{run_dir.name}"


def test_an_artefact_is_served_with_a_safe_content_type(api_server, view_env):
    status, headers, body = raw_get(api_server, run_path(view_env) + "/standby_gate.svg")
    assert status == 200 and body.startswith(b"<svg")
    assert headers["content-type"].startswith("image/svg+xml")
    assert headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in headers["content-security-policy"]  # no script on Airflow's origin
    status, headers, body = raw_get(api_server, run_path(view_env) + "/standby_gate.json")
    assert status == 200 and headers["content-type"].startswith("application/json")


def test_a_run_directory_lists_its_visible_files(api_server, view_env):
    status, _, body = raw_get(api_server, run_path(view_env) + "/")
    assert status == 200
    text = body.decode()
    assert "standby_gate.svg" in text and "standby_gate.json" in text
    assert ".hidden" not in text and "escape.txt" not in text  # nor a symlink out of the root


@pytest.mark.parametrize(
    "tail",
    [
        "/../../../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/escape.txt",  # a symlink inside the run directory pointing outside the root
        "/.hidden",
        "/..%5c..%5coutside-secret.txt",
        "/%00standby_gate.svg",
        "/standby_gate.svg%00.txt",
    ],
)
def test_paths_that_leave_the_artefacts_directory_are_refused(api_server, view_env, tail):
    status, _, body = raw_get(api_server, run_path(view_env) + tail)
    assert status == 404, body[:200]
    assert b"TOP SECRET" not in body and b"root:" not in body


@pytest.mark.parametrize(
    "path",
    [
        "/switchyard/artifacts/../../../../etc/passwd",
        "/switchyard/artifacts/%2e%2e/%2e%2e/%2e%2e/outside-secret.txt",
        "/switchyard/artifacts/..%2f..%2foutside-secret.txt",
        "/switchyard/artifacts//etc/passwd",
        "/switchyard/artifacts/release_acme_shop/nonexistent/x.svg",
    ],
)
def test_paths_outside_any_run_are_refused(api_server, path):
    status, _, body = raw_get(api_server, path)
    assert status == 404, body[:200]
    assert b"TOP SECRET" not in body and b"root:" not in body


def test_resolve_artifact_stays_inside_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "dag" / "run").mkdir(parents=True)
    (root / "dag" / "run" / "a.svg").write_text("<svg/>")
    (tmp_path / "secret").write_text("x")
    (root / "dag" / "run" / "link").symlink_to(tmp_path / "secret")
    (root / "dag" / "inside-link").symlink_to(root / "dag" / "run")
    assert resolve_artifact(root, "dag/run/a.svg") == (root / "dag/run/a.svg").resolve()
    assert resolve_artifact(root, "dag/inside-link/a.svg") is not None  # a link that stays inside is fine
    for bad in [
        "",
        "/etc/passwd",
        "../secret",
        "dag/../../secret",
        "dag/run/../../../secret",
        "dag/run/link",
        "dag//run/a.svg",
        "dag/./run/a.svg",
        "dag\\run\\a.svg",
        "dag/run/a.svg\x00",
        ".",
        "dag/run/.x",
        "dag/run/missing.svg",
    ]:
        assert resolve_artifact(root, bad) is None, bad


def test_the_view_needs_an_authenticated_user():
    """Outside the all-admins test server: no session cookie or bearer token → 401 (Airflow's check)."""
    from fastapi.testclient import TestClient

    from switchyard.airflow.ui.app import create_app

    client = TestClient(create_app())
    assert client.get("/releases").status_code == 401
    assert client.get(f"/artifacts/{DAG_ID}/x/y.svg").status_code == 401
    assert client.get("/releases", headers={"Authorization": "Bearer not-a-token"}).status_code in (401, 403)
