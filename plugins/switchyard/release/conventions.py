"""Conventions Switchyard relies on in the systems it releases: the label that names a colour, the
per-colour PromQL queries its monitoring asks, and the tag that ties an AWS resource to its model
component.

By default they assume the app exports the conventional HTTP metrics (as the Prometheus client
libraries and most frameworks do), with the pod labels ``app`` and ``color`` attached by the scrape
config (``labelmap`` of ``__meta_kubernetes_pod_label_*``) and the ``namespace`` label the
Kubernetes service discovery adds:

* ``http_requests_total{namespace, app, color, code}`` — counter of answered requests;
* ``http_request_duration_seconds_bucket{namespace, app, color, le}`` — latency histogram.

An app that names them otherwise says so in its model's ``release:`` section (``labels:``,
``metrics:``; see ``release.schema.json``), which ``spec.release_spec`` reads into a
``Conventions``; the defaults below are the ones above.

The local environment's Prometheus emulator answers exactly these (and small variations of them:
other windows, quantiles, ``sum by (...)``), so the same monitoring code runs against a real
Prometheus and against the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass

REQUESTS_METRIC = "http_requests_total"
LATENCY_BUCKET_METRIC = "http_request_duration_seconds_bucket"
COLOUR_LABEL = "color"
APP_LABEL = "app"
DEFAULT_NAMESPACE = "default"
DEFAULT_WINDOW = "1m"
# Replicas a colour scaled to 0 gets back on a rollback when the plan did not record its count.
RESTORE_REPLICAS = 2


@dataclass(frozen=True)
class Conventions:
    """How one app names things: the label key whose value is blue or green (pods, Service
    selector, metrics), the label key and value that pick the app's series, and its two metrics."""

    colour_label: str = COLOUR_LABEL
    app_label: str = APP_LABEL
    app: str = ""  # the app label's value; "" means the ``app`` argument of the queries
    requests_metric: str = REQUESTS_METRIC
    latency_bucket_metric: str = LATENCY_BUCKET_METRIC


DEFAULT = Conventions()

# Pods' CPU and memory: cAdvisor (through the kubelet) and kube-state-metrics, as a standard
# kube-prometheus-stack scrapes them; pods are selected by name (cAdvisor has no pod labels).
CPU_USAGE_METRIC = "container_cpu_usage_seconds_total"
MEMORY_USAGE_METRIC = "container_memory_working_set_bytes"
LIMITS_METRIC = "kube_pod_container_resource_limits"

# An AWS resource whose id the model does not know (a CloudFront distribution) is found by this tag,
# or, where a resource has no tags on its summary, by this prefix in its comment.
RESOURCE_ID_TAG = "switchyard:resource-id"
RESOURCE_ID_COMMENT = "switchyard-resource-id="


def colour_selector(
    app: str, colour: str, namespace: str = DEFAULT_NAMESPACE, conventions: Conventions = DEFAULT
) -> str:
    c = conventions
    return f'namespace="{namespace}",{c.app_label}="{c.app or app}",{c.colour_label}="{colour}"'


def request_rate(
    app: str,
    colour: str,
    namespace: str = DEFAULT_NAMESPACE,
    window: str = DEFAULT_WINDOW,
    conventions: Conventions = DEFAULT,
) -> str:
    """Requests per second served by ``colour``."""
    selector = colour_selector(app, colour, namespace, conventions)
    return f"sum(rate({conventions.requests_metric}{{{selector}}}[{window}]))"


def error_ratio(
    app: str,
    colour: str,
    namespace: str = DEFAULT_NAMESPACE,
    window: str = DEFAULT_WINDOW,
    conventions: Conventions = DEFAULT,
) -> str:
    """Share of ``colour``'s requests answered 5xx (0..1). NaN when the colour has no traffic."""
    selector = colour_selector(app, colour, namespace, conventions)
    metric = conventions.requests_metric
    return f'sum(rate({metric}{{{selector},code=~"5.."}}[{window}])) / sum(rate({metric}{{{selector}}}[{window}]))'


def latency_quantile(
    app: str,
    colour: str,
    namespace: str = DEFAULT_NAMESPACE,
    quantile: float = 0.99,
    window: str = DEFAULT_WINDOW,
    conventions: Conventions = DEFAULT,
) -> str:
    """Latency in seconds below which ``quantile`` of ``colour``'s requests complete (default p99)."""
    selector = colour_selector(app, colour, namespace, conventions)
    bucket = conventions.latency_bucket_metric
    return f"histogram_quantile({quantile}, sum by (le) (rate({bucket}{{{selector}}}[{window}])))"


def pods_of(deployments: list[str]) -> str:
    """A regex of the pods of Deployments: ``<deployment>-<replica set hash>-<suffix>``."""
    return f"({'|'.join(deployments)})-[a-z0-9]+-[a-z0-9]+"


def cpu_ratio(deployments: list[str], namespace: str = "default", window: str = DEFAULT_WINDOW) -> str:
    """CPU the Deployments' pods use, as a share of their containers' CPU limits (no limits: empty)."""
    pods = f'namespace="{namespace}",pod=~"{pods_of(deployments)}"'
    return (
        f'sum(rate({CPU_USAGE_METRIC}{{{pods},container!=""}}[{window}]))'
        f' / sum({LIMITS_METRIC}{{{pods},resource="cpu"}})'
    )


def memory_ratio(deployments: list[str], namespace: str = "default") -> str:
    """Memory working set of the Deployments' pods, as a share of their containers' memory limits."""
    pods = f'namespace="{namespace}",pod=~"{pods_of(deployments)}"'
    return (
        f'sum({MEMORY_USAGE_METRIC}{{{pods},container!=""}})'
        f' / sum({LIMITS_METRIC}{{{pods},resource="memory"}})'
    )
