"""API clients from Airflow connections, each bounded by the probe's request timeout.

Kubernetes through the cncf-kubernetes provider's ``KubernetesHook`` and AWS through the amazon
provider's ``AwsBaseHook`` (its session: credentials, role assumption, region, per-service endpoint
URLs from the connection). Neither retries: a probe that waits is worse than a probe that says
``transient`` (the diagnose loop goes on with the next fact, the gate reports partial visibility),
and a retrying client multiplies the timeout (urllib3 retries a dropped read three times by default).
Provider modules are imported on first use, so importing ``switchyard.probes`` stays cheap.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

# Building a boto3 client through a hook costs 0.3-0.6 s: each hook makes its own boto3 Session,
# which loads and parses the endpoint and partition data again, then the service's model. A live
# gate used to build eight of them (most of its time). Now one session is made per connection,
# through the amazon provider's hook (credentials, role assumption, region and endpoint URLs as the
# connection says), and every client comes from it: the endpoint data is parsed once. Sessions and
# clients are thread-safe to use and are reused across probes in one process, keyed by everything
# that shapes them — including the connection as the environment defines it, so a changed
# AIRFLOW_CONN_* gets new ones — and rebuilt after CLIENT_TTL_SECONDS (credentials may rotate).
CLIENT_TTL_SECONDS = 600.0
_clients: dict[tuple, tuple[float, Any]] = {}
_sessions: dict[tuple, tuple[float, Any, Any]] = {}  # (conn id, definition) → (built at, hook, session)
_clients_lock = threading.Lock()  # creating clients from one boto3 Session is not thread-safe


def kubernetes_api_client(conn_id: str) -> Any:
    """A ``kubernetes.client.ApiClient`` from the connection, with retries off.

    Callers pass ``_request_timeout`` on every call (the provider's client only defaults it when the
    generated method leaves it out).
    """
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
    from kubernetes import client

    configuration = client.Configuration()
    configuration.retries = False  # urllib3: no retry, the original error is raised
    hook = KubernetesHook(conn_id=conn_id, client_configuration=configuration)
    return hook.api_client


def aws_client(service: str, conn_id: str | None, request_timeout: float, region: str | None = None) -> Any:
    """A boto3 client for ``service`` from the connection's session (one per connection, made by the
    amazon provider's hook), one attempt per call, built once per process (see ``CLIENT_TTL_SECONDS``)."""
    defined = os.environ.get(f"AIRFLOW_CONN_{(conn_id or '').upper()}", "")
    key = (service, conn_id, request_timeout, region, defined)
    now = time.monotonic()
    with _clients_lock:
        cached = _clients.get(key)
        if cached is not None and now - cached[0] < CLIENT_TTL_SECONDS:
            return cached[1]
        hook, session = _session(conn_id, defined, now)
        client = _build_aws_client(hook, session, service, request_timeout, region)
        _clients[key] = (now, client)
    return client


def forget_aws_clients() -> None:
    """Drop the sessions and clients built so far: the next call builds afresh (tests that hook
    botocore's events on new clients, or a changed connection that keeps its name)."""
    with _clients_lock:
        _clients.clear()
        _sessions.clear()


def _session(conn_id: str | None, defined: str, now: float) -> tuple[Any, Any]:
    """(hook, boto3 session) of the connection; the caller holds ``_clients_lock``."""
    cached = _sessions.get((conn_id, defined))
    if cached is not None and now - cached[0] < CLIENT_TTL_SECONDS:
        return cached[1], cached[2]
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    _credential_source_at_debug()
    hook = AwsBaseHook(aws_conn_id=conn_id, client_type="sts")
    session = hook.get_session(region_name=hook.region_name)
    _sessions[(conn_id, defined)] = (now, hook, session)
    return hook, session


def _build_aws_client(
    hook: Any, session: Any, service: str, request_timeout: float, region: str | None
) -> Any:
    from botocore.config import Config

    config = hook.config.merge(
        Config(
            connect_timeout=request_timeout,
            read_timeout=request_timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
    )
    return session.client(
        service_name=service,
        region_name=region or hook.region_name,
        endpoint_url=hook.conn_config.get_service_endpoint_url(service_name=service),
        config=config,
        verify=hook.verify,
    )


class _CredentialSourceAtDebug:
    """The amazon provider's connection wrapper says at info where it found the credentials
    ("… credentials retrieved from login and password.") each time a hook builds a client, i.e.
    on every AWS probe; this logger proxy says it at debug and passes everything else through."""

    _QUIET = ("credentials retrieved from", "session token retrieved from")

    def __init__(self, log: Any) -> None:
        self._wrapped = log

    def info(self, event: Any, *args: Any, **kwargs: Any) -> Any:
        if any(text in str(event) for text in self._QUIET):
            return self._wrapped.debug(event, *args, **kwargs)
        return self._wrapped.info(event, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


def _credential_source_at_debug() -> None:
    """Give AwsConnectionWrapper a class-level logger (LoggingMixin uses ``_log`` when set)."""
    from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

    if not isinstance(getattr(AwsConnectionWrapper, "_log", None), _CredentialSourceAtDebug):
        import structlog

        name = f"{AwsConnectionWrapper.__module__}.{AwsConnectionWrapper.__name__}"
        AwsConnectionWrapper._log = _CredentialSourceAtDebug(structlog.get_logger(name))
