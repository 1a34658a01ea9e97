"""The Releases view's "Roll back now" / "Promote now" on the real api-server, with two real users
(SimpleAuthManager: ``editor`` may edit DAG runs, ``viewer`` may only read) logged in by Airflow's
``_token`` cookie, as the UI does. The buttons appear only for a run whose canary, watch or bake is
deferred (a task instance row in Airflow's database) and only to the editor; a form POST records
the request through the same path as the REST call; cross-site, tokenless, forged, expired or
foreign-origin POSTs are refused (403) and record nothing."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from html import unescape

import pytest
import requests
from kubernetes import client, config

from switchyard.airflow.ui.forms import issue_token, key_from_secret
from switchyard.release.records import ReleaseHistory
from tests.ui.conftest import JWT_SECRET, serve_api

DAG = "release_acme_shop"
WAITING = "manual__2026-03-06T09:00:00+00:00"  # its bake is deferred
BUSY = "manual__2026-03-07T09:00:00+00:00"  # InProgress too, but in a task that runs (smoke tests)
SECRET = JWT_SECRET  # the form key is derived from it
PASSWORDS = {"editor": "editor-pass-1", "viewer": "viewer-pass-1"}


@pytest.fixture(scope="module")
def users_server(view_env, tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-home-users")
    (home / "passwords.json").write_text(json.dumps(PASSWORDS))
    with serve_api(
        view_env,
        home,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="False",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="editor:user,viewer:viewer",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
    ) as base_url:
        yield base_url


def _login(base_url: str, user: str) -> requests.Session:
    answer = requests.post(
        f"{base_url}/auth/token", json={"username": user, "password": PASSWORDS[user]}, timeout=30
    )
    assert answer.status_code in (200, 201), answer.text
    session = requests.Session()
    session.cookies.set("_token", answer.json()["access_token"])  # what the UI's login sets
    return session


def _task(dag_id: str, run_id: str, task_id: str, state: str) -> None:
    """A run and one task instance in Airflow's database, as the scheduler leaves them."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import insert

    with create_session() as session:
        session.execute(
            insert(DagRun.__table__).values(
                dag_id=dag_id,
                run_id=run_id,
                run_type="manual",
                state="running",
                logical_date=None,
                data_interval_end=None,
                run_after=datetime.now(UTC),
            )
        )
        session.execute(
            insert(TaskInstance.__table__).values(
                dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=-1, state=state, pool="default_pool"
            )
        )


@pytest.fixture
def releases(view_env):
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    history = ReleaseHistory(
        client.CoreV1Api(config.new_client_from_config(str(view_env.cluster.kubeconfig_path))),
        "acme-shop",
        "default",
    )
    history.begin(WAITING, DAG, "v6", "green", previous_version="v1")
    history.begin(BUSY, DAG, "v7", "green", previous_version="v1")
    _task(DAG, WAITING, "bake", "deferred")
    _task(DAG, BUSY, "smoke_tests", "running")
    yield history
    history.update(lambda records: [r for r in records if r.run_id not in (WAITING, BUSY)])
    with create_session() as session:
        for table in (TaskInstance.__table__, DagRun.__table__):
            session.execute(delete(table).where(table.c.run_id.in_([WAITING, BUSY])))


def _forms(html: str) -> dict[str, dict[str, str]]:
    """run_id → {action, token} of every intervention form on the page."""
    found = {}
    for row in re.findall(r'<tr class="intervene" data-run="([^"]+)">(.*?)</tr>', html, re.S):
        run, body = unescape(row[0]), row[1]
        action = re.search(r'<form method="post" action="([^"]+)"', body)
        token = re.search(r'name="token" value="([^"]+)"', body)
        if action and token:
            found[run] = {"action": unescape(action.group(1)), "token": unescape(token.group(1))}
    return found


def _post(session, base_url, action_path, fields, origin=None, **headers):
    headers = {"Origin": base_url if origin is None else origin, **headers}
    headers = {k: v for k, v in headers.items() if v}
    return session.post(
        base_url + action_path, data=fields, headers=headers, allow_redirects=False, timeout=30
    )


def test_buttons_only_for_a_waiting_run_and_only_for_who_may_edit_its_runs(users_server, releases):
    editor, viewer = _login(users_server, "editor"), _login(users_server, "viewer")

    page = editor.get(f"{users_server}/switchyard/releases", timeout=30)
    assert page.status_code == 200
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no script
    forms = _forms(page.text)
    assert list(forms) == [WAITING]  # not BUSY (nothing deferred), not the finished releases
    assert forms[WAITING]["action"] == (
        f"/switchyard/dags/{DAG}/runs/manual__2026-03-06T09%3A00%3A00%2B00%3A00/intervention/form"
    )
    assert "Roll back now" in page.text and "Promote now" in page.text and "waiting in its bake" in page.text

    page = viewer.get(f"{users_server}/switchyard/releases", timeout=30)
    assert page.status_code == 200 and _forms(page.text) == {}
    assert "Roll back now" not in page.text and "needs edit permission" in page.text

    # The viewer is refused even with a token made for them (the permission is checked on the POST).
    token = issue_token(key_from_secret(SECRET), "viewer", DAG, WAITING)
    answer = _post(viewer, users_server, forms[WAITING]["action"], {"token": token, "action": "abort"})
    assert answer.status_code == 403
    assert releases.intervention(WAITING) == {}


