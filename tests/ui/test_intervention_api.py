"""The documented REST call of a person stepping in while a release waits: POST
/switchyard/dags/<dag_id>/runs/<run_id>/intervention on the real api-server; the request lands in
the release record with the caller's name, a second one is refused, and only JSON is accepted."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from kubernetes import client, config

from switchyard.release.records import ReleaseHistory

RUN = "manual__2026-03-05T09:00:00+00:00"


@pytest.fixture
def waiting_release(view_env):
    history = ReleaseHistory(
        client.CoreV1Api(config.new_client_from_config(str(view_env.cluster.kubeconfig_path))),
        "acme-shop",
        "default",
    )
    history.begin(RUN, "release_acme_shop", "v5", "green", previous_version="v1")
    yield history
    history.update(lambda records: [r for r in records if r.run_id != RUN])  # the other tests' history


def _post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_abort_is_recorded_with_who_asked_and_a_second_request_is_refused(api_server, waiting_release):
    url = f"{api_server}/switchyard/dags/release_acme_shop/runs/{RUN}/intervention"
    status, answer = _post(url, json.dumps({"action": "abort", "reason": "support tickets"}).encode())
    assert status == 202, answer
    assert answer["intervention"]["action"] == "abort" and answer["intervention"]["user"]
    assert answer["says"].startswith("aborted by ") and answer["says"].endswith(": support tickets")
    assert waiting_release.intervention(RUN)["reason"] == "support tickets"

    status, answer = _post(url, json.dumps({"action": "promote"}).encode())
    assert status == 409 and "already has a request" in answer["detail"]


def test_only_json_naming_a_known_action_is_accepted(api_server, waiting_release):
    url = f"{api_server}/switchyard/dags/release_acme_shop/runs/{RUN}/intervention"
    assert _post(url, b"action=abort", "application/x-www-form-urlencoded")[0] == 422
    assert _post(url, json.dumps({"action": "pause"}).encode())[0] == 422
    assert _post(
        f"{api_server}/switchyard/dags/release_nope/runs/{RUN}/intervention", b'{"action": "abort"}'
    )[0] in (403, 404)
    assert waiting_release.intervention(RUN) == {}
