"""Writing to the cluster: the standby colour's deployments, their scale, and their rollout.

Every function here converges: run it twice, or after a crash half-way, and the cluster ends in
the same state. Standby manifests are rendered from the live colour's Deployment (same spec, new
image, the other colour's labels), so what is tested is what will serve.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient, ApiException, AppsV1Api, CoreV1Api

from switchyard.release.calls import REQUEST_TIMEOUT, retried
from switchyard.release.colours import ColourLayout, colour_of, other

Obj = dict[str, Any]
VERSION_ANNOTATION = "switchyard.io/version"
RELEASE_ANNOTATION = "switchyard.io/release-run"
CLEANUP_ANNOTATION = "cleanup-after"  # the runbook's annotation on the old colour after the bake
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink")


def _plain(api: ApiClient, obj: Any) -> Obj:
    return api.sanitize_for_serialization(obj)


def with_tag(image: str, tag: str) -> str:
    """``registry/app:v1`` → ``registry/app:<tag>`` (a digest or port in the registry is kept)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    repository = name[:colon] if colon > slash else name
    return f"{repository}:{tag}"


def repository_of(image: str) -> str:
    return with_tag(image, "x")[:-2]


DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
# Container waiting reasons that time does not cure without a change (kubelet's names).
STUCK_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)


def recolour(
    live: Obj, target: str, version: str | None, replicas: int, run_id: str, colour_label: str = "color"
) -> Obj:
    """The standby Deployment rendered from the live one: other colour (the ``colour_label`` label),
    new image tag."""
    body = copy.deepcopy(live)
    body.pop("status", None)
    meta = body["metadata"]
    for key in _SERVER_FIELDS:
        meta.pop(key, None)
    source = colour_of(meta["name"]) or ""
    live_name = meta["name"]
    meta["name"] = meta["name"][: -len(source)] + target if source else f"{meta['name']}-{target}"
    annotations = meta.setdefault("annotations", {}) or {}
    for key in list(annotations):
        if (
            key.startswith("deployment.kubernetes.io/")
            or key == "kubectl.kubernetes.io/last-applied-configuration"
        ):
            annotations.pop(key)
    meta["annotations"] = annotations
    spec = body["spec"]
    spec["replicas"] = replicas
    meta.setdefault("labels", {})[colour_label] = target
    spec["selector"].setdefault("matchLabels", {})[colour_label] = target
    spec["template"].setdefault("metadata", {}).setdefault("labels", {})[colour_label] = target
    pod = spec["template"]
    for values in (meta.get("labels"), annotations, pod.get("metadata", {}).get("labels")):
        for key, value in (values or {}).items():  # e.g. app.kubernetes.io/instance: <the live name>
            if value == live_name:
                values[key] = meta["name"]
    if source:  # a container named after the colour is named after the new one (events, logs, exec)
        for container in [*(pod["spec"].get("initContainers") or []), *pod["spec"]["containers"]]:
            if container.get("name", "").endswith(f"-{source}"):
                container["name"] = container["name"][: -len(source)] + target
        pod_annotations = pod["metadata"].get("annotations") or {}
        default = pod_annotations.get(DEFAULT_CONTAINER, "")
        if default.endswith(f"-{source}"):
            pod_annotations[DEFAULT_CONTAINER] = default[: -len(source)] + target
    app_repository = None
    containers = spec["template"]["spec"]["containers"]
    if containers:
        app_repository = repository_of(containers[0]["image"])
    if version:
        annotations[VERSION_ANNOTATION] = version
        for container in containers:
            if repository_of(container["image"]) == app_repository:
                container["image"] = with_tag(container["image"], version)
    annotations[RELEASE_ANNOTATION] = run_id
    return body