def test_a_form_post_records_the_abort_and_comes_back_with_a_confirmation(users_server, releases):
    editor = _login(users_server, "editor")
    form = _forms(editor.get(f"{users_server}/switchyard/releases", timeout=30).text)[WAITING]
    answer = _post(
        editor,
        users_server,
        form["action"],
        {"token": form["token"], "action": "abort", "reason": "checkout errors <b>reported</b>"},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/switchyard/releases?")

    # What the trigger reads at its next sample: the request in the run's release record.
    request = releases.intervention(WAITING)
    assert (request["action"], request["user"], request["reason"]) == (
        "abort",
        "editor",
        "checkout errors <b>reported</b>",
    )

    back = editor.get(users_server + answer.headers["location"], timeout=30)
    notice = re.search(r'<div class="notice">(.*?)</div>', back.text, re.S).group(1)
    assert notice.startswith("abort requested by editor for release #")
    assert "&lt;b&gt;reported&lt;/b&gt;" in notice  # escaped: the page shows it, never runs it
    assert _forms(back.text) == {}  # one request per run: the buttons give way to what was asked
    assert "aborted by editor: checkout errors" in unescape(back.text)

    # A second POST (the same page's token, replayed) is not recorded over the first.
    again = _post(editor, users_server, form["action"], {"token": form["token"], "action": "promote"})
    assert again.status_code == 409 and "already has a request" in unescape(again.text)
    assert releases.intervention(WAITING)["action"] == "abort"


def test_cross_site_tokenless_forged_expired_or_foreign_posts_are_refused(users_server, releases):
    editor = _login(users_server, "editor")
    form = _forms(editor.get(f"{users_server}/switchyard/releases", timeout=30).text)[WAITING]
    key = key_from_secret(SECRET)
    path, good = form["action"], form["token"]
    issued = good.split(".")[0]
    attempts = {
        "no token": ({"action": "abort"}, None, {}),
        "forged token": ({"token": f"{issued}.{'0' * 64}", "action": "abort"}, None, {}),
        "made with another key": (
            {"token": issue_token(key_from_secret("guess"), "editor", DAG, WAITING), "action": "abort"},
            None,
            {},
        ),
        "expired token": (
            {"token": issue_token(key, "editor", DAG, WAITING, now=time.time() - 3600), "action": "abort"},
            None,
            {},
        ),
        "another run's token": (
            {"token": issue_token(key, "editor", DAG, BUSY), "action": "abort"},
            None,
            {},
        ),
        "foreign Origin": ({"token": good, "action": "abort"}, "https://evil.example", {}),
        "null Origin": ({"token": good, "action": "abort"}, "null", {}),
        "foreign Referer, no Origin": (
            {"token": good, "action": "abort"},
            "",
            {"Referer": "https://evil.example/page"},
        ),
        "no Origin or Referer": ({"token": good, "action": "abort"}, "", {}),
    }
    for name, (fields, origin, headers) in attempts.items():
        answer = _post(editor, users_server, path, fields, origin, **headers)
        assert answer.status_code == 403, f"{name}: {answer.status_code} {answer.text[:200]}"
        assert releases.intervention(WAITING) == {}, name
    # A valid form naming no known action is not recorded either.
    assert _post(editor, users_server, path, {"token": good, "action": "pause"}).status_code == 400
    assert releases.intervention(WAITING) == {}
    # Without the cookie there is no user at all.
    assert (
        _post(requests.Session(), users_server, path, {"token": good, "action": "abort"}).status_code == 401
    )
    # The real thing still works: the refusals left nothing behind.
    assert _post(editor, users_server, path, {"token": good, "action": "promote"}).status_code == 303
    assert releases.intervention(WAITING)["action"] == "promote"


def test_the_button_works_in_a_browser_without_a_script(users_server, releases, browser, tmp_path):
    """Chromium, the page's CSP as served (no script, forms to this host only): type a reason,
    click "Promote now", land back on the page with the confirmation."""
    token = _login(users_server, "editor").cookies["_token"]
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    context.add_cookies([{"name": "_token", "value": token, "url": users_server}])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{users_server}/switchyard/releases")
    row = page.locator(f'tr.intervene[data-run="{WAITING}"]')
    row.locator("input[name=reason]").fill("canary looks fine, ship it")
    page.screenshot(path=str(tmp_path / "waiting-run.png"), full_page=True)
    row.get_by_role("button", name="Promote now").click()
    page.wait_for_url("**/switchyard/releases?*")
    notice = page.locator(".notice").inner_text()
    assert notice.startswith("promote requested by editor for release #") and "ship it" in notice
    assert releases.intervention(WAITING)["reason"] == "canary looks fine, ship it"
    assert not [e for e in errors if "Content Security Policy" in e], errors  # the form was allowed
    page.screenshot(path=str(tmp_path / "after-promote.png"), full_page=True)
    context.close()
