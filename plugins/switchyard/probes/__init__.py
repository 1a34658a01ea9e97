"""Live probes: the diagnosis engine's facts read from Kubernetes, AWS and Prometheus through the
Airflow providers' hooks, and the small read helpers the release DAG uses.

* ``LiveProbe`` (``live.py``) — the engine's ``Probe`` for every type of the catalog.

Everything here is read-only. The engine never imports this package (it may import Airflow); the
CLI imports it only for ``diagnose --live``.
"""

from __future__ import annotations

from switchyard.probes.errors import ReadFailed
from switchyard.probes.live import LiveProbe

__all__ = ["LiveProbe", "ReadFailed"]
