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
retries. Reads are batched — one LIST per Kubernetes kind and namespace, AWS describes and
CloudWatch metrics grouped over the model's components — and one read answers every fact of the
objects it returned for ``cache_seconds`` (a gate keeps them for its whole run).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
        aws = AwsProbes(aws_conn_id, request_timeout, self.cache, cloudfront_metrics_region, model=model)
        self.families: dict[str, Any] = {t: kubernetes for t in kubernetes.types}
        self.families.update({t: aws for t in aws.types})

    @property
    def requests(self) -> int:
        """API requests made so far (reads answered from the cache are not requests)."""
        return self.cache.reads

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


COLOUR_CHOICES = ("live", "blue", "green", "both")


@dataclass
class LiveView:
    """What a live diagnosis looks at: the model as traffic sees it, and why."""

    model: Model
    scope: list[str] | None  # None: vouch for what was observed
    prefer: list[str]
    colour: str  # blue | green | both
    note: str  # one line for the report: which colour, read from where, what was left out


def live_view(
    model: Model,
    colour: str = "live",
    *,
    kubernetes_conn_id: str = "kubernetes_default",
    request_timeout: float = 10.0,
) -> LiveView:
    """The view a live diagnosis reasons over, chosen as the gates choose it.

    ``live`` reads the colour the model's switch selects (its Service's selector, or the gateway's
    ConfigMap) and leaves the standby colour out: absent or scaled to zero between releases is not
    a fault. ``blue``/``green`` look at that colour as if it were live; ``both`` at the whole model.
    """
    from switchyard.release.colours import other
    from switchyard.release.spec import release_spec

    if colour not in COLOUR_CHOICES:
        raise ValueError(f"--colour {colour!r} must be one of {', '.join(COLOUR_CHOICES)}")
    if colour == "both":
        return LiveView(model, None, [], "both", "both colours: the whole model")
    try:
        spec = release_spec(model)
    except ValueError as exc:
        if colour != "live":
            raise ValueError(f"--colour {colour}: {exc}") from None
        return LiveView(model, None, [], "both", f"no blue/green layout ({exc}): the whole model")
    shape = spec.layout
    source = f"--colour {colour}"
    if colour == "live":
        from switchyard.probes.cluster import ClusterReader

        reader = ClusterReader(kubernetes_conn_id=kubernetes_conn_id, request_timeout=request_timeout)
        try:
            selected, source = _selected_colour(spec, reader)
        except Exception as exc:  # forbidden, unreachable: say so and look at everything
            detail = exc.detail if isinstance(exc, ReadFailed) else f"{type(exc).__name__}: {exc}"
            return LiveView(model, None, [], "both", f"could not read the switch ({detail}): the whole model")
        if selected is None:
            return LiveView(model, None, [], "both", f"no colour selected by {source}: the whole model")
        colour = selected
    standby = other(colour)
    return LiveView(
        shape.live_path(colour),
        None,
        shape.components(colour),
        colour,
        f"{colour} live (from {source}); standby {standby} left out — --colour both to include it",
    )


def _selected_colour(spec: Any, reader: Any) -> tuple[str | None, str]:
    """(colour the app's switch selects, where it was read); a failed read raises ``ReadFailed``."""
    from switchyard.probes.errors import from_kubernetes
    from switchyard.release.switch import switch_for

    switch = switch_for(spec, reader.core.api_client, request_timeout=reader.request_timeout)
    try:
        return switch.live_colour(), switch.source
    except Exception as exc:
        raise from_kubernetes(exc, f"GET {switch.where}") from exc