def deadline_exceeded_at(obj: Obj | None) -> str:
    """When the Deployment's ProgressDeadlineExceeded condition was last updated ("" if none)."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return str(cond.get("lastUpdateTime") or cond.get("lastTransitionTime") or "?")
    return ""


def rollout_status_of(obj: Obj, stale_deadline: str = "") -> tuple[bool, str]:
    """(done, reason) of a Deployment as ``kubectl rollout status`` decides it. A
    ProgressDeadlineExceeded condition still as it was when this rollout started
    (``stale_deadline``, from ``deadline_exceeded_at``) is an older rollout's (e.g. the colour's
    last release, before it was scaled to 0): it does not fail this one."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    desired = spec.get("replicas", 1)
    meta = obj["metadata"]
    if (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        return False, "waiting for the controller to observe the new spec"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            if stale_deadline and deadline_exceeded_at(obj) == stale_deadline:
                continue
            return False, f"rollout stuck: {cond.get('message', 'progress deadline exceeded')}"
    updated = status.get("updatedReplicas") or 0
    ready = status.get("readyReplicas") or 0
    available = status.get("availableReplicas") or 0
    if updated < desired:
        return False, f"{updated}/{desired} replicas updated"
    if (status.get("replicas") or 0) > updated:
        return False, f"{(status.get('replicas') or 0) - updated} old replicas pending termination"
    if available < desired or ready < desired:
        return False, f"{ready}/{desired} replicas ready"
    return True, f"{ready}/{desired} replicas ready"


@dataclass
class Workloads:
    """Deployments of one app, through the official client (as KubernetesHook builds it)."""

    api_client: ApiClient
    layout: ColourLayout
    log: Callable[[str], None] = print
    request_timeout: float = REQUEST_TIMEOUT

    @property
    def apps(self) -> AppsV1Api:
        return AppsV1Api(self.api_client)

    @property
    def core(self) -> CoreV1Api:
        return CoreV1Api(self.api_client)

    def read(self, component: str) -> Obj | None:
        try:
            obj = retried(
                self.apps.read_namespaced_deployment,
                component,
                self.layout.namespace(component),
                _request_timeout=self.request_timeout,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return _plain(self.api_client, obj)

    def apply(self, body: Obj, dry_run: bool = False) -> str:
        """Create or replace a Deployment; returns what happened."""
        name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
        kwargs: dict[str, Any] = {"_request_timeout": self.request_timeout}
        if dry_run:
            kwargs["dry_run"] = "All"
        for _attempt in range(5):
            try:
                self.apps.create_namespaced_deployment(namespace, body, **kwargs)
                return "created"
            except ApiException as exc:
                if exc.status != 409:
                    raise
            current = retried(
                self.apps.read_namespaced_deployment, name, namespace, _request_timeout=self.request_timeout
            )
            body = copy.deepcopy(body)
            body["metadata"]["resourceVersion"] = current.metadata.resource_version
            try:
                self.apps.replace_namespaced_deployment(name, namespace, body, **kwargs)
                return "replaced"
            except ApiException as exc:
                if exc.status != 409:  # a concurrent writer: read again and retry
                    raise
        raise RuntimeError(f"deployment {namespace}/{name} kept changing under us; giving up after 5 tries")

    def render_standby(
        self, live: str, version: str, run_id: str, images: dict[str, str] | None = None
    ) -> list[Obj]:
        """Manifests of every per-colour deployment of the standby colour, from the live ones.

        Queue workers of the standby colour are rendered at 0 replicas: they would otherwise take
        jobs from the shared queue with unreleased code. ``images``: the images a release record
        says were served (component of either colour → image); a tier found there gets exactly
        that image instead of the live one re-tagged (a rollback restores what was released).
        """
        standby = other(live)
        by_tier = {
            tier: images[name]
            for tier, members in self.layout.tiers.items()
            for name in members.values()
            if images and images.get(name)
        }
        bodies = []
        for tier, members in self.layout.tiers.items():
            source = self.read(members[live])
            if source is None:
                raise LookupError(
                    f"live deployment {members[live]} not found in namespace "
                    f"{self.layout.namespace(members[live])}: cannot render {members[standby]} from it"
                )
            replicas = (
                0 if members[standby] in self.layout.workers else int(source["spec"].get("replicas") or 1)
            )
            body = recolour(source, standby, version, replicas, run_id, self.layout.colour_label)
            if tier in by_tier:
                containers = body["spec"]["template"]["spec"]["containers"]
                app_repository = repository_of(source["spec"]["template"]["spec"]["containers"][0]["image"])
                for container in containers:
                    if repository_of(container["image"]) == app_repository:
                        container["image"] = by_tier[tier]
            body["metadata"]["namespace"] = self.layout.namespace(members[standby])
            bodies.append(body)
            self.log(f"rendered {body['metadata']['name']} ({tier}) at {replicas} replicas")
        return bodies

    def scale(self, component: str, replicas: int) -> int | None:
        """Set replicas; returns the previous count (None when the deployment does not exist)."""
        namespace = self.layout.namespace(component)
        try:
            current = retried(
                self.apps.read_namespaced_deployment_scale,
                component,
                namespace,
                _request_timeout=self.request_timeout,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        previous = current.spec.replicas or 0
        if previous != replicas:  # retried: an absolute replica count, idempotent
            retried(
                self.apps.patch_namespaced_deployment_scale,
                component,
                namespace,
                {"spec": {"replicas": replicas}},
                _request_timeout=self.request_timeout,
            )
        return previous

    def annotate(self, component: str, annotations: dict[str, str | None]) -> None:
        # retried: a merge patch that sets (or removes) these annotations, idempotent
        retried(
            self.apps.patch_namespaced_deployment,
            component,
            self.layout.namespace(component),
            {"metadata": {"annotations": annotations}},
            _request_timeout=self.request_timeout,
        )

    def rollout_status(self, component: str, stale_deadline: str = "") -> tuple[bool, str]:
        """(done, reason) as ``kubectl rollout status`` decides it (see ``rollout_status_of``)."""
        obj = self.read(component)
        if obj is None:
            return False, "deployment does not exist"
        return rollout_status_of(obj, stale_deadline)

    def pods(self, component: str) -> list[Any]:
        """The pods a deployment selects (none when it does not exist)."""
        obj = self.read(component)
        if obj is None:
            return []
        selector = ",".join(f"{k}={v}" for k, v in obj["spec"]["selector"].get("matchLabels", {}).items())
        return retried(
            self.core.list_namespaced_pod,
            self.layout.namespace(component),
            label_selector=selector,
            _request_timeout=self.request_timeout,
        ).items

    def pod_trouble(self, component: str) -> str:
        """Why a deployment's pods are not ready, from their container states (for the log)."""
        reasons = []
        for pod in self.pods(component):
            for cs in pod.status.container_statuses or []:
                waiting = cs.state.waiting if cs.state else None
                if waiting and waiting.reason:
                    reasons.append(f"{pod.metadata.name}: {waiting.reason} (restarts {cs.restart_count})")
                elif not cs.ready:
                    reasons.append(f"{pod.metadata.name}: not ready (restarts {cs.restart_count})")
        return "; ".join(reasons[:5])

    def failing_pods(self, component: str) -> str:
        """The pods of a deployment stuck in a state waiting does not cure (crash loop, image pull,
        bad config), as ``pod: Reason``; empty when none is."""
        return "; ".join(
            f"{pod.metadata.name}: {cs.state.waiting.reason}"
            for pod in self.pods(component)
            for cs in pod.status.container_statuses or []
            if cs.state and cs.state.waiting and cs.state.waiting.reason in STUCK_REASONS
        )

    def wait_ready(
        self,
        components: list[str],
        timeout: float,
        poll: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        stale_deadlines: dict[str, str] | None = None,
        stop_on_stuck_pods: bool = False,
    ) -> dict[str, str]:
        """Wait until every deployment has rolled out; returns component → reason for those that did not.
        Only this rollout is judged: a progress deadline an older rollout exceeded does not count
        (``stale_deadlines``: component → ``deadline_exceeded_at`` before the change; default: now).
        ``stop_on_stuck_pods``: give up on a component at once when one of its pods is stuck
        (``failing_pods``) rather than wait out the timeout, where a verdict is due now."""
        deadline = clock() + timeout
        pending = {c: "" for c in components}
        stale = {c: deadline_exceeded_at(self.read(c)) for c in components} | (stale_deadlines or {})
        stuck: dict[str, str] = {}
        # A rollout often finishes within a second: look again soon, then every ``poll`` seconds.
        interval = min(0.25, poll)
        while True:
            for component in list(pending):
                done, reason = self.rollout_status(component, stale[component])
                if done:
                    self.log(f"{component}: rolled out ({reason})")
                    pending.pop(component)
                    continue
                pending[component] = reason
                if stop_on_stuck_pods and (failing := self.failing_pods(component)):
                    stuck[component] = f"{reason}; {failing}".strip("; ")
                    pending.pop(component)
            if not pending or clock() >= deadline:
                break
            sleep(interval)
            interval = min(interval * 2, poll)
        return stuck | {c: f"{r}; {self.pod_trouble(c)}".rstrip("; ") for c, r in pending.items()}


def hand_over_workers(workloads: Workloads, target: str) -> dict[str, str]:
    """Queue workers follow the traffic: target colour up to the old colour's count, old to 0."""
    layout = workloads.layout
    moves = {}
    for members in layout.tiers.values():
        new, old = members[target], members[other(target)]
        if new not in layout.workers:
            continue
        old_obj = workloads.read(old)
        new_obj = workloads.read(new)
        wanted = int((old_obj or {}).get("spec", {}).get("replicas") or 0)
        have = int((new_obj or {}).get("spec", {}).get("replicas") or 0)
        if old_obj is None or wanted == 0:  # already handed over (a re-run) or nothing to hand over
            wanted = max(wanted, have)
        if new_obj is not None:
            workloads.scale(new, wanted)
        if old_obj is not None:
            workloads.scale(old, 0)
        moves[new] = f"{have}→{wanted}"
        moves[old] = "→0"
    return moves
