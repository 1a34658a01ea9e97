"""``LiveProbe``: the diagnosis engine's facts, read from the live system.

It implements the engine's ``Probe`` protocol over two probe families, Kubernetes
(``switchyard.probes.kubernetes``) and AWS (``switchyard.probes.aws``), and maps every failure to a
status the engine treats as unknown, never false (``switchyard.probes.errors``):

===========================================  ===========  ====================================
what happened                                status       the fact
===========================================  ===========  ====================================
read succeeded                               ok           the value
Kubernetes 401/403, AWS AccessDenied & co.,  forbidden    unknown (partial visibility)
no AWS credentials
timeout, connection refused or dropped,      transient    unknown (partial visibility)
HTTP 429 / 5xx, AWS throttling / internal
errors, anything unclassified
object absent (404, ``*NotFound*``,          not_found    unknown — except where the type has a
``NoSuch*``)                                              fact meaning "absent": ssm ``exists``,
                                                          ecr ``exists``, s3 ``accessible`` → false
no read-only API answers the fact            missing      unknown (operator ``webhook_healthy``,
(or no CloudWatch datapoint)                              a metric without data)
===========================================  ===========  ====================================

Probes are read-only (GET/LIST, Describe*/Get*/List*/Head*), bounded by ``request_timeout`` with no
retries, and one read answers every fact of its object for ``cache_seconds``.
"""

from __future__ import annotations

import logging
from typing import Any

from switchyard.engine.diagnose import ProbeResult
from switchyard.engine.model import Component, Model
from switchyard.probes.aws import CLOUDFRONT_METRICS_REGION, AwsProbes
from switchyard.probes.cache import ReadCache
from switchyard.probes.errors import TRANSIENT, ReadFailed
from switchyard.probes.kubernetes import KubernetesProbes
from switchyard.probes.observation import Observation

log = logging.getLogger(__name__)


class LiveProbe:
    """Reads component facts from Kubernetes and AWS through Airflow connections.

    :param model: the system model (business processes are derived from what it says they depend on)
    :param kubernetes_conn_id: the cncf-kubernetes connection
    :param aws_conn_id: the amazon connection (its ``endpoint_url`` extra may point at a local AWS)
    :param prometheus_conn_id: the HTTP connection of the Prometheus API (for ``switchyard.probes.metrics``;
        no catalog fact reads it today)
    :param request_timeout: seconds any single API call may take before the fact is ``transient``
    :param cache_seconds: how long one successful read answers the facts of its object (0: never reuse)
    :param cloudfront_metrics_region: where CloudWatch holds CloudFront's metrics: us-east-1 in the
        commercial partition (another partition's global region elsewhere; None: the connection's)
    """

    # The engine's planner only asks generic-provider components when the probe can answer for the
    # operator. This one can for business processes (derived from their deployments); can_probe
    # still refuses the generic types it cannot observe (cdn, component).
    asks_operator = True

    def __init__(
        self,
        model: Model,
        *,
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str = "aws_default",
        prometheus_conn_id: str = "prometheus_default",
        request_timeout: float = 10.0,
        cache_seconds: float = 5.0,
        cloudfront_metrics_region: str | None = CLOUDFRONT_METRICS_REGION,
    ) -> None:
        self.model = model
        self.prometheus_conn_id = prometheus_conn_id
        self.request_timeout = request_timeout
        self.cache = ReadCache(cache_seconds)
        kubernetes = KubernetesProbes(model, kubernetes_conn_id, request_timeout, self.cache)
        aws = AwsProbes(aws_conn_id, request_timeout, self.cache, cloudfront_metrics_region)
        self.families: dict[str, Any] = {t: kubernetes for t in kubernetes.types}
        self.families.update({t: aws for t in aws.types})

    def can_probe(self, component: Component) -> bool:
        return component.type in self.families

    def probe(self, component: Component, fact: str) -> ProbeResult:
        family = self.families.get(component.type)
        if family is None:
            return ProbeResult(None, "missing", f"type {component.type} is not observable by the live probe")
        try:
            answer = family.fact(component, fact)
        except ReadFailed as exc:
            return ProbeResult(None, exc.status, exc.detail)
        except Exception as exc:  # a bug or a misconfigured connection: unknown, and visible in the log
            log.exception("probe %s.%s failed", component.name, fact)
            return ProbeResult(None, TRANSIENT, f"{type(exc).__name__}: {exc}")
        if isinstance(answer, Observation):
            return ProbeResult(answer.value, "ok", answer.detail)
        return ProbeResult(answer)
