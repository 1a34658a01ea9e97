"""How the release path calls the Kubernetes API: one access layer, its rules in one place.

- **A request timeout on every call.** Each call passes ``_request_timeout`` (a call never waits
  forever on a half-open connection); the classes that call the API (``Switch``, ``Workloads``,
  ``ReleaseHistory``, ``ReleaseLock``) take ``request_timeout`` and default to ``REQUEST_TIMEOUT``
  (``CanaryIngress`` and the operators pass ``REQUEST_TIMEOUT``). ``release_client`` also sets
  ``CLIENT_REQUEST_TIMEOUT`` on any call that names none, as a backstop.
- **Retries only where the call site says so** (``retried``): bounded attempts with backoff, on a
  connection that failed before an answer, a 429 or a 5xx — never on another 4xx (a 403 or 404
  says the same the second time). Only idempotent calls are wrapped: reads (GET, LIST) and merge
  patches that set an absolute value (a selector, a replica count, an annotation), which leave the
  object the same however often they are applied. Creates, conditional replaces and deletes are
  not retried: their callers handle the 409 or 404 of a replay where they are made.
- **No retries hidden in the client.** urllib3's pools retry a failed connect or a dropped read
  three times by default, for every method and unseen by the caller; ``release_client`` turns that
  off, so ``retried`` is the only retry on the release path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3  # already loaded with Airflow; the kubernetes client is not (see ``retried``)

REQUEST_TIMEOUT = 10.0  # seconds any single Kubernetes API call may take
CLIENT_REQUEST_TIMEOUT = (5.0, 30.0)  # connect, read: for a call that names no timeout of its own
ATTEMPTS = 3  # in all, the first included
BACKOFF_SECONDS = 0.5  # before the 2nd attempt; doubled before each next one
MAX_DELAY_SECONDS = 10.0  # a Retry-After longer than this is capped
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# Failed before the server answered: a refused or timed-out connect, a connection reset or closed
# under the request. A read timeout is not here: the request timeout is the bound of one call, and
# retrying would multiply it.
# (NewConnectionError is a ConnectTimeoutError.)
CONNECTION_ERRORS = (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ProtocolError)

T = TypeVar("T")


def retried(
    call: Callable[..., T],
    *args: Any,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF_SECONDS,
    sleep: Callable[[float], Any] = time.sleep,
    **kwargs: Any,
) -> T:
    """``call(*args, **kwargs)``, an idempotent API call, tried up to ``attempts`` times: again after
    a connection error, a 429 or a 5xx (waiting ``backoff`` seconds, doubled each time, or the
    server's Retry-After), never after any other answer. The last error is raised as it came."""
    # Imported here: operators that DAG files import at parse time import this module.
    from kubernetes.client import ApiException

    for attempt in range(1, attempts + 1):
        try:
            return call(*args, **kwargs)
        except ApiException as exc:
            if exc.status not in RETRIED_STATUSES or attempt == attempts:
                raise
            delay = _retry_after(exc)
        except CONNECTION_ERRORS:
            if attempt == attempts:
                raise
            delay = None
        sleep(min(MAX_DELAY_SECONDS, delay if delay is not None else backoff * 2 ** (attempt - 1)))
    raise AssertionError("unreachable: the loop returns or raises")  # attempts < 1


def _retry_after(exc: Exception) -> float | None:
    value = (getattr(exc, "headers", None) or {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: use the backoff instead
        return None


def release_client(api_client: Any) -> Any:
    """The kubernetes ``ApiClient`` as the release path uses it (the provider hook's, usually):
    its pools retry nothing (see the module's doc) and a call that names no timeout gets
    ``CLIENT_REQUEST_TIMEOUT``. Returns the same client; applying it twice changes nothing."""
    rest = api_client.rest_client
    if getattr(rest, "switchyard_release_client", False):
        return api_client
    rest.pool_manager.connection_pool_kw["retries"] = False  # urllib3: no retry, the error raised as it is
    rest.pool_manager.clear()  # pools made before this keep the retries they were made with
    request = rest.request

    def with_timeout(method, url, *args, _request_timeout=None, **kwargs):
        return request(
            method, url, *args, _request_timeout=_request_timeout or CLIENT_REQUEST_TIMEOUT, **kwargs
        )

    rest.request = with_timeout
    rest.switchyard_release_client = True
    return api_client
