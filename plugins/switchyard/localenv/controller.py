"""The simulated kubelet and controllers: pods, deployment and job status, endpoints, ingress addresses.

Everything a probe reads is derived on each tick from the stored specs, the behaviour table and
the simulated clock: a Deployment gets pods (labels from its template plus ``pod-template-hash``,
owned directly by the Deployment — the ReplicaSet layer is not modelled), each pod's phase,
readiness, restart count and container state reason follow the behaviour of its image over
simulated time; Deployment and Job status, Endpoints and EndpointSlices, and Events follow the pods.
A rolling update keeps old pods until the new ones are ready, so a crash-looping new image leaves
the old pods serving, as on a real cluster.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from switchyard.localenv.behaviours import Behaviour, BehaviourTable
from switchyard.localenv.clock import Periodic, SimClock
from switchyard.localenv.errors import ApiError
from switchyard.localenv.store import (
    CONFIG_MAPS,
    DEPLOYMENTS,
    ENDPOINT_SLICES,
    ENDPOINTS,
    EVENTS,
    INGRESSES,
    JOBS,
    NODES,
    PODS,
    REPLICA_SETS,
    SECRETS,
    SERVICES,
    ObjectStore,
    now_iso,
    owner_reference,
)
from switchyard.release.loadtest import LOAD_TEST_STEP, STEP_LABEL

Obj = dict[str, Any]
NODE_NAME = "switchyard-local-node"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
DEFAULT_CONTAINER_PORT = 8080


@dataclass
class ContainerSim:
    behaviour: Behaviour
    since: float  # simulated time the current behaviour started for this container
    restarts_base: int = 0
    started: bool = False  # the container has run at least once
    warm: bool = False  # the current behaviour began on a started container: no ContainerCreating
    blocked: bool = False  # waiting for a missing Secret/ConfigMap; its behaviour starts once it exists
    stamps: dict[tuple[str, int], str] = field(default_factory=dict)  # when each (reason, restarts) began


@dataclass(frozen=True)
class LogLine:
    container: str
    at: float  # simulated time it was written
    instance: int  # the container's restart count when it was written (what --previous selects)
    text: str


@dataclass
class PodSim:
    born: float
    ip: str
    containers: dict[str, ContainerSim] = field(default_factory=dict)
    last_reasons: dict[str, str] = field(default_factory=dict)
    log_lines: list[LogLine] = field(default_factory=list)
    log_marks: dict[str, tuple[str, int]] = field(default_factory=dict)
    logged_start: set[str] = field(default_factory=set)
    finished: bool = False
    run_to_completion: bool = False


@dataclass
class RolloutSim:
    """The Progressing condition's bookkeeping for one pod template, as the real controller keeps it
    (pkg/controller/deployment/progress.go): a rollout that completed stays complete through
    scale-only changes (no deadline is estimated until a new template rolls out, kubernetes#106054);
    an unfinished one restarts its deadline whenever it makes progress."""

    template_hash: str
    progress_at: float  # last time the rollout made progress (the condition's lastUpdateTime)
    counts: tuple[int, int, int] = (0, 0, 0)  # (updated, old, ready) pods at the last pass
    completed: bool = False  # Progressing=True/NewReplicaSetAvailable reached for this template
    deadline_at: float | None = None  # when an unfinished rollout times out (ProgressDeadlineExceeded)


class WorkloadController:
    def __init__(
        self,
        store: ObjectStore,
        behaviours: BehaviourTable,
        clock: SimClock,
        *,
        region: str = "eu-central-1",
        interval: float = 0.1,
    ) -> None:
        self.store = store
        self.behaviours = behaviours
        self.clock = clock
        self.region = region
        self.interval = interval
        self._pods: dict[tuple[str, str], PodSim] = {}
        self._rollouts: dict[str, RolloutSim] = {}
        self._derived_endpoints: set[tuple[str, str]] = set()
        self._ips = (str(ip) for ip in ipaddress.ip_network("10.244.0.0/16").hosts())
        self._ticker = Periodic("localenv-controller", interval, self._periodic_tick)
        # What the last periodic pass saw: no pass is needed until the store or the behaviours
        # change, the clock reaches the next change, or MAX_QUIET_SECONDS pass (state derived from
        # elapsed time, such as a crash loop's restart count).
        self._quiet: tuple[str, int] | None = None
        self._wake_at: float | None = None
        self._last_pass = 0.0
        self.backdate = 0.0  # pods created while > 0 are born this many seconds in the past (seeding)
        self.ticks = 0  # reconcile passes so far (a clock jump's cost is counted in these)

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds``, reconciling at every change on the way.

        The jump is O(events), not O(seconds): it stops only where something can change (a container
        starting or becoming ready, a job pod finishing, a progress deadline, a scheduled behaviour),
        reconciles there (which may schedule further changes: a new pod, the next job attempt) and
        jumps on. Restart counts of a crash loop are computed from elapsed time, so a long jump does
        not stop at every restart.
        """
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, got advance({seconds})")
        with self.store.lock:
            remaining = seconds  # jumped on top of the real time that passes meanwhile
            self.tick()  # objects created since the last pass get their pods now, not at the end of the jump
            while remaining > 1e-9:
                now = self.clock.now()
                upcoming = self.next_change(now)
                delta = (
                    remaining
                    if upcoming is None
                    else min(max(upcoming + _STEP_PAST - now, _STEP_PAST), remaining)
                )
                self.clock.advance(delta)
                remaining -= delta
                self.tick()

    def _periodic_tick(self) -> None:
        """A reconcile pass when something may have changed since the last (as a controller's
        informer wakes it), else nothing: an idle cluster costs a comparison, not a pass."""
        with self.store.lock:
            if (
                self._quiet == (self.store.resource_version, self.behaviours.version)
                and (self._wake_at is None or self.clock.now() < self._wake_at)
                and time.monotonic() - self._last_pass < MAX_QUIET_SECONDS
            ):
                return
            self.tick()
            self._last_pass = time.monotonic()
            self._quiet = (self.store.resource_version, self.behaviours.version)
            self._wake_at = self.next_change(self.clock.now())

    def next_change(self, now: float) -> float | None:
        """The earliest simulated time after ``now`` at which a reconcile would change something."""
        times: list[float] = []
        due = self.behaviours.next_due()
        if due is not None:
            times.append(due)
        for sim in self._pods.values():
            if sim.finished:
                continue
            for csim in sim.containers.values():
                times.extend(_change_times(csim, sim.run_to_completion))
        times.extend(r.deadline_at for r in self._rollouts.values() if r.deadline_at is not None)
        return min((t for t in times if t > now + 1e-9), default=None)

    def settle(self, age: float = 3600.0) -> None:
        """Reconcile as if every current workload had been running for ``age`` seconds (seeding)."""
        with self.store.lock:
            self.backdate = age
            try:
                self.tick()
                self.tick()
            finally:
                self.backdate = 0.0
            self.tick()

    # ------------------------------------------------------------- reconcile
    def tick(self) -> None:
        with self.store.lock:
            self.ticks += 1
            # Read the clock under the lock: a tick that waited for a jump must not write older state.
            now = self.clock.now()
            self.behaviours.apply_due(now)
            self._ensure_node()
            # Passes until nothing changes: owners create and delete pods, pods move on, owners report
            # status from this tick's pods and take the next step (a rolling update scales the new
            # ReplicaSet up once an old one shrank; a Job whose attempt just failed starts the next).
            for _ in range(_MAX_PASSES):
                before = self.store.resource_version
                for deployment in self.store.view(DEPLOYMENTS):
                    self._reconcile_deployment(deployment, now)
                for job in self.store.view(JOBS):
                    self._reconcile_job(job, now)
                self._collect_garbage()
                for pod in self.store.view(PODS):
                    self._update_pod(pod, now)
                if self.store.resource_version == before:
                    break
            for service in self.store.view(SERVICES):
                self._reconcile_endpoints(service)
                self._assign_load_balancer(service)
            for ingress in self.store.view(INGRESSES):
                self._assign_ingress_address(ingress)

    def _ensure_node(self) -> None:
        if self.store.find(NODES, None, NODE_NAME) is None:
            self.store.create(
                NODES,
                None,
                {
                    "metadata": {
                        "name": NODE_NAME,
                        "labels": {
                            "kubernetes.io/hostname": NODE_NAME,
                            "topology.kubernetes.io/region": self.region,
                        },
                    },
                    "status": {
                        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                        "nodeInfo": {"kubeletVersion": "v1.32.0-switchyard"},
                    },
                },
            )

    # ------------------------------------------------------------- deployments
    def _reconcile_deployment(self, deployment: Obj, now: float) -> None:
        """The deployment controller: one ReplicaSet per pod template (``name-<pod-template-hash>``,
        revision annotations for ``kubectl rollout history|undo``), a rolling update bounded by
        maxSurge/maxUnavailable (or Recreate), old ReplicaSets kept up to revisionHistoryLimit."""
        meta, spec = deployment["metadata"], deployment["spec"]
        namespace, name = meta["namespace"], meta["name"]
        desired = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        template_hash = _template_hash(template)
        sets = sorted(self._owned(REPLICA_SETS, deployment), key=_revision)
        new_rs = next((rs for rs in sets if _rs_hash(rs) == template_hash), None)
        old_sets = [rs for rs in sets if rs is not new_rs]
        if spec.get("paused"):
            return
        top = max((_revision(rs) for rs in sets), default=0)
        if new_rs is None:
            new_rs = self._create_replica_set(deployment, template, template_hash, top + 1)
        elif _revision(new_rs) < top:  # a rollback to an old template: it becomes the newest revision
            new_rs = self._set_rs(new_rs, revision=top + 1)
        revision = str(_revision(new_rs))
        if (meta.get("annotations") or {}).get(REVISION) != revision:
            self.store.annotate(DEPLOYMENTS, namespace, name, {REVISION: revision})
        cause = (meta.get("annotations") or {}).get(CHANGE_CAUSE)
        if cause is not None and (new_rs["metadata"].get("annotations") or {}).get(CHANGE_CAUSE) != cause:
            self.store.annotate(REPLICA_SETS, namespace, new_rs["metadata"]["name"], {CHANGE_CAUSE: cause})

        ready = {
            rs["metadata"]["uid"]: sum(1 for p in self._owned_pods(rs) if pod_ready(p))
            for rs in [new_rs, *old_sets]
        }

        def replicas(rs: Obj) -> int:
            return int((rs.get("spec") or {}).get("replicas", 0))

        strategy = spec.get("strategy") or {}
        if strategy.get("type") == "Recreate":
            for rs in old_sets:
                if replicas(rs):
                    self._set_rs(rs, replicas=0)
            old_pods = sum(len(self._owned_pods(rs)) for rs in old_sets)
            if not old_pods and replicas(new_rs) != desired:
                new_rs = self._set_rs(new_rs, replicas=desired)
        else:
            max_surge, max_unavailable = _surge_and_unavailable(spec, desired)
            total = sum(replicas(rs) for rs in [new_rs, *old_sets])
            current = replicas(new_rs)
            if current > desired:
                new_rs = self._set_rs(new_rs, replicas=desired)
            elif current < desired:
                grow = max(0, min(desired + max_surge - total, desired - current))
                if grow:
                    new_rs = self._set_rs(new_rs, replicas=current + grow)
            # Old ReplicaSets shrink while enough pods stay available: unhealthy pods first, then by
            # the available surplus (the real controller's cleanupUnhealthyReplicas + scale down).
            min_available = desired - max_unavailable
            total = sum(replicas(rs) for rs in [new_rs, *old_sets])
            new_unavailable = max(replicas(new_rs) - ready[new_rs["metadata"]["uid"]], 0)
            budget = total - min_available - new_unavailable
            shrunk: dict[str, int] = {}
            for rs in old_sets:
                unhealthy = max(replicas(rs) - ready[rs["metadata"]["uid"]], 0)
                cut = min(unhealthy, max(budget, 0))
                shrunk[rs["metadata"]["uid"]] = replicas(rs) - cut
                budget -= cut
            available = sum(min(ready[uid], shrunk.get(uid, replicas(new_rs))) for uid in ready)
            budget = available - min_available
            for rs in old_sets:
                uid = rs["metadata"]["uid"]
                cut = min(shrunk[uid], max(budget, 0))
                shrunk[uid] -= cut
                budget -= cut
                if shrunk[uid] != replicas(rs):
                    self._set_rs(rs, replicas=shrunk[uid])
        self._prune_history(deployment, old_sets)
        for rs in self._owned(REPLICA_SETS, deployment):
            self._reconcile_replica_set(rs, now)
        self._deployment_status(deployment, now, template_hash)

    def _deployment_status(self, deployment: Obj, now: float, template_hash: str) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        desired = int(spec.get("replicas", 1))
        sets = self._owned(REPLICA_SETS, deployment)
        new_rs = next((rs for rs in sets if _rs_hash(rs) == template_hash), None)
        new = (
            [p for p in self._owned_pods(new_rs) if not p["metadata"].get("deletionTimestamp")]
            if new_rs
            else []
        )
        old = [p for rs in sets if rs is not new_rs for p in self._owned_pods(rs)]
        ready_new = sum(1 for p in new if pod_ready(p))
        all_pods = new + old
        ready = sum(1 for p in all_pods if pod_ready(p))
        rollout = self._rollouts.get(meta["uid"])
        if rollout is None or rollout.template_hash != template_hash:
            rollout = self._rollouts[meta["uid"]] = RolloutSim(template_hash, now)
        # Progress as DeploymentProgressing sees it: more updated pods, fewer old ones, more ready.
        seen = (len(new), len(old), ready)
        if seen[0] > rollout.counts[0] or seen[1] < rollout.counts[1] or seen[2] > rollout.counts[2]:
            rollout.progress_at = now
        rollout.counts = seen

        total_replicas = sum(int((rs.get("spec") or {}).get("replicas", 0)) for rs in sets)
        max_unavailable = _surge_and_unavailable(spec, desired)[1]
        complete = len(new) == desired and ready_new >= desired and not old
        # A completed rollout with no old pods is not judged again: scaling it (from 0 or not) leaves
        # Progressing at NewReplicaSetAvailable, only Available changes (isCompleteDeployment).
        settled = rollout.completed and not old
        rollout.completed = settled or complete
        deadline = float(spec.get("progressDeadlineSeconds", 600))
        rollout.deadline_at = None if rollout.completed else rollout.progress_at + deadline + _STEP_PAST
        previous = {c["type"]: c for c in (deployment.get("status") or {}).get("conditions") or []}
        rs_name = f"{meta['name']}-{template_hash}"
        if rollout.completed:
            progressing = (
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
            )
        elif now - rollout.progress_at > deadline:
            progressing = (
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
            )
        else:
            progressing = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
        available = (
            ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
            if ready >= desired - max_unavailable
            else ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        )
        status: Obj = {"observedGeneration": meta.get("generation", 1)}
        counts = {
            "replicas": len(all_pods),
            "updatedReplicas": len(new),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": max(total_replicas - ready, 0),
        }
        # Like the real API server, zero counts are omitted (readyReplicas is absent, not 0).
        status.update({k: v for k, v in counts.items() if v})
        # Stamped in simulated time: the deadline is measured in it (a clock jump past it must show).
        stamp = self._sim_stamp(now)
        progressed_at = (
            self._sim_stamp(rollout.progress_at) if progressing[1] == "ReplicaSetUpdated" else None
        )
        status["conditions"] = [
            _condition("Available", *available, previous.get("Available"), at=stamp),
            _condition(
                "Progressing", *progressing, previous.get("Progressing"), at=stamp, updated_at=progressed_at
            ),
        ]
        self.store.write_status(DEPLOYMENTS, meta["namespace"], meta["name"], status)

    def _sim_stamp(self, sim: float) -> str:
        """RFC 3339 at whole seconds (as the API server writes condition times) of a simulated time."""
        return self.clock.wall_iso(sim)[:19] + "Z"

    # ------------------------------------------------------------- replica sets
    def _owned(self, rt: Any, owner: Obj) -> list[Obj]:
        uid = owner["metadata"]["uid"]
        return [
            o
            for o in self.store.view(rt, owner["metadata"]["namespace"])
            if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])
        ]

    def _create_replica_set(self, deployment: Obj, template: Obj, template_hash: str, revision: int) -> Obj:
        meta, spec = deployment["metadata"], deployment["spec"]
        rs_template = json.loads(json.dumps(template))
        labels = {**((rs_template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: template_hash}
        rs_template.setdefault("metadata", {})["labels"] = labels
        selector = json.loads(json.dumps(spec.get("selector") or {}))
        selector.setdefault("matchLabels", {})[HASH_LABEL] = template_hash
        annotations = {
            k: v
            for k, v in (meta.get("annotations") or {}).items()
            if k not in (REVISION, "kubectl.kubernetes.io/last-applied-configuration")
        }
        annotations.update(
            {
                REVISION: str(revision),
                "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
            }
        )
        return self.store.create(
            REPLICA_SETS,
            meta["namespace"],
            {
                "metadata": {
                    "name": f"{meta['name']}-{template_hash}",
                    "labels": labels,
                    "annotations": annotations,
                    "ownerReferences": [owner_reference(deployment)],
                },
                "spec": {
                    "replicas": 0,
                    "selector": selector,
                    "template": rs_template,
                    "minReadySeconds": spec.get("minReadySeconds", 0),
                },
            },
        )

    def _set_rs(self, rs: Obj, replicas: int | None = None, revision: int | None = None) -> Obj:
        meta = rs["metadata"]
        patch: Obj = {}
        if replicas is not None:
            patch["spec"] = {"replicas": replicas}
        if revision is not None:
            patch["metadata"] = {"annotations": {REVISION: str(revision)}}
        return self.store.patch(
            REPLICA_SETS, meta["namespace"], meta["name"], "application/merge-patch+json", patch
        )

    def _prune_history(self, deployment: Obj, old_sets: list[Obj]) -> None:
        limit = int(deployment["spec"].get("revisionHistoryLimit", 10))
        idle = [
            rs for rs in old_sets if not (rs.get("spec") or {}).get("replicas") and not self._owned_pods(rs)
        ]
        for rs in idle[: max(len(idle) - limit, 0)]:
            self.store.remove_quietly(REPLICA_SETS, rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _reconcile_replica_set(self, rs: Obj, now: float) -> None:
        meta, spec = rs["metadata"], rs.get("spec") or {}
        desired = int(spec.get("replicas", 0))
        pods = [p for p in self._owned_pods(rs) if not p["metadata"].get("deletionTimestamp")]
        for _ in range(desired - len(pods)):
            pods.append(self._create_pod(rs, spec.get("template") or {}, _rs_hash(rs), now, meta["name"]))
        if len(pods) > desired:
            # Not-ready pods go first, then the newest (the ReplicaSet controller's order).
            surplus = sorted(
                pods,
                key=lambda p: (
                    pod_ready(p),
                    p["metadata"].get("creationTimestamp", ""),
                    p["metadata"]["name"],
                ),
            )[: len(pods) - desired]
            for pod in surplus:
                self._delete_pod(pod)
            pods = [p for p in pods if p not in surplus]
        ready = sum(1 for p in pods if pod_ready(p))
        status: Obj = {"replicas": len(pods), "observedGeneration": meta.get("generation", 1)}
        status.update(
            {
                k: v
                for k, v in {
                    "fullyLabeledReplicas": len(pods),
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                }.items()
                if v
            }
        )
        self.store.write_status(REPLICA_SETS, meta["namespace"], meta["name"], status)

    def _owned_pods(self, owner: Obj) -> list[Obj]:
        uid = owner["metadata"]["uid"]
        return [
            p
            for p in self.store.view(PODS, owner["metadata"]["namespace"])
            if any(ref.get("uid") == uid for ref in p["metadata"].get("ownerReferences") or [])
        ]

    def _create_pod(
        self, owner: Obj, template: Obj, template_hash: str | None, now: float, prefix: str | None = None
    ) -> Obj:
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        if template_hash:
            labels[HASH_LABEL] = template_hash
        name = f"{prefix or owner['metadata']['name']}-{uuid.uuid4().hex[:5]}"
        spec = json.loads(json.dumps(template.get("spec") or {}))
        spec["nodeName"] = NODE_NAME
        pod = self.store.create(
            PODS,
            owner["metadata"]["namespace"],
            {
                "metadata": {
                    "name": name,
                    "labels": labels,
                    "annotations": dict((template.get("metadata") or {}).get("annotations") or {}),
                    "ownerReferences": [owner_reference(owner)],
                },
                "spec": spec,
            },
        )
        self._track(pod, now - self.backdate)
        return pod

    def _delete_pod(self, pod: Obj) -> None:
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        self.store.remove_quietly(PODS, namespace, name)
        self._pods.pop((namespace, name), None)

    # ------------------------------------------------------------- jobs
    def _reconcile_job(self, job: Obj, now: float) -> None:
        meta, spec = job["metadata"], job["spec"]
        status = dict(job.get("status") or {})
        if any(
            c["type"] in ("Complete", "Failed") and c["status"] == "True"
            for c in status.get("conditions") or []
        ):
            return
        if spec.get("suspend"):
            return
        pods = self._owned_pods(job)
        phases = [(p.get("status") or {}).get("phase") for p in pods]
        succeeded, failed = phases.count("Succeeded"), phases.count("Failed")
        active = [p for p, phase in zip(pods, phases, strict=True) if phase not in ("Succeeded", "Failed")]
        completions = int(spec.get("completions", 1))
        backoff_limit = int(spec.get("backoffLimit", 6))
        status.setdefault("startTime", now_iso())
        conditions: list[Obj] = []
        if succeeded >= completions:
            conditions = [
                _condition(
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                ),
                _condition(
                    "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"
                ),
            ]
            status["completionTime"] = now_iso()
            for pod in active:
                self._delete_pod(pod)
            active = []
        elif failed > backoff_limit:
            conditions = [
                _condition(
                    "FailureTarget",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                ),
                _condition(
                    "Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"
                ),
            ]
            for pod in active:
                self._delete_pod(pod)
            active = []
        elif not active:
            active.append(self._create_pod(job, spec.get("template") or {}, None, now))
        status.update(
            {
                "active": len(active),
                "succeeded": succeeded,
                "failed": failed,
                "ready": sum(1 for p in active if pod_ready(p)),
                "uncountedTerminatedPods": {},
            }
        )
        for key in ("active", "succeeded", "failed"):
            if not status[key]:
                del status[key]
        if conditions:
            status["conditions"] = conditions
        self.store.write_status(JOBS, meta["namespace"], meta["name"], status)

    # ------------------------------------------------------------- pods
    def _track(self, pod: Obj, born: float) -> PodSim:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        sim = self._pods.get(key)
        if sim is None:
            sim = self._pods[key] = PodSim(born=born, ip=next(self._ips))
        return sim

    def _update_pod(self, pod: Obj, now: float) -> None:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        sim = self._pods.get((meta["namespace"], meta["name"])) or self._track(pod, now - self.backdate)
        if sim.finished:
            return
        run_to_completion = spec.get("restartPolicy", "Always") != "Always"
        sim.run_to_completion = run_to_completion
        statuses, events = [], []
        for container in spec.get("containers") or []:
            cname, image = container.get("name", "main"), container.get("image", "")
            behaviour = load_generator_behaviour(self.behaviours.lookup(image), meta, container)
            csim = sim.containers.get(cname)
            if csim is None:
                csim = sim.containers[cname] = ContainerSim(behaviour, sim.born)
            elif csim.behaviour != behaviour:
                self._change_behaviour(csim, behaviour, now)
            missing = self._missing_config(meta["namespace"], spec, container) if not csim.started else None
            if missing is not None:
                csim.since, csim.blocked, csim.warm = now, True, False
                state = _blocked_state(*missing)
            else:
                csim.blocked = False
                state = _container_state(csim, now, run_to_completion)
            # Timestamps stay those of the moment the state began, so an unchanged pod is not rewritten.
            stamp = csim.stamps.setdefault((state["reason"], state["restarts"]), now_iso())
            for detail in (*state["state"].values(), *state["last_state"].values()):
                for key in ("startedAt", "finishedAt"):
                    if key in detail:
                        detail[key] = stamp
            if state["started"]:
                csim.started = True
            statuses.append(
                {
                    "name": cname,
                    "image": image,
                    "imageID": _image_id(image, state),
                    "containerID": f"containerd://{uuid.uuid5(uuid.NAMESPACE_URL, meta['uid'] + cname).hex}"
                    if state["started"]
                    else None,
                    "ready": state["ready"],
                    "started": state["running"],
                    "restartCount": state["restarts"],
                    "state": state["state"],
                    "lastState": state["last_state"],
                }
            )
            reason = state["reason"]
            if reason != sim.last_reasons.get(cname):
                sim.last_reasons[cname] = reason
                events.append((cname, image, reason, state.get("message", "")))
            self._collect_logs(sim, cname, image, csim.behaviour, state, now, serving=not run_to_completion)
        for status in statuses:
            if status["containerID"] is None:
                del status["containerID"]
        phase = _pod_phase([s["state"] for s in statuses], run_to_completion)
        ready = bool(statuses) and all(s["ready"] for s in statuses) and phase == "Running"
        previous = {c["type"]: c for c in (pod.get("status") or {}).get("conditions") or []}
        scheduled = _condition("PodScheduled", "True", None, None, previous.get("PodScheduled"))
        initialized = _condition("Initialized", "True", None, None, previous.get("Initialized"))
        containers_ready = _condition(
            "ContainersReady",
            "True" if ready else "False",
            None if ready else "ContainersNotReady",
            None,
            previous.get("ContainersReady"),
        )
        ready_condition = _condition(
            "Ready",
            "True" if ready else "False",
            None if ready else "ContainersNotReady",
            None,
            previous.get("Ready"),
        )
        if phase in ("Succeeded", "Failed"):
            for c in (containers_ready, ready_condition):
                c.update(status="False", reason="PodCompleted")
        status = {
            "phase": phase,
            "conditions": [initialized, ready_condition, containers_ready, scheduled],
            "hostIP": "192.168.0.10",
            "podIP": sim.ip,
            "podIPs": [{"ip": sim.ip}],
            "startTime": (pod.get("status") or {}).get("startTime") or now_iso(),
            "containerStatuses": statuses,
            "qosClass": "BestEffort",
        }
        self.store.write_status(PODS, meta["namespace"], meta["name"], status)
        for cname, image, reason, message in events:
            self._emit_pod_event(pod, cname, image, reason, message)
        if phase in ("Succeeded", "Failed"):
            sim.finished = True

    @staticmethod
    def _change_behaviour(csim: ContainerSim, behaviour: Behaviour, now: float) -> None:
        """Live behaviour change. A serving container that keeps serving stays ready (5xx or latency
        change only); otherwise the new behaviour starts now, keeping the restarts counted so far."""
        state = _container_state(csim, now, False)
        if not (csim.behaviour.serves and behaviour.serves):
            csim.restarts_base = state["restarts"]
            csim.since = now
            csim.warm = csim.started
        csim.behaviour = behaviour

    def _collect_logs(
        self, sim: PodSim, cname: str, image: str, behaviour: Behaviour, state: Obj, now: float, serving: bool
    ) -> None:
        """Append the lines a container writes when its state changes (what ``pods/log`` answers)."""
        mark = (state["reason"], state["restarts"])
        if sim.log_marks.get(cname) == mark:
            return
        sim.log_marks[cname] = mark
        reason, lines = state["reason"], []
        if reason in ("Running", "Ready", "Completed", "Error") and cname not in sim.logged_start:
            sim.logged_start.add(cname)
            lines.append(f"started {image}")
            if serving and behaviour.serves and reason in ("Running", "Ready"):
                lines.append(f"listening on :{DEFAULT_CONTAINER_PORT}")
        if reason == "CrashLoopBackOff":
            crash = [
                f"started {image}",
                *(behaviour.logs or ("FATAL: cannot start: application exited with code 1",)),
            ]
            previous = state["restarts"] - 1
            if previous >= 0 and not any(
                e.container == cname and e.instance == previous for e in sim.log_lines
            ):
                # A clock jump skipped the previous run; it wrote the same (what --previous shows).
                sim.log_lines.extend(
                    LogLine(cname, now - behaviour.restart_interval, previous, line) for line in crash
                )
            lines.extend(crash)
        elif reason in ("Completed", "Error"):
            default = (
                ("running migrations", "applied 3 migrations", "done")
                if reason == "Completed"
                else ("running migrations", "ERROR: migration 0042 failed: duplicate column name 'sku'")
            )
            lines.extend(behaviour.logs or default)
            lines.append(f"exit code {0 if reason == 'Completed' else 1}")
        sim.log_lines.extend(LogLine(cname, now, state["restarts"], line) for line in lines)
        del sim.log_lines[:-1000]

    def pod_log(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        tail: int | None = None,
        *,
        since_seconds: float | None = None,
        since: float | None = None,
        previous: bool = False,
        timestamps: bool = False,
        start: int = 0,
    ) -> tuple[str, int]:
        """The log of one container instance as ``pods/log`` answers it, and the index to continue
        from (``follow``). ``since_seconds`` counts back from the simulated now, ``since`` is a
        simulated time; ``previous`` selects the instance before the last restart."""
        with self.store.lock:
            sim = self._pods.get((namespace, name))
            lines = [
                entry
                for entry in (sim.log_lines if sim else [])[start:]
                if container in (None, entry.container)
            ]
            end = len(sim.log_lines) if sim else 0
            csim = sim.containers.get(container or "") if sim else None
            if csim is None and sim and len(sim.containers) == 1:
                csim = next(iter(sim.containers.values()))
            restarts = (
                _container_state(csim, self.clock.now(), sim.run_to_completion)["restarts"]
                if csim and sim
                else 0
            )
        if previous:
            if not restarts:
                raise ApiError.bad_request(
                    f'previous terminated container "{container}" in pod "{name}" not found'
                )
            lines = [entry for entry in lines if entry.instance == restarts - 1]
        elif start == 0:
            latest = max((entry.instance for entry in lines), default=0)
            lines = [entry for entry in lines if entry.instance == latest]
        if since_seconds is not None:
            since = self.clock.now() - since_seconds
        if since is not None:
            lines = [entry for entry in lines if entry.at >= since]
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        if timestamps:
            return "".join(f"{self.clock.wall_iso(entry.at)} {entry.text}\n" for entry in lines), end
        return "".join(f"{entry.text}\n" for entry in lines), end

    def _missing_config(self, namespace: str, pod_spec: Obj, container: Obj) -> tuple[str, str] | None:
        """What the kubelet stops on before starting a container: a volume whose Secret/ConfigMap does
        not exist (stuck in ContainerCreating, FailedMount) or an env reference to a missing
        Secret/ConfigMap or key (CreateContainerConfigError). Optional references never block."""

        def lookup(kind: str, name: str) -> Obj | None:
            return self.store.find(SECRETS if kind == "secret" else CONFIG_MAPS, namespace, name)

        for volume in pod_spec.get("volumes") or []:
            for kind, source, key in (
                ("secret", volume.get("secret"), "secretName"),
                ("configmap", volume.get("configMap"), "name"),
            ):
                if source and not source.get("optional") and lookup(kind, source.get(key, "")) is None:
                    return "ContainerCreating", (
                        f'MountVolume.SetUp failed for volume "{volume.get("name")}" : '
                        f'{kind} "{source.get(key, "")}" not found'
                    )
        for env in container.get("env") or []:
            for kind, ref in (
                ("secret", (env.get("valueFrom") or {}).get("secretKeyRef")),
                ("configmap", (env.get("valueFrom") or {}).get("configMapKeyRef")),
            ):
                if not ref or ref.get("optional"):
                    continue
                obj = lookup(kind, ref.get("name", ""))
                if obj is None:
                    return "CreateContainerConfigError", f'{kind} "{ref.get("name", "")}" not found'
                if ref.get("key") not in (obj.get("data") or {}) and ref.get("key") not in (
                    obj.get("binaryData") or {}
                ):
                    title = "Secret" if kind == "secret" else "ConfigMap"
                    return "CreateContainerConfigError", (
                        f"couldn't find key {ref.get('key')} in {title} {namespace}/{ref.get('name', '')}"
                    )
        for source in container.get("envFrom") or []:
            for kind, ref in (("secret", source.get("secretRef")), ("configmap", source.get("configMapRef"))):
                if ref and not ref.get("optional") and lookup(kind, ref.get("name", "")) is None:
                    return "CreateContainerConfigError", f'{kind} "{ref.get("name", "")}" not found'
        return None

    def _emit_pod_event(self, pod: Obj, cname: str, image: str, reason: str, detail: str = "") -> None:
        if reason == "ContainerCreating" and detail.startswith("MountVolume"):
            reason = "FailedMountDetail"
        message = {
            "FailedMountDetail": (detail, "FailedMount", "Warning"),
            "CreateContainerConfigError": (f"Error: {detail}", "Failed", "Warning"),
            "ContainerCreating": None,
            "Running": (f"Started container {cname}", "Started", "Normal"),
            "Ready": None,
            "CrashLoopBackOff": (
                f"Back-off restarting failed container {cname} in pod {pod['metadata']['name']}",
                "BackOff",
                "Warning",
            ),
            "ErrImagePull": (f'Failed to pull image "{image}": not found', "Failed", "Warning"),
            "ImagePullBackOff": (f'Back-off pulling image "{image}"', "BackOff", "Warning"),
            "MountFailure": (
                'MountVolume.SetUp failed for volume "app-config" : secret "app-config" not found',
                "FailedMount",
                "Warning",
            ),
            "Completed": (f"Container {cname} completed", "Completed", "Normal"),
            "Error": (f"Container {cname} failed with exit code 1", "Failed", "Warning"),
        }.get(reason)
        if message is None:
            return
        text, event_reason, event_type = message
        meta = pod["metadata"]
        event_name = f"{meta['name']}.{hashlib.sha1(event_reason.encode()).hexdigest()[:12]}"
        existing = self.store.find(EVENTS, meta["namespace"], event_name)
        count = (existing or {}).get("count", 0) + 1
        self.store.upsert(
            EVENTS,
            {
                "metadata": {"name": event_name, "namespace": meta["namespace"]},
                "involvedObject": {
                    "kind": "Pod",
                    "namespace": meta["namespace"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "apiVersion": "v1",
                    "fieldPath": f"spec.containers{{{cname}}}",
                },
                "reason": event_reason,
                "message": text,
                "type": event_type,
                "count": count,
                "source": {"component": "kubelet", "host": NODE_NAME},
                "firstTimestamp": (existing or {}).get("firstTimestamp") or now_iso(),
                "lastTimestamp": now_iso(),
                "reportingComponent": "kubelet",
                "reportingInstance": NODE_NAME,
            },
        )

    # ------------------------------------------------------------- services
    def selected_pods(self, service: Obj) -> list[Obj]:
        selector = (service.get("spec") or {}).get("selector") or {}
        if not selector:
            return []
        label_selector = ",".join(f"{k}={v}" for k, v in selector.items())
        return [
            p
            for p in self.store.view(PODS, service["metadata"]["namespace"], label_selector)
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        ]

    def ready_pods(self, service: Obj) -> list[Obj]:
        return [p for p in self.selected_pods(service) if pod_ready(p)]

    def _reconcile_endpoints(self, service: Obj) -> None:
        meta, spec = service["metadata"], service.get("spec") or {}
        if not spec.get("selector"):
            return  # Endpoints of selector-less Services are managed by hand, as on a real cluster
        pods = self.selected_pods(service)
        ready = [p for p in pods if pod_ready(p)]
        not_ready = [p for p in pods if p not in ready and (p.get("status") or {}).get("podIP")]

        def address(pod: Obj) -> Obj:
            return {
                "ip": pod["status"]["podIP"],
                "nodeName": NODE_NAME,
                "targetRef": {
                    "kind": "Pod",
                    "namespace": pod["metadata"]["namespace"],
                    "name": pod["metadata"]["name"],
                    "uid": pod["metadata"]["uid"],
                },
            }

        ports = [
            {
                k: v
                for k, v in {
                    "name": p.get("name"),
                    "port": _target_port(p, pods),
                    "protocol": p.get("protocol", "TCP"),
                }.items()
                if v is not None
            }
            for p in spec.get("ports") or []
        ]
        subset: Obj = {}
        if ready:
            subset["addresses"] = [address(p) for p in ready]
        if not_ready:
            subset["notReadyAddresses"] = [address(p) for p in not_ready]
        endpoints: Obj = {
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "labels": dict(meta.get("labels") or {}),
            }
        }
        if subset:
            subset["ports"] = ports
            endpoints["subsets"] = [subset]
        self.store.upsert(ENDPOINTS, endpoints)
        self._derived_endpoints.add((meta["namespace"], meta["name"]))
        self.store.upsert(
            ENDPOINT_SLICES,
            {
                "metadata": {
                    "name": f"{meta['name']}-local",
                    "namespace": meta["namespace"],
                    "labels": {
                        "kubernetes.io/service-name": meta["name"],
                        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                    },
                    "ownerReferences": [owner_reference(service)],
                },
                "addressType": "IPv4",
                "endpoints": [
                    {
                        "addresses": [p["status"]["podIP"]],
                        "nodeName": NODE_NAME,
                        "conditions": {"ready": p in ready, "serving": p in ready, "terminating": False},
                        "targetRef": address(p)["targetRef"],
                    }
                    for p in ready + not_ready
                ],
                "ports": ports,
            },
        )

    def _assign_load_balancer(self, service: Obj) -> None:
        """A LoadBalancer Service gets a classic-ELB host name, as the in-tree AWS cloud provider gives."""
        meta, spec = service["metadata"], service.get("spec") or {}
        if spec.get("type") != "LoadBalancer" or (
            (service.get("status") or {}).get("loadBalancer") or {}
        ).get("ingress"):
            return
        digest = hashlib.sha1(meta["uid"].encode()).hexdigest()
        hostname = f"a{digest[:32]}-{int(digest[32:40], 16) % 10**10:010d}.{self.region}.elb.amazonaws.com"
        self.store.write_status(
            SERVICES, meta["namespace"], meta["name"], {"loadBalancer": {"ingress": [{"hostname": hostname}]}}
        )

    def _assign_ingress_address(self, ingress: Obj) -> None:
        meta = ingress["metadata"]
        if ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return
        digest = hashlib.sha1(f"{meta['namespace']}/{meta['name']}".encode()).hexdigest()[:10]
        hostname = (
            f"k8s-{meta['namespace']}-{meta['name']}-{digest}"[:52] + f".{self.region}.elb.amazonaws.com"
        )
        self.store.write_status(
            INGRESSES,
            meta["namespace"],
            meta["name"],
            {"loadBalancer": {"ingress": [{"hostname": hostname}]}},
        )

    # ------------------------------------------------------------- garbage collection
    def _collect_garbage(self) -> None:
        owners = {
            o["metadata"]["uid"]
            for rt in (DEPLOYMENTS, REPLICA_SETS, JOBS, SERVICES)
            for o in self.store.view(rt)
        }
        for rt in (REPLICA_SETS, PODS, ENDPOINT_SLICES):
            for obj in self.store.view(rt):
                refs = obj["metadata"].get("ownerReferences") or []
                if refs and not any(ref.get("uid") in owners for ref in refs):
                    if rt is PODS:
                        self._delete_pod(obj)
                    else:
                        self.store.remove_quietly(rt, obj["metadata"]["namespace"], obj["metadata"]["name"])
        services = {
            (s["metadata"]["namespace"], s["metadata"]["name"])
            for s in self.store.view(SERVICES)
            if (s.get("spec") or {}).get("selector")
        }
        for key in self._derived_endpoints - services:
            self.store.remove_quietly(ENDPOINTS, *key)
            self._derived_endpoints.discard(key)
        live = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in self.store.view(PODS)}
        for key in [k for k in self._pods if k not in live]:
            del self._pods[key]


# ----------------------------------------------------------------- pure helpers
# An idle controller still passes this often (real seconds): states derived from elapsed time alone,
# such as a crash loop's restart count or an image pull's back-off, are never staler than this.
MAX_QUIET_SECONDS = 1.0
_MAX_PASSES = 8  # a rolling update of n pods settles in about 2n passes at one instant
_STEP_PAST = 1e-3  # a jump lands this far past a change, so float rounding cannot land just before it


def _change_times(csim: ContainerSim, run_to_completion: bool) -> list[float]:
    """Simulated times at which the container's state changes in a way a reconcile must see: it
    runs, becomes ready, finishes, or first backs off. Later crash-loop restarts are not listed:
    their count follows from elapsed time, and none of them changes readiness."""
    b = csim.behaviour
    if csim.blocked:
        return []  # until the missing Secret/ConfigMap is created (which is not a clock event)
    startup = 0.0 if csim.warm else b.startup_seconds
    start = csim.since + startup
    if b.kind == "image_pull_failure":
        return [csim.since + 5.0]  # ErrImagePull turns into ImagePullBackOff
    if b.kind == "never_ready":
        return []
    if run_to_completion:
        return [start, start + b.job_seconds]
    if b.kind == "crash_loop":
        return [start, start + min(1.0, b.restart_interval / 2), start + b.restart_interval]
    return [start, start + b.ready_seconds]


def load_generator_behaviour(behaviour: Behaviour, meta: Obj, container: Obj) -> Behaviour:
    """A load-generator pod (label ``switchyard.io/step: load-test``) runs for its ``DURATION``
    seconds, whatever its image's behaviour says about Jobs; other pods keep their behaviour."""
    if (meta.get("labels") or {}).get(STEP_LABEL) != LOAD_TEST_STEP:
        return behaviour
    env = {e.get("name"): e.get("value") for e in container.get("env") or []}
    try:
        seconds = float(env.get("DURATION") or "")
    except ValueError:
        return behaviour
    return dataclasses.replace(behaviour, job_seconds=seconds) if seconds > 0 else behaviour


def pod_ready(pod: Obj) -> bool:
    """The pod's Ready condition is True (what puts it behind a Service)."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _container_state(csim: ContainerSim, now: float, run_to_completion: bool) -> dict[str, Any]:
    """State of one container after ``now - csim.since`` simulated seconds of its behaviour."""
    b = csim.behaviour
    t = max(now - csim.since, 0.0)
    startup = 0.0 if csim.warm else b.startup_seconds
    restarts = csim.restarts_base
    waiting = {"waiting": {"reason": "ContainerCreating"}}
    result = {
        "ready": False,
        "running": False,
        "started": False,
        "restarts": restarts,
        "state": waiting,
        "last_state": {},
        "reason": "ContainerCreating",
    }
    if b.kind == "image_pull_failure":
        reason = "ErrImagePull" if t % 20.0 < 5.0 else "ImagePullBackOff"
        result["state"] = {
            "waiting": {
                "reason": reason,
                "message": "failed to pull and unpack image: not found"
                if reason == "ErrImagePull"
                else "Back-off pulling image",
            }
        }
        result["reason"] = reason
        return result
    if b.kind == "never_ready":
        # A volume that cannot mount (a missing Secret): never started, so never restarted.
        result["reason"] = "MountFailure"
        return result
    if t < startup:
        return result
    started_at = ""  # filled in by the caller with the time this state began
    if run_to_completion:
        failing = b.kind == "crash_loop" or b.job == "fail"
        if t < startup + b.job_seconds:
            result.update(
                running=True, started=True, reason="Running", state={"running": {"startedAt": started_at}}
            )
            return result
        code, reason = (1, "Error") if failing else (0, "Completed")
        result.update(
            started=True,
            reason=reason,
            state={"terminated": {"exitCode": code, "reason": reason, "finishedAt": started_at}},
        )
        return result
    if b.kind == "crash_loop":
        cycles, position = divmod(t - startup, b.restart_interval)
        restarts += int(cycles)
        result.update(restarts=restarts, started=True)
        if restarts:
            result["last_state"] = {
                "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": started_at}
            }
        if position < min(1.0, b.restart_interval / 2):
            result.update(running=True, reason="Running", state={"running": {"startedAt": started_at}})
        else:
            result.update(
                reason="CrashLoopBackOff",
                state={
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off {min(10 * 2 ** max(restarts - 1, 0), 300)}s restarting failed container",
                    }
                },
            )
        return result
    ready = t >= startup + b.ready_seconds
    result.update(
        running=True,
        started=True,
        ready=ready,
        reason="Ready" if ready else "Running",
        state={"running": {"startedAt": started_at}},
    )
    return result


def _blocked_state(reason: str, message: str) -> dict[str, Any]:
    """A container the kubelet cannot create yet (see ``WorkloadController._missing_config``)."""
    return {
        "ready": False,
        "running": False,
        "started": False,
        "restarts": 0,
        "last_state": {},
        "state": {"waiting": {"reason": reason, "message": message}},
        "reason": reason,
        "message": message,
    }


def _pod_phase(states: list[Obj], run_to_completion: bool) -> str:
    if not states:
        return "Pending"
    if all("terminated" in s for s in states) and run_to_completion:
        return "Failed" if any(s["terminated"]["exitCode"] for s in states) else "Succeeded"
    if any(
        s.get("waiting", {}).get("reason")
        in ("ContainerCreating", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError")
        for s in states
    ):
        return "Pending"
    return "Running"


def _condition(
    kind: str,
    status: str,
    reason: str | None,
    message: str | None,
    previous: Obj | None = None,
    *,
    at: str | None = None,
    updated_at: str | None = None,
) -> Obj:
    """A status condition; ``at`` is now (default: wall clock), ``updated_at`` the last progress of a
    Progressing condition (the real controller rewrites lastUpdateTime whenever it sees progress)."""
    changed = previous is None or previous.get("status") != status
    now = at or now_iso()
    condition: Obj = {
        "type": kind,
        "status": status,
        "lastTransitionTime": now if changed else previous.get("lastTransitionTime"),
    }
    if kind in ("Available", "Progressing"):
        condition["lastUpdateTime"] = (
            now
            if previous is None or previous.get("reason") != reason
            else updated_at or previous.get("lastUpdateTime")
        )
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _normalized(value: Any) -> Any:
    """Nulls and empty maps/lists left out: they do not change a pod template (``creationTimestamp:
    null`` and ``resources: {}`` come back in a ``rollout undo`` patch, and must hash the same)."""
    if isinstance(value, dict):
        items = {k: _normalized(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def _template_hash(template: Obj) -> str:
    digest = hashlib.sha256(json.dumps(_normalized(template), sort_keys=True).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    number = int(digest[:16], 16)
    return "".join(alphabet[(number >> (5 * i)) % len(alphabet)] for i in range(10))


def _surge_and_unavailable(spec: Obj, desired: int) -> tuple[int, int]:
    """maxSurge (a percentage rounds up) and maxUnavailable (rounds down); both 0 means 1 unavailable."""
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, desired
    rolling = strategy.get("rollingUpdate") or {}

    def resolve(value: Any, round_up: bool) -> int:
        if isinstance(value, str) and value.endswith("%"):
            share = desired * float(value[:-1]) / 100
            return math.ceil(share) if round_up else math.floor(share)
        return int(value)

    surge = resolve(rolling.get("maxSurge", "25%"), True)
    unavailable = resolve(rolling.get("maxUnavailable", "25%"), False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _revision(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, 0))
    except ValueError:
        return 0


def _rs_hash(rs: Obj) -> str:
    return (rs["metadata"].get("labels") or {}).get(HASH_LABEL, "")


def _target_port(port: Obj, pods: list[Obj]) -> int:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for cport in container.get("ports") or []:
                if cport.get("name") == target:
                    return int(cport["containerPort"])
    return DEFAULT_CONTAINER_PORT


def _image_id(image: str, state: Obj) -> str:
    if not state["started"]:
        return ""
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"{image.split(':')[0]}@sha256:{digest}"
