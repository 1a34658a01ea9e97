"""The Releases page over HTTP when a record is malformed, and the headers it is sent with."""

from __future__ import annotations

import json
import urllib.request

from tests.ui.conftest import RECORDS


def configmap_api(view_env):
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(str(view_env.cluster.kubeconfig_path)))


def get_page(api_server) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(f"{api_server}/switchyard/releases", timeout=30) as answer:
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read().decode()


def test_the_page_forbids_scripts_by_its_content_security_policy(api_server):
    status, headers, _ = get_page(api_server)
    assert status == 200
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy  # so no script runs at all
    assert headers["x-content-type-options"] == "nosniff"


def test_one_malformed_record_is_shown_unreadable_and_the_others_normally(api_server, view_env):
    core = configmap_api(view_env)
    name = "switchyard-releases-acme-shop"
    original = core.read_namespaced_config_map(name, "default").data["history.json"]
    records = json.loads(original)
    records[0]["started_at"] = 5
    core.patch_namespaced_config_map(name, "default", {"data": {"history.json": json.dumps(records)}})
    try:
        status, _, page = get_page(api_server)
    finally:
        core.patch_namespaced_config_map(name, "default", {"data": {"history.json": original}})
    assert status == 200
    assert (
        f"release record #{records[0]['number']} (entry 1 of configmap default/{name}) is unreadable" in page
    )
    assert "field started_at must be a string, got 5" in page
    for run_id, *_ in RECORDS[1:]:
        assert run_id in page  # the other records are shown
