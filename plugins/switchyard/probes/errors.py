"""How a failed read becomes a probe status: the error mapping, in one place.

A probe never turns what it could not see into ``false``. Each failure is classified:

* ``forbidden`` — the connection's identity may not read it (Kubernetes 401/403, AWS AccessDenied
  and the other authorisation codes, no credentials at all);
* ``transient`` — the API did not answer usefully this time (timeouts, refused or dropped
  connections, HTTP 429 and 5xx, AWS throttling and internal errors) and any failure we cannot
  classify: it may read fine on the next run;
* ``not_found`` — the object is not there (Kubernetes 404, AWS ``*NotFound*`` / ``NoSuch*`` codes,
  HTTP 404). Types with a fact that honestly means "absent" (``ssm_parameter.exists``,
  ``s3_bucket.accessible``) answer ``false`` for it instead; that decision is the probe's, not this
  module's.

The detail names the read (``GET deployments default/acme-shop-nginx-green``) and the answer (HTTP
status and reason, AWS error code): never a request body, a token or a parameter value.
"""

from __future__ import annotations

import json

from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError
from kubernetes.client.exceptions import ApiException

FORBIDDEN, TRANSIENT, NOT_FOUND, MISSING = "forbidden", "transient", "not_found", "missing"

_HINTS = {
    FORBIDDEN: "the connection's identity lacks read access (Kubernetes RBAC or the IAM policy)",
    TRANSIENT: "the API did not answer in time or failed; a later read may succeed",
    NOT_FOUND: "check the name, namespace or resource id in the model",
    MISSING: "no read-only API gives this fact",
}

_AWS_FORBIDDEN = {
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "AuthorizationError",
    "AuthorizationErrorException",
    "ExpiredToken",
    "ExpiredTokenException",
    "Forbidden",
    "ForbiddenException",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "OptInRequired",
    "SignatureDoesNotMatch",
    "UnauthorizedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
}
_AWS_TRANSIENT = {
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceError",
    "PriorRequestNotComplete",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
}
_DETAIL_LIMIT = 240


class ReadFailed(Exception):
    """A read-only call did not give the object: ``status`` is forbidden, transient, not_found or
    missing, ``detail`` what was read and what the API answered."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(f"{detail} ({status}: {_HINTS.get(status, '')})")
        self.status = status
        self.detail = detail


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def http_status(code: int) -> str:
    """The status of an HTTP error answer (any API: Kubernetes, Prometheus)."""
    if code in (401, 403):
        return FORBIDDEN
    if code == 404:
        return NOT_FOUND
    return TRANSIENT  # 408, 429, 5xx, and answers we cannot classify


def from_kubernetes(exc: BaseException, what: str) -> ReadFailed:
    """Classify an exception raised by the kubernetes client during ``what``."""
    if isinstance(exc, ReadFailed):
        return exc
    if isinstance(exc, ApiException) and exc.status:
        message = ""
        try:
            message = json.loads(exc.body or "{}").get("message", "")
        except (ValueError, AttributeError, TypeError):
            message = ""
        detail = f"{what}: HTTP {exc.status} {exc.reason or ''}".rstrip()
        return ReadFailed(
            http_status(int(exc.status)), _short(f"{detail} — {message}" if message else detail)
        )
    return ReadFailed(TRANSIENT, _short(f"{what}: {type(exc).__name__}: {exc}"))


def from_aws(exc: BaseException, what: str) -> ReadFailed:
    """Classify an exception raised by a boto3 client during ``what``."""
    if isinstance(exc, ReadFailed):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        code = str(error.get("Code") or "")
        http = int((exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
        message = error.get("Message") or ""
        detail = _short(f"{what}: {code or 'error'} (HTTP {http})" + (f" — {message}" if message else ""))
        if code in _AWS_FORBIDDEN or code.startswith("AccessDenied") or http in (401, 403):
            return ReadFailed(FORBIDDEN, detail)
        if code in _AWS_TRANSIENT or http == 429 or http >= 500:
            return ReadFailed(TRANSIENT, detail)
        if aws_not_found(code) or http == 404:
            return ReadFailed(NOT_FOUND, detail)
        return ReadFailed(TRANSIENT, detail)
    detail = _short(f"{what}: {type(exc).__name__}: {exc}")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return ReadFailed(FORBIDDEN, detail)
    return ReadFailed(TRANSIENT, detail)  # timeouts, refused/dropped connections, anything unclassified


def aws_not_found(code: str) -> bool:
    """``DBInstanceNotFound``, ``ParameterNotFound``, ``NotFoundException``, ``NoSuchBucket``, ``404``…"""
    return (
        code == "404"
        or code.startswith("NoSuch")
        or code.endswith(("NotFound", "NotFoundException", "NotFoundFault"))
    )
