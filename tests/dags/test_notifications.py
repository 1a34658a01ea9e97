"""Release notifications never put a connection's secret in a log."""

from __future__ import annotations

import json
import logging

from switchyard.airflow.notifications import connection_secrets, notify

TOKEN = "s3cr3tT0kenValue0123456789"


def test_every_form_of_a_webhook_token_is_masked(monkeypatch, caplog):
    from airflow.sdk._shared.secrets_masker.secrets_masker import redact

    # a webhook on a closed local port: sending fails, the client and our warning log the attempt
    url = f"http://127.0.0.1:9/services/T0000000/B0000000/{TOKEN}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_WEBHOOK_DEFAULT", json.dumps({"conn_type": "slackwebhook", "password": url})
    )
    with caplog.at_level(logging.DEBUG):
        assert notify("[switchyard] acme-shop v2: released") == "log (slack failed)"
    # what a retry message shows: the path only, or the token alone
    for line in (f"POST /services/T0000000/B0000000/{TOKEN} failed, retrying", f"token={TOKEN}", url):
        assert TOKEN not in redact(line), line
    for record in caplog.records:
        assert TOKEN not in str(redact(record.getMessage()))


def test_secret_forms_of_extras_and_plain_tokens():
    assert {"T0000000/B0000000/" + TOKEN, TOKEN} <= connection_secrets("T0000000/B0000000/" + TOKEN)
    assert TOKEN in connection_secrets(None, {"webhook_token": TOKEN, "timeout": "30"})
    assert "30" not in connection_secrets(None, {"timeout": "30"})
