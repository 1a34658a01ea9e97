"""The error mapping on its own: what each Kubernetes / AWS failure becomes (no network)."""

from __future__ import annotations

import json

import pytest
import urllib3
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, NoCredentialsError
from kubernetes.client.exceptions import ApiException

from switchyard.probes.errors import from_aws, from_kubernetes


def _api_exception(status, reason, message=""):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps({"kind": "Status", "message": message}) if message else None
    return exc


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        (401, "Unauthorized", "forbidden"),
        (403, "Forbidden", "forbidden"),
        (404, "Not Found", "not_found"),
        (408, "Request Timeout", "transient"),
        (409, "Conflict", "transient"),
        (429, "Too Many Requests", "transient"),
        (500, "Internal Server Error", "transient"),
        (503, "Service Unavailable", "transient"),
        (504, "Gateway Timeout", "transient"),
    ],
)
def test_kubernetes_http_answers(status, reason, expected):
    failed = from_kubernetes(_api_exception(status, reason, "why it says"), "GET deployments default/x")
    assert failed.status == expected
    assert failed.detail == f"GET deployments default/x: HTTP {status} {reason} — why it says"


@pytest.mark.parametrize(
    "exc",
    [
        urllib3.exceptions.ReadTimeoutError(None, "/apis", "Read timed out. (read timeout=0.3)"),
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
        urllib3.exceptions.NewConnectionError(None, "Connection refused"),
        ConnectionRefusedError(111, "Connection refused"),
        ApiException(status=0, reason="no answer"),
    ],
)
def test_kubernetes_no_answer_is_transient(exc):
    failed = from_kubernetes(exc, "GET pods")
    assert failed.status == "transient" and failed.detail.startswith("GET pods: ")


def _client_error(code, http, message="the message"):
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": http}},
        "Describe",
    )


@pytest.mark.parametrize(
    ("code", "http", "expected"),
    [
        ("AccessDenied", 403, "forbidden"),
        ("AccessDeniedException", 400, "forbidden"),
        ("UnauthorizedOperation", 403, "forbidden"),
        ("AuthorizationError", 403, "forbidden"),
        ("ExpiredToken", 400, "forbidden"),
        ("403", 403, "forbidden"),  # HeadBucket has no body: the code is the status
        ("Throttling", 400, "transient"),
        ("ThrottlingException", 400, "transient"),
        ("RequestLimitExceeded", 503, "transient"),
        ("TooManyRequestsException", 429, "transient"),
        ("SlowDown", 503, "transient"),
        ("InternalFailure", 500, "transient"),
        ("ServiceUnavailable", 503, "transient"),
        ("DBInstanceNotFound", 404, "not_found"),
        ("CacheClusterNotFound", 404, "not_found"),
        ("ParameterNotFound", 400, "not_found"),
        ("NotFoundException", 404, "not_found"),
        ("NoSuchBucket", 404, "not_found"),
        ("NoSuchDistribution", 404, "not_found"),
        ("RepositoryNotFoundException", 400, "not_found"),
        ("404", 404, "not_found"),
        ("ValidationError", 400, "transient"),  # unclassified: unknown, never false
    ],
)
def test_aws_error_codes(code, http, expected):
    failed = from_aws(_client_error(code, http), "DescribeDBInstances rds")
    assert failed.status == expected
    assert failed.detail == f"DescribeDBInstances rds: {code} (HTTP {http}) — the message"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (NoCredentialsError(), "forbidden"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "transient"),
        (ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"), "transient"),
    ],
)
def test_aws_without_an_answer(exc, expected):
    failed = from_aws(exc, "GetParameter /p")
    assert failed.status == expected and failed.detail.startswith(f"GetParameter /p: {type(exc).__name__}")


def test_details_are_short():
    failed = from_aws(_client_error("AccessDenied", 403, "x" * 5000), "ListBrokers")
    assert len(failed.detail) <= 240


def test_no_parameter_value_in_what_the_probe_reports(local_env, make_probe):
    ssm = local_env.model.components["ssm-app-config"]
    probe = make_probe()
    results = [probe.probe(ssm, fact) for fact in ssm.type_def.facts]
    assert all("APP_NAME" not in repr(r) for r in results)
    assert all("APP_NAME" not in repr(v) for v in probe.cache._entries.values())
