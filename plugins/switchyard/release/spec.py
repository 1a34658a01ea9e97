"""How an app is released, read from the model's ``release:`` section (a Switchyard extension
the reference engine ignores), with defaults derived from the model itself.

    release:
      image_repository: acme-shop          # ECR repository of the app image (default: model name)
      switch: service_selector             # or gateway_configmap
      gateway: {configmap: edge-gateway, key: upstream, upstream: "acme-shop-svc-{colour}.default.svc:80"}
      smoke: {port: 80, paths: [/health, /ready, /api/products]}
      migration: {from: acme-shop-php-fpm, command: ["./migrate", "up"]}
      thresholds: {error_ratio: 0.001, p99_seconds: 5.0}
      shared: [rds, redis]                 # dependencies both colours use: no rollback when one fails
      namespace: default                   # where the app runs when its components do not say
      labels: {colour: color, app: app}    # label keys: blue|green on pods and selector; the app's
      metrics: {app: acme-shop, requests: http_requests_total,
                latency_bucket: http_request_duration_seconds_bucket}   # app: the app label's value
      restore_replicas: 2                  # a rollback's replicas for a colour at 0 with no count known

Every key is optional; the defaults are the conventions of ``conventions`` (acme-shop's). A value
of the wrong kind is refused naming its key (``release.labels.colour: ...``).
      load_test: {enabled: false, rps: 100, seconds: 300, thresholds: {cpu_ratio: 0.7}}  # see loadtest.py
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from switchyard.engine import yamlnodes as Y
from switchyard.engine.model import Model
from switchyard.release import conventions as conv
from switchyard.release.colours import ColourLayout, layout
from switchyard.release.loadtest import LoadTestSpec, load_test_spec

# How traffic moves between colours: the Service's colour selector, or a gateway's upstream in a
# ConfigMap that names the live colour's Service. switchyard.release.switch implements each; it is
# not imported here because the DAG files read the spec at parse time and the switch needs the
# Kubernetes client (tests/release/test_spec_conventions.py checks the two lists agree).
MECHANISMS = ("service_selector", "gateway_configmap")


@dataclass(frozen=True)
class ReleaseSpec:
    app: str
    namespace: str
    layout: ColourLayout
    image_repository: str
    switch: str = "service_selector"
    gateway: dict[str, str] = field(default_factory=dict)
    smoke_port: int = 80
    smoke_paths: tuple[str, ...] = ("/health", "/ready")
    migration_from: str = ""
    migration_command: tuple[str, ...] = ()
    max_error_ratio: float = 0.001  # the runbook's "error rate < 0.1 %"
    max_p99_seconds: float = 5.0  # the runbook's "P99 latency < 5 s"
    shared: tuple[str, ...] = ()  # dependencies both colours use: a failure there is not rolled back
    conventions: conv.Conventions = conv.DEFAULT  # label keys, the app label's value, metric names
    restore_replicas: int = conv.RESTORE_REPLICAS
    load_test: LoadTestSpec = field(default_factory=LoadTestSpec)

    @property
    def service(self) -> str:
        return self.layout.service


def _release_section(model: Model) -> dict[str, Any]:
    for path in model.files:
        node = Y.load_node(path)
        section = Y.get(node, "release")
        if section is not None:
            value = Y.to_python(section)
            if not isinstance(value, dict):
                raise ValueError(f"{path}: release: must be a mapping")
            return value
    return {}


def release_spec(model: Model) -> ReleaseSpec:
    section = _release_section(model)
    conventions = _conventions(model, section)
    shape = layout(
        model,
        _name(model, section, "namespace", _DNS_LABEL) or conv.DEFAULT_NAMESPACE,
        conventions.colour_label,
    )
    switch = str(section.get("switch") or "service_selector")
    if switch not in MECHANISMS:
        raise ValueError(
            f"model {model.name}: release.switch {switch!r} must be one of {', '.join(MECHANISMS)}"
        )
    gateway = {str(k): str(v) for k, v in (section.get("gateway") or {}).items()}
    if switch == "gateway_configmap" and not {"configmap", "key", "upstream"} <= gateway.keys():
        raise ValueError(
            f"model {model.name}: release.gateway needs configmap, key and upstream for gateway_configmap"
        )
    if switch == "gateway_configmap" and "{colour}" not in gateway["upstream"]:
        raise ValueError(
            f"model {model.name}: release.gateway.upstream {gateway['upstream']!r} must contain {{colour}} "
            f"(e.g. {shape.service}-{{colour}}.{shape.namespace(shape.service)}.svc.cluster.local:80): "
            "it names each colour's Service"
        )
    smoke = section.get("smoke") or {}
    migration = section.get("migration") or {}
    thresholds = section.get("thresholds") or {}
    migration_from = str(migration.get("from") or "")
    if migration_from and migration_from not in shape.tiers:
        raise ValueError(
            f"model {model.name}: release.migration.from {migration_from!r} is not a per-colour tier "
            f"(tiers: {', '.join(shape.tiers)})"
        )
    shared = section.get("shared") or []
    if not isinstance(shared, list) or not all(isinstance(n, str) for n in shared):
        raise ValueError(f"model {model.name}: release.shared must be a list of component names")
    per_colour = {n for members in shape.tiers.values() for n in members.values()}
    wrong = [n for n in shared if n not in model.components or n in per_colour]
    if wrong:
        raise ValueError(
            f"model {model.name}: release.shared names {', '.join(wrong)}, which "
            "are not components both colours depend on (list components of the model that are not per-colour)"
        )
    return ReleaseSpec(
        app=model.name,
        namespace=shape.namespace(shape.service),
        layout=shape,
        image_repository=str(section.get("image_repository") or model.name),
        switch=switch,
        gateway=gateway,
        smoke_port=int(smoke.get("port") or 80),
        smoke_paths=tuple(str(p) for p in (smoke.get("paths") or ("/health", "/ready"))),
        migration_from=migration_from,
        migration_command=tuple(str(c) for c in (migration.get("command") or ())),
        max_error_ratio=float(thresholds.get("error_ratio", 0.001)),
        max_p99_seconds=float(thresholds.get("p99_seconds", 5.0)),
        shared=tuple(shared),
        conventions=conventions,
        restore_replicas=_restore_replicas(model, section),
        load_test=load_test_spec(section.get("load_test"), f"model {model.name}"),
    )


# The same patterns as release.schema.json: a namespace is a DNS label; a label value and a metric
# name have their own character sets; a label key is one Prometheus can query as it is (its
# labelmap turns "/", "." and "-" of a Kubernetes label key into "_").
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _name(model: Model, section: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str:
    """``release.<key>`` (dotted for nested keys) checked against ``pattern``; "" when absent."""
    *parents, last = key.split(".")
    holder: Any = section
    for parent in parents:
        holder = holder.get(parent) or {}
        if not isinstance(holder, dict):
            raise ValueError(f"model {model.name}: release.{parent} must be a mapping")
    value = holder.get(last)
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(
            f"model {model.name}: release.{key} {value!r} is not a valid name "
            f"(expected {pattern.pattern}; see release.schema.json)"
        )
    return value


def _conventions(model: Model, section: dict[str, Any]) -> conv.Conventions:
    d = conv.DEFAULT
    return conv.Conventions(
        colour_label=_name(model, section, "labels.colour", _LABEL_KEY) or d.colour_label,
        app_label=_name(model, section, "labels.app", _LABEL_KEY) or d.app_label,
        app=_name(model, section, "metrics.app", _LABEL_VALUE) or model.name,
        requests_metric=_name(model, section, "metrics.requests", _METRIC) or d.requests_metric,
        latency_bucket_metric=_name(model, section, "metrics.latency_bucket", _METRIC)
        or d.latency_bucket_metric,
    )


def _restore_replicas(model: Model, section: dict[str, Any]) -> int:
    value = section.get("restore_replicas", conv.RESTORE_REPLICAS)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise ValueError(
            f"model {model.name}: release.restore_replicas {value!r} must be a whole number from 1 to 1000 "
            "(the replicas a rollback gives a colour at 0 whose count the plan did not record)"
        )
    return value
