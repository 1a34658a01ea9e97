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
      load_test: {enabled: false, rps: 100, seconds: 300, thresholds: {cpu_ratio: 0.7}}  # see loadtest.py
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchyard.engine import yamlnodes as Y
from switchyard.engine.model import Model
from switchyard.release.colours import ColourLayout, layout
from switchyard.release.loadtest import LoadTestSpec, load_test_spec
from switchyard.release.switch import MECHANISMS


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
    shape = layout(model)
    section = _release_section(model)
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
        load_test=load_test_spec(section.get("load_test"), f"model {model.name}"),
    )
