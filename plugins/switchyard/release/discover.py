"""``switchyard model discover``: a draft model of an app from what runs in its namespace.

Read-only, through the kubernetes client and a kubeconfig (no Airflow): Deployments (blue/green by
their ``color``/``colour`` label or ``-blue``/``-green`` name), Services and their selectors,
Ingresses, CronJobs, ExternalSecrets, the ConfigMaps and Secrets the pods reference, and the
environment variables (and referenced ConfigMap values) that name AWS endpoints or other Services.
Secret values are never read: a Secret is known by name, and by the ExternalSecret that makes it.

The draft is YAML text: a model with blue/green pairs, dependencies and a ``release:`` section,
where every guess carries a ``# guess:`` comment to check before the first release.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchyard.release.colours import COLOURS

COLOUR_LABELS = ("color", "colour")
AWS_PROVIDER = "mgt-tool/aws@^1.0.0"
K8S_PROVIDER = "mgt-tool/kubernetes@^3.0.0"

Obj = dict[str, Any]


@dataclass
class Namespace:
    """What discovery read from one namespace, as plain API dicts (camelCase keys)."""

    name: str
    deployments: list[Obj] = field(default_factory=list)
    services: list[Obj] = field(default_factory=list)
    ingresses: list[Obj] = field(default_factory=list)
    cronjobs: list[Obj] = field(default_factory=list)
    configmaps: list[Obj] = field(default_factory=list)
    external_secrets: list[Obj] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)  # kind → why it could not be listed


# ---- reading -------------------------------------------------------------------------------------


def read_namespace(namespace: str, kubeconfig: str | None = None, context: str | None = None) -> Namespace:
    """List the namespace's objects; a kind the server does not serve or RBAC forbids is noted,
    not fatal (CronJobs and ExternalSecrets are often absent)."""
    from kubernetes import client, config
    from kubernetes.client import ApiException

    if kubeconfig is None and _in_cluster():
        config.load_incluster_config()
        api = client.ApiClient()
    else:
        api = config.new_client_from_config(config_file=kubeconfig, context=context)
    plain = api.sanitize_for_serialization
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    found = Namespace(namespace)
    try:  # a missing namespace is an error, not an empty model
        core.read_namespace(namespace)
    except ApiException as exc:
        if exc.status != 403:  # namespace-scoped access cannot read Namespace objects: go on
            raise

    def items(kind: str, call: Callable[[], Any]) -> list[Obj]:
        try:
            result = call()
        except ApiException as exc:
            if exc.status in (403, 404):
                found.unreadable[kind] = "forbidden by RBAC" if exc.status == 403 else "not served here"
                return []
            raise
        return [plain(i) for i in (result.items if hasattr(result, "items") else result.get("items", []))]

    found.deployments = items("Deployment", lambda: apps.list_namespaced_deployment(namespace))
    found.services = items("Service", lambda: core.list_namespaced_service(namespace))
    found.ingresses = items("Ingress", lambda: client.NetworkingV1Api(api).list_namespaced_ingress(namespace))
    found.cronjobs = items("CronJob", lambda: client.BatchV1Api(api).list_namespaced_cron_job(namespace))
    found.configmaps = items("ConfigMap", lambda: core.list_namespaced_config_map(namespace))
    custom = client.CustomObjectsApi(api)
    for version in ("v1", "v1beta1"):
        found.unreadable.pop("ExternalSecret", None)
        found.external_secrets = items(
            "ExternalSecret",
            lambda v=version: custom.list_namespaced_custom_object(
                "external-secrets.io", v, namespace, "externalsecrets"
            ),
        )
        if "ExternalSecret" not in found.unreadable:
            break
    return found


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not os.environ.get("KUBECONFIG")


def discover_command(namespace: str, kubeconfig: str | None, out: str | None, name: str | None = None) -> int:
    """``switchyard model discover``: read, draft, check the draft, write it; 0 when it validates."""
    from kubernetes.client import ApiException
    from kubernetes.config import ConfigException
    from urllib3.exceptions import HTTPError

    from switchyard.engine.catalog import load_catalog
    from switchyard.engine.model import read_model
    from switchyard.release.schema import release_problems

    try:
        found = read_namespace(namespace, kubeconfig)
    except ConfigException as exc:
        raise ValueError(f"kubeconfig {kubeconfig or '(default)'}: {exc} — pass --kubeconfig FILE") from exc
    except ApiException as exc:
        what = "no such namespace" if exc.status == 404 else f"{exc.status} {exc.reason}"
        raise ValueError(f"namespace {namespace}: {what}") from exc
    except (HTTPError, OSError) as exc:  # no server there: refused, DNS, TLS
        raise ValueError(
            f"cannot reach the Kubernetes API of kubeconfig {kubeconfig or '(default)'}: {exc}"
        ) from exc
    text = draft_model(found, name)
    target = Path(out) if out else None
    if target is None:
        print(text, end="")
    else:
        target.write_text(text)
    with tempfile.TemporaryDirectory() as tmp:  # the draft, checked as `model validate` would
        path = Path(tmp) / f"{namespace}.model.yaml"
        path.write_text(text)
        model = read_model([path], load_catalog())
        problems = [*model.errors, *(p for p in release_problems(model) if p.severity == "error")]
    guesses = text.count("# guess:")
    where = f"wrote {target}" if target else "draft above"
    print(f"{where}: {len(model.components)} components, {guesses} guesses to check", file=sys.stderr)
    for problem in problems:
        print(f"  ✗ {problem.message}", file=sys.stderr)
    return 1 if problems else 0


# ---- drafting ------------------------------------------------------------------------------------

# Endpoint host patterns of the AWS services the catalog has types for: (regex, type, how to name it)
_AWS_PATTERNS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"\b([a-z][a-z0-9-]*)\.[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com\b"), "rds_instance", ""),
    (
        re.compile(
            r"\b(?:master\.|replica\.)?([a-z][a-z0-9-]*)\.[a-z0-9]+\.(?:[a-z0-9.]+\.)?cache\.amazonaws\.com\b"
        ),
        "elasticache_cluster",
        "",
    ),
    (
        re.compile(r"\b(b-[0-9a-f-]+?)(?:-\d)?\.mq\.[a-z0-9-]+\.amazonaws\.com\b"),
        "mq_broker",
        "the broker's id from the endpoint; the model names brokers by name",
    ),
    (re.compile(r"\bs3://([a-z0-9][a-z0-9.-]+[a-z0-9])"), "s3_bucket", ""),
    (
        re.compile(r"\b([a-z0-9][a-z0-9.-]+[a-z0-9])\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com\b"),
        "s3_bucket",
        "",
    ),
    (
        re.compile(r"\b([a-z0-9]+)\.cloudfront\.net\b"),
        "cloudfront_distribution",
        "the distribution's domain prefix; the model needs its ID (aws cloudfront list-distributions)",
    ),
)
_SSM_REF = re.compile(r"^(/[A-Za-z0-9_.\-/]+)$")
_BUCKET_ENV = re.compile(r"(^|_)(BUCKET|S3_BUCKET)(_NAME)?$")


@dataclass
class _Component:
    name: str
    type: str
    depends: dict[str, str] = field(default_factory=dict)  # target → comment ("" when read, not guessed)
    resource: str = ""
    vars: dict[str, str] = field(default_factory=dict)
    aws: bool = False
    notes: list[str] = field(default_factory=list)  # "# …" lines above the component
    resource_note: str = ""


def draft_model(found: Namespace, name: str | None = None) -> str:
    """The draft model of the namespace's app, as commented YAML text."""
    deployments = found.deployments
    app = name or _app_name(deployments, found.name)
    comps: dict[str, _Component] = {}
    by_deployment: dict[str, str] = {}  # Deployment object name → component name
    tiers: dict[str, set[str]] = {}
    service_names = {s["metadata"]["name"] for s in found.services}
    for dep in deployments:
        obj = dep["metadata"]["name"]
        colour = _colour(dep)
        if colour:
            base = obj[: -len(colour) - 1] if obj.endswith(f"-{colour}") else obj
            comp = _Component(f"{base}-{colour}", "deployment")
            if comp.name != obj:
                comp.resource = obj
                comp.notes.append(
                    f"guess: {obj} is {colour} by its label; a release addresses the colours as "
                    f"{base}-blue and {base}-green, so rename the Deployments to match"
                )
            tiers.setdefault(base, set()).add(colour)
        else:
            comp = _Component(obj, "deployment")
            if obj in service_names:  # a Service has the name: the component for the Deployment yields
                comp = _Component(f"{obj}-deployment", "deployment", resource=obj)
        by_deployment[obj] = comp.name
        comps[comp.name] = comp
    for base, colours in tiers.items():  # the standby colour is usually absent: add its twin
        for colour in COLOURS:
            if colour not in colours:
                live = next(iter(colours))
                twin = _Component(f"{base}-{colour}", "deployment")
                twin.notes.append(
                    f"guess: not in the namespace (the standby colour); a release creates it from {base}-{live}"
                )
                comps[twin.name] = twin

    services = {s["metadata"]["name"]: s for s in found.services}
    selected = {svc: _selected(s, deployments) for svc, s in services.items()}
    entry_services: list[str] = []
    service_component: dict[str, str] = {}  # Service object name → component name
    for svc, spec_obj in services.items():
        matched = selected[svc]
        selector = (spec_obj.get("spec") or {}).get("selector") or {}
        if not matched or _is_preview(svc, selector, matched):
            continue
        comp = _Component(svc, "service")  # the release patches the Service of this name
        coloured = [m for m in matched if _colour(m)]
        if coloured and any(k in selector for k in COLOUR_LABELS):
            entry_services.append(svc)
            for dep in coloured:
                base = by_deployment[dep["metadata"]["name"]].rsplit("-", 1)[0]
                for colour in COLOURS:
                    comp.depends[f"{base}-{colour}"] = ""
        elif coloured:
            continue  # reached per colour: callers depend on their own colour's deployment instead
        else:
            for dep in matched:
                comp.depends[by_deployment[dep["metadata"]["name"]]] = ""
        comps[comp.name] = comp
        service_component[svc] = comp.name

    for ing in found.ingresses:
        ing_name = ing["metadata"]["name"]
        comp = _Component(_unique(ing_name, "ingress", comps), "ingress")
        comp.resource = "" if comp.name == ing_name else ing_name
        for backend in _ingress_backends(ing):
            if backend in service_component:
                comp.depends[service_component[backend]] = ""
        comps[comp.name] = comp

    configmaps = {c["metadata"]["name"]: c for c in found.configmaps}
    secret_makers = {
        ((es.get("spec") or {}).get("target") or {}).get("name") or es["metadata"]["name"]: es
        for es in found.external_secrets
    }
    aws: dict[str, _Component] = {}

    def add_aws(kind: str, resource: str, note: str) -> str:
        comp_name = _aws_component_name(app, kind, resource)
        if comp_name not in aws:
            comp = _Component(comp_name, kind, resource=resource, aws=True)
            comp.resource_note = note
            aws[comp_name] = comp
        return comp_name

    workloads = [(by_deployment[d["metadata"]["name"]], _pod_spec(d)) for d in deployments]
    for cron in found.cronjobs:
        cname = cron["metadata"]["name"]
        comp = _Component(cname, "component")
        comp.notes.append(
            "guess: a CronJob — the catalog has no CronJob type, so it is a generic component (its "
            f"health is asked of an operator); schedule {(cron.get('spec') or {}).get('schedule', '?')}"
        )
        comps[cname] = comp
        job_template = ((cron.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}
        workloads.append((cname, (job_template.get("template") or {}).get("spec") or {}))

    for comp_name, pod in workloads:
        comp = comps[comp_name]
        refs = _references(pod)
        for cm in sorted(refs["configmaps"]):
            comp.notes.append(f"reads ConfigMap {cm}" + ("" if cm in configmaps else " (not found)"))
        for secret in sorted(refs["secrets"]):
            maker = secret_makers.get(secret)
            if maker is None:
                comp.notes.append(f"reads Secret {secret}")
                continue
            comp.notes.append(f"reads Secret {secret}, made by ExternalSecret {maker['metadata']['name']}")
            comp.depends["external-secrets"] = ""
            eso = comps.setdefault("external-secrets", _Component("external-secrets", "operator"))
            if not eso.vars:
                eso.vars["namespace"] = "external-secrets"
                eso.notes.append("guess: the External Secrets operator's namespace")
            for key in _remote_keys(maker):
                if _SSM_REF.match(key):
                    eso.depends[add_aws("ssm_parameter", key, "")] = (
                        f"guess: remote key of ExternalSecret {maker['metadata']['name']} (SSM if its store is ParameterStore)"
                    )
        texts = list(refs["values"])
        for cm in refs["configmaps"]:
            texts += [f"{k}={v}" for k, v in ((configmaps.get(cm) or {}).get("data") or {}).items()]
        for text in texts:
            for pattern, kind, note in _AWS_PATTERNS:
                for match in pattern.finditer(text):
                    target = add_aws(kind, match.group(1), note)
                    comp.depends.setdefault(target, f"guess: from {text.split('=', 1)[0]}")
            key, _, value = text.partition("=")
            if _BUCKET_ENV.search(key) and re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
                target = add_aws("s3_bucket", value, "")
                comp.depends.setdefault(target, f"guess: from {key}")
            for svc, matched in selected.items():
                if (
                    svc == comp_name
                    or not matched
                    or not re.search(rf"(^|[/@=:,\s]){re.escape(svc)}([.:/,\s]|$)", value)
                ):
                    continue
                for target in _service_targets(svc, matched, comp_name, service_component, by_deployment):
                    if target != comp_name:
                        comp.depends.setdefault(target, f"guess: {key} names Service {svc}")
    comps.update(aws)
    for comp in comps.values():  # a pair's twin gets the live colour's dependencies, per colour
        colour = _colour_of(comp.name)
        if colour and not comp.depends:
            other = f"{comp.name[: -len(colour) - 1]}-{'green' if colour == 'blue' else 'blue'}"
            if other in comps:
                for target, why in comps[other].depends.items():
                    tc = _colour_of(target)
                    mapped = f"{target[: -len(tc) - 1]}-{colour}" if tc else target
                    comp.depends[mapped] = why or ""
    return _render(app, found, comps, entry_services, deployments)


def _render(
    app: str, found: Namespace, comps: dict[str, _Component], entry: list[str], deps: list[Obj]
) -> str:
    uses_aws = any(c.aws for c in comps.values())
    lines = [
        f"# Draft model of {app}, discovered from namespace {found.name} by `switchyard model discover`.",
        "# Every `# guess:` is something discovery inferred rather than read: check it, then run",
        f"#   switchyard model validate --model {app}.model.yaml",
        "# Not discoverable from a namespace: what runs outside the cluster (CDN, DNS), dependencies",
        "# no environment variable names, and business processes (type business_process).",
    ]
    for kind, why in sorted(found.unreadable.items()):
        lines.append(f"# {kind}s were not read: {why}.")
    lines += [
        "meta:",
        f"  name: {_q(app)}",
        '  version: "1.0"',
        "  providers:",
        f"    - {K8S_PROVIDER}",
    ]
    if uses_aws:
        lines.append(f"    - {AWS_PROVIDER}")
    lines += ["  vars:", f"    namespace: {_q(found.name)}", "", "components:"]
    order = {"ingress": 0, "service": 1, "deployment": 2, "component": 3, "operator": 4}

    def place(c: _Component) -> tuple:  # entry first, then the colour pairs side by side, then the rest
        colour = _colour_of(c.name)
        base = c.name[: -len(colour) - 1] if colour else c.name
        return (c.aws, order.get(c.type, 5), colour is None, base, colour or "")

    for comp in sorted(comps.values(), key=place):
        lines.append("")
        lines += [f"  # {note}" for note in comp.notes]
        lines.append(f"  {_q(comp.name)}:")
        lines.append(f"    type: {comp.type}")
        if comp.aws:
            lines.append(f"    providers: [{AWS_PROVIDER}]")
        if comp.resource:
            note = f"  # guess: {comp.resource_note}" if comp.resource_note else ""
            lines.append(f"    resource: {_q(comp.resource)}{note}")
        if comp.vars:
            lines.append("    vars:")
            lines += [f"      {k}: {_q(v)}" for k, v in comp.vars.items()]
        if comp.depends:
            lines.append("    depends:")
            for target, why in comp.depends.items():
                lines.append(f"      - on: {_q(target)}" + (f"  # {why}" if why else ""))
    lines += ["", *_release_section(app, found, entry, deps)]
    return "\n".join(lines) + "\n"


def _release_section(app: str, found: Namespace, entry: list[str], deployments: list[Obj]) -> list[str]:
    lines = ["# How Switchyard releases the app (schema: switchyard/release/release.schema.json)", "release:"]
    repos = Counter(
        _repository(c.get("image", ""))
        for d in deployments
        if _colour(d)
        for c in _pod_spec(d).get("containers", [])
    )
    if repos:
        repo, _ = repos.most_common(1)[0]
        lines.append(f"  image_repository: {_q(repo)}  # guess: the image most per-colour containers run")
    lines.append("  switch: service_selector" + ("" if entry else "  # guess: no Service selects a colour"))
    services = {s["metadata"]["name"]: s for s in found.services}
    port, paths = 80, []
    if entry:
        ports = (services[entry[0]].get("spec") or {}).get("ports") or [{}]
        port = int(ports[0].get("port") or 80)
        for dep in _selected(services[entry[0]], deployments):
            for c in _pod_spec(dep).get("containers", []):
                for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                    path = ((c.get(probe) or {}).get("httpGet") or {}).get("path")
                    if path and path not in paths:
                        paths.append(path)
    lines += ["  smoke:", f"    port: {port}"]
    if paths:
        lines.append(
            f"    paths: [{', '.join(_q(p) for p in sorted(paths))}]  # guess: the pods' probe paths"
        )
    else:
        lines.append("    # paths: [/health]  # no HTTP probe found: name the paths that must answer 2xx")
    lines += [
        "  # migration:  # a database migration Job before the switch, if the app has one:",
        "  #   from: <per-colour deployment without -blue/-green>",
        '  #   command: ["./migrate", "up"]',
        "  thresholds:  # the runbook's defaults",
        "    error_ratio: 0.001",
        "    p99_seconds: 5.0",
    ]
    return lines


# ---- helpers -------------------------------------------------------------------------------------


def _pod_spec(deployment: Obj) -> Obj:
    return (((deployment.get("spec") or {}).get("template") or {}).get("spec")) or {}


def _pod_labels(deployment: Obj) -> dict[str, str]:
    return (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def _colour(deployment: Obj) -> str | None:
    labels = {**(deployment["metadata"].get("labels") or {}), **_pod_labels(deployment)}
    for key in COLOUR_LABELS:
        if labels.get(key) in COLOURS:
            return labels[key]
    return _colour_of(deployment["metadata"]["name"])


def _colour_of(name: str) -> str | None:
    return next((c for c in COLOURS if name.endswith(f"-{c}")), None)


def _app_name(deployments: list[Obj], namespace: str) -> str:
    names = Counter(
        _pod_labels(d).get("app.kubernetes.io/name") or _pod_labels(d).get("app")
        for d in deployments
        if _colour(d)
    )
    names.pop(None, None)
    return names.most_common(1)[0][0] if names else namespace


def _selected(service: Obj, deployments: list[Obj]) -> list[Obj]:
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return []
    plain = {k: v for k, v in selector.items() if k not in COLOUR_LABELS}
    return [d for d in deployments if all(_pod_labels(d).get(k) == v for k, v in plain.items())]


def _is_preview(name: str, selector: dict[str, str], matched: list[Obj]) -> bool:
    """Switchyard's own preview Services (``<service>-blue``) select one colour by name."""
    colour = _colour_of(name)
    return colour is not None and any(selector.get(k) == colour for k in COLOUR_LABELS)


def _unique(name: str, suffix: str, comps: dict[str, _Component]) -> str:
    """An Ingress named like its Service (common) becomes ``<name>-ingress``, ``resource: <name>``."""
    return name if name not in comps else f"{name}-{suffix}"


def _service_targets(
    svc: str,
    matched: list[Obj],
    caller: str,
    service_component: dict[str, str],
    by_deployment: dict[str, str],
) -> Iterable[str]:
    if svc in service_component:
        return [service_component[svc]]
    colour = _colour_of(caller)
    names = [by_deployment[d["metadata"]["name"]] for d in matched]
    return [n for n in names if _colour_of(n) == colour] if colour else names


def _ingress_backends(ingress: Obj) -> list[str]:
    spec = ingress.get("spec") or {}
    found = []
    default = ((spec.get("defaultBackend") or {}).get("service") or {}).get("name")
    if default:
        found.append(default)
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            name = ((path.get("backend") or {}).get("service") or {}).get("name")
            if name and name not in found:
                found.append(name)
    return found


def _references(pod: Obj) -> dict[str, set[str]]:
    refs: dict[str, set[str]] = {"configmaps": set(), "secrets": set(), "values": set()}
    for volume in pod.get("volumes") or []:
        if (volume.get("configMap") or {}).get("name"):
            refs["configmaps"].add(volume["configMap"]["name"])
        if (volume.get("secret") or {}).get("secretName"):
            refs["secrets"].add(volume["secret"]["secretName"])
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        for source in container.get("envFrom") or []:
            if (source.get("configMapRef") or {}).get("name"):
                refs["configmaps"].add(source["configMapRef"]["name"])
            if (source.get("secretRef") or {}).get("name"):
                refs["secrets"].add(source["secretRef"]["name"])
        for env in container.get("env") or []:
            value_from = env.get("valueFrom") or {}
            if (value_from.get("configMapKeyRef") or {}).get("name"):
                refs["configmaps"].add(value_from["configMapKeyRef"]["name"])
            if (value_from.get("secretKeyRef") or {}).get("name"):
                refs["secrets"].add(value_from["secretKeyRef"]["name"])
            if env.get("value"):
                refs["values"].add(f"{env['name']}={env['value']}")
    return refs


def _remote_keys(external_secret: Obj) -> list[str]:
    spec = external_secret.get("spec") or {}
    keys = [((d.get("remoteRef") or {}).get("key")) for d in spec.get("data") or []]
    keys += [((d.get("extract") or {}).get("key")) for d in spec.get("dataFrom") or []]
    return [k for k in keys if k]


def _aws_component_name(app: str, kind: str, resource: str) -> str:
    short = {
        "rds_instance": "rds",
        "elasticache_cluster": "redis",
        "mq_broker": "mq",
        "s3_bucket": "bucket",
        "cloudfront_distribution": "cloudfront",
        "ssm_parameter": "ssm",
    }[kind]
    slug = re.sub(r"[^a-z0-9-]+", "-", resource.lower()).strip("-")
    return slug if kind in ("rds_instance", "elasticache_cluster", "s3_bucket") else f"{short}-{slug}"


def _repository(image: str) -> str:
    name = image.split("@", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        name = rest
    return name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name


_PLAIN = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9._/@^-]*$")
_YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "~"}


def _q(value: str) -> str:
    """A YAML scalar for a name or path: plain when unambiguous, else double-quoted."""
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS and not re.fullmatch(r"[-+0-9.e_]+", text):
        return text
    return json.dumps(text)
