"""Fixtures for the Releases view: a seeded cluster with release records and artefacts, and
``airflow api-server`` on loopback serving the Switchyard plugin against it (one of each per
session, started only when a test asks).

The api-server runs as a subprocess with its own AIRFLOW_HOME, the session's metadata database,
SimpleAuthManager with every user an admin (no login page), the cluster's ``kubernetes_default``
connection in its environment and ``SWITCHYARD_ARTIFACTS_DIR`` pointing at the seeded artefacts.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_BEHAVIOURS = ROOT / "include" / "behaviours" / "acme-shop.yaml"
UP_TIMEOUT_SECONDS = 300
DAG_ID = "release_acme_shop"
JWT_SECRET = "switchyard-releases-view-test-" + "0123456789abcdef" * 3

# The history the page must show (oldest first, as the ConfigMap keeps it).
CHAIN_V2 = [
    "cloudflare",
    "acme-shop-ingress",
    "acme-shop-svc",
    "acme-shop-nginx-green",
    "acme-shop-php-fpm-green",
    "rds",
]
CHAIN_V3 = [
    "cloudflare",
    "acme-shop-ingress",
    "acme-shop-svc",
    "acme-shop-nginx-green",
    "acme-shop-php-fpm-green",
    "external-secrets",
]
RECORDS = [
    # run_id, version, colour, final status, root cause, chain
    ("manual__2026-03-01T09:00:00+00:00", "v0", "green", "Superseded", "", []),
    ("manual__2026-03-02T09:00:00+00:00", "v1", "blue", "Active", "", []),
    ("manual__2026-03-03T09:00:00+00:00", "v2", "green", "RolledBack", "rds", CHAIN_V2),
    ("manual__2026-03-04T09:00:00+00:00", "v3", "green", "Failed", "external-secrets", CHAIN_V3),
]


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            "no /usr/bin/chromium: `make test` installs Debian's chromium when run as root with apt-get; "
            "else `apt-get install chromium` (Playwright's own browser download is never used)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class ViewEnv:
    cluster: object  # LocalEnvironment
    artifacts: Path
    outside: Path  # a file beside the artefacts root that must never be served


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def view_env(tmp_path_factory, airflow_db):
    """A cluster seeded like the demo (blue live at v1) plus four release records and the
    artefacts of the failed release."""
    from kubernetes import client, config

    from switchyard.airflow.artifacts import _safe as safe_part
    from switchyard.localenv.environment import DEFAULT_MODEL, LocalEnvironment
    from switchyard.release.records import ReleaseHistory

    base = tmp_path_factory.mktemp("releases-view")
    env = LocalEnvironment(
        DEFAULT_MODEL, behaviours=DEMO_BEHAVIOURS, state_dir=base / "localenv", with_aws=False
    )
    env.start()
    history = ReleaseHistory(
        client.CoreV1Api(config.new_client_from_config(str(env.kubeconfig_path))), "acme-shop", "default"
    )
    for run_id, version, colour, status, root, chain in RECORDS:
        history.begin(run_id, DAG_ID, version, colour, previous_version="")
        history.finish(run_id, status, root_cause=root, chain=chain)

    artifacts = base / "artifacts"
    run_dir = artifacts / safe_part(DAG_ID) / safe_part(RECORDS[-1][0])  # as write_artifact names it
    run_dir.mkdir(parents=True)
    (run_dir / "standby_gate.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>\n'
    )
    (run_dir / "standby_gate.json").write_text('{"outcome": "failing"}\n')
    (run_dir / ".hidden").write_text("not for the web\n")
    outside = base / "outside-secret.txt"
    outside.write_text("TOP SECRET\n")
    (run_dir / "escape.txt").symlink_to(outside)
    yield ViewEnv(env, artifacts, outside)
    env.stop()


@contextmanager
def serve_api(view_env, home: Path, **settings: str):
    """``airflow api-server`` on a free loopback port with ``settings`` added to its environment;
    yields its base URL."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **view_env.cluster.airflow_env(),  # kubernetes_default (+ prometheus_default) of the cluster
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "SWITCHYARD_ARTIFACTS_DIR": str(view_env.artifacts),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include")]),
        **settings,
    }
    log = (home / "api-server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow",
            "api-server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # generous: under `make test` on a loaded 2-core machine it has taken over 90 s to answer
    deadline = time.monotonic() + UP_TIMEOUT_SECONDS
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"api-server exited {process.returncode}:\n{(home / 'api-server.log').read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{base_url}/api/v2/version", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"api-server not up after {UP_TIMEOUT_SECONDS} s:\n{(home / 'api-server.log').read_text()[-3000:]}"
                )
            time.sleep(0.3)
        yield base_url
    finally:
        # The server and its worker share the session started for it: end that group, ours only.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def api_server(view_env, tmp_path_factory):
    """``airflow api-server`` on a free loopback port, every user an admin; yields its base URL."""
    with serve_api(view_env, tmp_path_factory.mktemp("airflow-home")) as base_url:
        yield base_url
