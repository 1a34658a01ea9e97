"""Seed the emulated cluster and local AWS from a model, by component type.

Kubernetes, for a model named APP (names are the component's ``resource``, else its name; the
namespace is the component's effective ``vars.namespace``, default ``default``):

* ``deployment``: a component whose name ends in ``-blue``/``-green`` is per colour. The live colour
  (blue) is created at image ``<ECR registry>/APP:v1`` with ``vars.replicas`` (default 2) replicas;
  the other colour is absent (the release creates it). Colourless deployments named ``APP-...``
  (cron) run the app image too, with 1 replica; other ones (opensearch) run ``<name>:stable``.
  Labels (deployment, selector, pods): ``app: APP``, ``component: <name without APP- and colour>``,
  ``color: <colour>`` when per colour. Deployments no Service reaches through deployment
  dependencies (queue consumers) get the pod label ``switchyard.io/serves-traffic: "false"``,
  which keeps them out of the per-colour request figures.
* ``service``: ClusterIP Service, port 80 → 8080, selector ``app``, ``component`` (of the
  deployments it depends on) and ``color: blue`` when those are per colour.
* ``ingress``: ``ingressClassName: alb``, host ``vars.host`` (default ``APP.local``), backend the
  Service it depends on; the controller publishes a load-balancer hostname.
* ``operator``: a Deployment named after the component in its namespace (``external-secrets``),
  image ``<name>:stable``, and a CustomResourceDefinition ``<name without dashes, plural>.<name>.io``
  labelled ``switchyard.io/operator: <component>``.
* a model released through a gateway (``release.switch: gateway_configmap``, seed 001): its
  colour-selecting Service selects both colours (``app``, ``component``), each colour gets its own
  Service ``<service>-<colour>`` selecting only it, and the gateway's ConfigMap
  (``release.gateway.configmap``) holds the upstream naming the blue one under ``release.gateway.key``;
  the ConfigMap is annotated ``switchyard.io/gateway-upstream-key: <key>``, which is how the
  emulated gateway (``traffic.py``) knows which key routes the app's requests.
* ``cdn`` and ``business_process`` have nothing to create: their facts come from outside the
  system (an operator's answer) or from what they depend on.

AWS types are seeded by ``LocalAws`` (see ``aws.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchyard.localenv.cluster import Cluster
from switchyard.localenv.resources import BY_KIND
from switchyard.localenv.traffic import GATEWAY_KEY_ANNOTATION, SERVES_TRAFFIC_LABEL

COLOURS = ("blue", "green")
LIVE_COLOUR = "blue"
INITIAL_TAG = "v1"
CONTAINER_PORT = 8080
OPERATOR_LABEL = "switchyard.io/operator"
NOT_SEEDED = {
    "cdn": "observed by an operator, not the cluster or AWS",
    "business_process": "derived from what it depends on",
}


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)  # "kind namespace/name"
    skipped: dict[str, str] = field(default_factory=dict)  # component → why


def colour_of(name: str) -> str | None:
    return next((c for c in COLOURS if name.endswith(f"-{c}")), None)


def component_label(name: str, app: str) -> str:
    colour = colour_of(name)
    base = name[: -len(colour) - 1] if colour else name
    return base[len(app) + 1 :] if base.startswith(f"{app}-") else base


def app_image(registry: str, app: str, tag: str = INITIAL_TAG) -> str:
    return f"{registry}/{app}:{tag}"


def seed_kubernetes(cluster: Cluster, model: Any, registry: str) -> SeedReport:
    """Create the model's Kubernetes objects in ``cluster`` (see the module docstring)."""
    report = SeedReport()
    app = model.name
    components = model.components
    serving = _serving_deployments(components)
    gateway = _gateway(model)
    for component in components.values():
        name = component.resource or component.name
        namespace = component.vars.get("namespace") or "default"
        kind = component.type
        if kind in ("deployment", "operator", "service", "ingress"):
            cluster.ensure_namespace(namespace)
        if kind == "deployment":
            colour = colour_of(component.name)
            if colour is not None and colour != LIVE_COLOUR:
                report.skipped[component.name] = f"{colour} is the standby colour: absent until a release"
                continue
            labels = {"app": app, "component": component_label(component.name, app)}
            if colour:
                labels["color"] = colour
            pod_labels = dict(labels)
            if component.name not in serving:
                pod_labels[SERVES_TRAFFIC_LABEL] = "false"
            own = colour is not None or component.name.startswith(f"{app}-")
            image = app_image(registry, app) if own else f"{component.name}:stable"
            replicas = int(component.vars.get("replicas") or (2 if colour else 1))
            _create(
                cluster,
                report,
                "Deployment",
                namespace,
                _deployment(name, labels, pod_labels, image, replicas, component.name),
            )
        elif kind == "operator":
            labels = {"app": component.name, "app.kubernetes.io/name": component.name}
            _create(
                cluster,
                report,
                "Deployment",
                namespace,
                _deployment(name, labels, labels, f"{component.name}:stable", 1, component.name),
            )
            group = f"{component.name}.io"
            singular = component.name.replace("-", "").removesuffix("s")
            plural = f"{singular}s"
            _create(
                cluster,
                report,
                "CustomResourceDefinition",
                None,
                {
                    "metadata": {"name": f"{plural}.{group}", "labels": {OPERATOR_LABEL: component.name}},
                    "spec": {
                        "group": group,
                        "scope": "Namespaced",
                        "names": {"plural": plural, "singular": singular, "kind": singular.capitalize()},
                        "versions": [{"name": "v1", "served": True, "storage": True}],
                    },
                },
            )
        elif kind == "service":
            targets = [
                components[d]
                for d in component.depends_on
                if d in components and components[d].type == "deployment"
            ]
            selector = {"app": app}
            per_colour = any(colour_of(t.name) for t in targets)
            if targets:
                selector["component"] = component_label(targets[0].name, app)
                if per_colour and not gateway:
                    selector["color"] = LIVE_COLOUR
            _create(cluster, report, "Service", namespace, _service(name, component.name, app, selector))
            if gateway and per_colour:  # each colour's own Service: what the gateway's upstream names
                for colour in COLOURS:
                    body = _service(f"{name}-{colour}", component.name, app, {**selector, "color": colour})
                    body["metadata"]["labels"]["color"] = colour
                    _create(cluster, report, "Service", namespace, body)
                configmap, key, upstream = gateway
                _create(
                    cluster,
                    report,
                    "ConfigMap",
                    namespace,
                    {
                        "metadata": {
                            "name": configmap,
                            "labels": {"app": app},
                            "annotations": {GATEWAY_KEY_ANNOTATION: key},
                        },
                        "data": {key: upstream.format(colour=LIVE_COLOUR)},
                    },
                )
        elif kind == "ingress":
            backends = [
                components[d].resource or d
                for d in component.depends_on
                if d in components and components[d].type == "service"
            ]
            host = component.vars.get("host") or f"{app}.local"
            paths = [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": b, "port": {"number": 80}}},
                }
                for b in backends[:1]
            ]
            _create(
                cluster,
                report,
                "Ingress",
                namespace,
                {
                    "metadata": {
                        "name": name,
                        "labels": {"app": app},
                        "annotations": {
                            "alb.ingress.kubernetes.io/scheme": "internet-facing",
                            "alb.ingress.kubernetes.io/target-type": "ip",
                        },
                    },
                    "spec": {"ingressClassName": "alb", "rules": [{"host": host, "http": {"paths": paths}}]},
                },
            )
        elif kind in NOT_SEEDED:
            report.skipped[component.name] = NOT_SEEDED[kind]
    return report


