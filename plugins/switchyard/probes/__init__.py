"""Live probes: read-only adapters that answer the diagnosis engine's facts (and the release's
read helpers) from Kubernetes, AWS and Prometheus through the Airflow providers' hooks, each read
bounded by a timeout and a failed read reported as unknown, never as healthy.

* ``LiveProbe`` (``live.py``) — the engine's ``Probe`` for every type of the catalog (families in
  ``kubernetes.py``, ``aws.py``; shared reads in ``cache.py``, answers in ``observation.py``,
  clients in ``clients.py``, error mapping in ``errors.py``);
* ``ClusterReader`` (``cluster.py``) — the views' bounded read client, deployment image and replicas
  (the live colour is the release switch's: ``switchyard.release.switch``);
* ``colour_metrics`` (``metrics.py``) — request rate, error ratio and p99 of one colour;
* ``image_exists`` (``ecr.py``) — whether a release image is in ECR.

May import: Airflow's providers (their hooks), the kubernetes client, boto3, ``switchyard.engine``,
``switchyard.release`` and itself; never the local environment. The engine never imports this
package; the CLI imports it only for ``diagnose --live``.
"""

from __future__ import annotations

from switchyard.probes.cluster import ClusterReader, DeploymentView
from switchyard.probes.ecr import ImageLookup, find_image, image_exists
from switchyard.probes.errors import ReadFailed
from switchyard.probes.live import LiveProbe
from switchyard.probes.metrics import ColourMetrics, colour_metrics

__all__ = [
    "ClusterReader",
    "ColourMetrics",
    "DeploymentView",
    "ImageLookup",
    "LiveProbe",
    "ReadFailed",
    "colour_metrics",
    "find_image",
    "image_exists",
]
