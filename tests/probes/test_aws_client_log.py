"""An AWS probe's client does not announce at info where its credentials came from (the amazon
provider's connection wrapper does so on every client it builds): that line is debug."""

from __future__ import annotations

import structlog

from switchyard.probes.clients import aws_client


def test_the_credential_source_line_is_debug_and_other_lines_pass(local_env, airflow_connections):
    with structlog.testing.capture_logs() as events:
        client = aws_client("s3", "aws_default", request_timeout=5)
        assert client.list_buckets()["Buckets"]  # a real call to the local AWS
    credential_lines = [e for e in events if "credentials retrieved from" in e["event"]]
    assert all(e["log_level"] == "debug" for e in credential_lines), credential_lines
    assert not [e for e in events if e["log_level"] == "info" and "retrieved from" in e["event"]]

    from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

    with structlog.testing.capture_logs() as events:
        AwsConnectionWrapper._log.info("a line the wrapper says at info")
    assert [(e["event"], e["log_level"]) for e in events] == [("a line the wrapper says at info", "info")]