def _service(name: str, component: str, app: str, selector: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"app": app},
            "annotations": {"switchyard.io/model-component": component},
        },
        "spec": {
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": CONTAINER_PORT, "protocol": "TCP"}],
        },
    }


def _gateway(model: Any) -> tuple[str, str, str] | None:
    """(configmap, key, upstream template) when the model is released through a gateway ConfigMap."""
    from switchyard.release.spec import release_spec

    try:
        spec = release_spec(model)
    except ValueError:  # no blue/green shape: nothing to release, nothing to seed for it
        return None
    if spec.switch != "gateway_configmap":
        return None
    return spec.gateway["configmap"], spec.gateway["key"], spec.gateway["upstream"]


def _serving_deployments(components: dict[str, Any]) -> set[str]:
    """Deployments a Service reaches through deployment → deployment dependencies."""
    reached: set[str] = set()
    frontier = [d for c in components.values() if c.type == "service" for d in c.depends_on]
    while frontier:
        name = frontier.pop()
        if name in reached or name not in components or components[name].type != "deployment":
            continue
        reached.add(name)
        frontier.extend(components[name].depends_on)
    return reached


def _deployment(
    name: str, labels: dict[str, str], pod_labels: dict[str, str], image: str, replicas: int, component: str
) -> dict[str, Any]:
    container = {
        "name": component,
        "image": image,
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": CONTAINER_PORT}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/health", "port": CONTAINER_PORT}, "periodSeconds": 10},
        # the load test holds CPU and memory to shares of these (the runbook's < 70 % / < 80 %)
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "512Mi"},
        },
    }
    return {
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {"switchyard.io/model-component": component},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": pod_labels}, "spec": {"containers": [container]}},
        },
    }


def _create(
    cluster: Cluster, report: SeedReport, kind: str, namespace: str | None, body: dict[str, Any]
) -> None:
    rt = BY_KIND[kind]
    cluster.store.create(rt, namespace, body)
    where = f"{namespace}/" if namespace else ""
    report.created.append(f"{rt.singular} {where}{body['metadata']['name']}")
