"""API clients from Airflow connections, each bounded by the probe's request timeout.

Kubernetes through the cncf-kubernetes provider's ``KubernetesHook`` and AWS through the amazon
provider's hooks (``RdsHook``, ``S3Hook``, ``SsmHook``, ``EcrHook``, else ``AwsBaseHook`` with the
service's ``client_type``). Neither retries: a probe that waits is worse than a probe that says
``transient`` (the diagnose loop goes on with the next fact, the gate reports partial visibility),
and a retrying client multiplies the timeout (urllib3 retries a dropped read three times by default).
Provider modules are imported on first use, so importing ``switchyard.probes`` stays cheap.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

# Building a boto3 client through a hook costs 0.3-0.6 s (the service model is loaded and parsed):
# most of a live gate's time before this cache. Clients are thread-safe and reused across probes in
# one process, keyed by everything that shapes them — including the connection as the environment
# defines it, so a changed AIRFLOW_CONN_* gets a new client — and rebuilt after CLIENT_TTL_SECONDS
# (credentials from a connection may rotate).
CLIENT_TTL_SECONDS = 600.0
_clients: dict[tuple, tuple[float, Any]] = {}
_clients_lock = threading.Lock()

# The services with a typed hook in the amazon provider; the others use AwsBaseHook(client_type=...).
_AWS_HOOKS = {
    "rds": ("airflow.providers.amazon.aws.hooks.rds", "RdsHook"),
    "s3": ("airflow.providers.amazon.aws.hooks.s3", "S3Hook"),
    "ssm": ("airflow.providers.amazon.aws.hooks.ssm", "SsmHook"),
    "ecr": ("airflow.providers.amazon.aws.hooks.ecr", "EcrHook"),
}


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
    """A boto3 client for ``service`` from the amazon provider's hook, one attempt per call, built
    once per process (see ``CLIENT_TTL_SECONDS``)."""
    defined = os.environ.get(f"AIRFLOW_CONN_{(conn_id or '').upper()}", "")
    key = (service, conn_id, request_timeout, region, defined)
    now = time.monotonic()
    with _clients_lock:
        cached = _clients.get(key)
        if cached is not None and now - cached[0] < CLIENT_TTL_SECONDS:
            return cached[1]
    client = _build_aws_client(service, conn_id, request_timeout, region)
    with _clients_lock:
        _clients[key] = (now, client)
    return client


def forget_aws_clients() -> None:
    """Drop the clients built so far: the next call builds afresh (tests that hook botocore's
    events on new clients, or a changed connection that keeps its name)."""
    with _clients_lock:
        _clients.clear()


def _build_aws_client(service: str, conn_id: str | None, request_timeout: float, region: str | None) -> Any:
    import importlib

    from botocore.config import Config

    config = Config(
        connect_timeout=request_timeout,
        read_timeout=request_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    kwargs: dict[str, Any] = {"aws_conn_id": conn_id, "config": config}
    if region:
        kwargs["region_name"] = region
    if service in _AWS_HOOKS:
        module, name = _AWS_HOOKS[service]
        hook = getattr(importlib.import_module(module), name)(**kwargs)
    else:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        hook = AwsBaseHook(client_type=service, **kwargs)
    _credential_source_at_debug()
    return hook.conn


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
