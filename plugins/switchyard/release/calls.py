"""How the release domain calls the Kubernetes API.

Every call on the release path passes ``_request_timeout`` (a call never waits forever on a
half-open connection); the classes that call the API (``Switch``, ``Workloads``, ``ReleaseHistory``,
``ReleaseLock``) take ``request_timeout`` and default to ``REQUEST_TIMEOUT``. Retries are the
release client's (``switchyard.airflow.operators.base.resilient``: bounded, idempotent methods
only), never the kubernetes client's own defaults; writes that may race (create, replace with a
resourceVersion) handle their 409 where they are made.
"""

from __future__ import annotations

REQUEST_TIMEOUT = 10.0  # seconds any single Kubernetes API call may take
