"""The drift check's comparisons: the model, the live system and the release record, side by side.

Four checks per model, each a function from what was read to a ``CheckResult`` (the
``drift_check`` DAG's operators do the reading; nothing here talks to a cluster or imports Airflow):

1. ``model_reasoning`` — the model validates, every scenario under ``include/scenarios/<model>/``
   still passes, and the committed chain table matches a fresh enumeration (where there is one).
2. ``model_vs_live`` — every component the model names exists (``existence_reads`` says which
   fact to read per type; ``not_found`` means absent) and no deployment in the model's namespaces
   is missing from the model (``unmodelled_deployments``).
3. ``record_vs_live`` — the colour the Service selects, the live colour's images, the standby
   colour's replicas past its ``cleanup-after`` and the release lock agree with the release record.
4. ``live_health`` — the engine's verdict on the live system (``live_health_view`` says what it
   vouches for): healthy, a named root cause, or unknown.

Every finding is ``drift`` (the system or the model diverged) or ``unknown`` (it could not be
read, so the check cannot vouch for it: never reported as ok).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from switchyard.engine.chains import drift, table_path
from switchyard.engine.errors import SwitchyardError
from switchyard.engine.model import Component, Model, read_model
from switchyard.engine.notation import chain_text, root_text
from switchyard.engine.scenarios import load_scenario, scenario_files
from switchyard.engine.simulate import run_scenario
from switchyard.release.colours import COLOURS, ColourLayout, colour_of, other
from switchyard.release.conventions import DEFAULT_NAMESPACE
from switchyard.release.lock import LockHolder, lease_name
from switchyard.release.records import ReleaseRecord, configmap_name
from switchyard.release.workloads import CLEANUP_ANNOTATION

OK, DRIFT, UNKNOWN = "ok", "drift", "unknown"
CHECKS = ("model_reasoning", "model_vs_live", "record_vs_live", "live_health")

# The runbook's mark on the old colour after cleanup (seed 003): an RFC 3339 UTC time after which
# its manifests may go; until then it is kept at 0 replicas for a delayed rollback.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_SWITCHYARD = "switchyard"

# The one fact per type whose read tells whether the object exists: a not_found answer means
# absent. Where the probe answers an absent object with ``false`` instead (the fact means "there"),
# the type is in ABSENT_WHEN_FALSE.
EXISTENCE_FACTS = {
    "deployment": "desired_replicas",
    "operator": "deployment_ready",  # its controller Deployment in the operator's namespace
    "service": "type",
    "ingress": "class",
    "rds_instance": "available",
    "elasticache_cluster": "available",
    "mq_broker": "available",
    "s3_bucket": "accessible",
    "cloudfront_distribution": "enabled",
    "ssm_parameter": "exists",
    "ecr_repository": "exists",
}
ABSENT_WHEN_FALSE = frozenset({"s3_bucket", "ssm_parameter", "ecr_repository"})
KUBERNETES_TYPES = frozenset({"deployment", "operator", "service", "ingress"})
ACTIVE_RUN_STATES = frozenset({"queued", "running"})


# ---------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class Finding:
    """One divergence: ``status`` drift or unknown, the ``object`` it is about, a machine ``kind``
    (``selector``, ``image``, ``missing``, ...) and the sentence a person reads."""

    status: str
    object: str
    kind: str
    text: str

    def line(self) -> str:
        return f"[{self.status}] {self.object}: {self.text}"


@dataclass
class CheckResult:
    """What one check found for one model; ``notes`` say what was skipped or judged, and why."""

    model: str
    check: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if any(f.status == DRIFT for f in self.findings):
            return DRIFT
        return UNKNOWN if self.findings else OK

    def summary(self) -> str:
        """The table cell: the first finding and how many more, or what was checked."""
        if not self.findings:
            return self.notes[0] if self.notes else "no divergence"
        first = sorted(self.findings, key=lambda f: f.status != DRIFT)[0]
        more = f" (+{len(self.findings) - 1} more)" if len(self.findings) > 1 else ""
        return first.line() + more

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "check": self.check,
            "status": self.status,
            "summary": self.summary(),
            "findings": [asdict(f) for f in self.findings],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(
            str(data["model"]),
            str(data["check"]),
            [Finding(**f) for f in data.get("findings") or []],
            [str(n) for n in data.get("notes") or []],
        )


@dataclass(frozen=True)
class Unread:
    """A read that did not give an answer: ``status`` forbidden, transient, not_found or missing."""

    status: str
    detail: str


def model_name_of(path: str | Path) -> str:
    """``include/models/acme-shop.model.yaml`` → ``acme-shop``; a model directory → its name."""
    path = Path(path)
    return path.name.removesuffix(".yaml").removesuffix(".model") if path.suffix == ".yaml" else path.name


def model_paths(models_dir: Path) -> list[Path]:
    """The models of an ``include/models/`` directory: ``*.model.yaml`` files and model directories."""
    if not models_dir.is_dir():
        raise SwitchyardError(f"{models_dir}: no models directory (set SWITCHYARD_INCLUDE_DIR?)")
    files = sorted(models_dir.glob("*.model.yaml"))
    directories = sorted(p for p in models_dir.iterdir() if p.is_dir() and any(p.glob("*.yaml")))
    return files + directories


# ---------------------------------------------------------------------------------------------
# 1. model reasoning


def model_reasoning(model_path: Path, scenarios_dir: Path) -> CheckResult:
    """Validate, simulate every scenario, compare the committed chain table."""
    name = model_name_of(model_path)
    result = CheckResult(name, "model_reasoning")
    try:
        model = read_model(model_path)
    except SwitchyardError as exc:
        result.findings.append(Finding(DRIFT, f"model {model_path.name}", "invalid", str(exc)))
        return result
    for problem in model.errors:
        result.findings.append(Finding(DRIFT, f"model {model_path.name}", "invalid", str(problem)))
    result.notes += [f"model warning: {w}" for w in model.warnings]
    if model.errors:
        result.notes.append("scenarios and chain table not checked: the model does not validate")
        return result
    result.notes.insert(0, f"{len(model.components)} components validate")
    _simulate_all(model, scenarios_dir, result)
    _compare_chain_table(model, result)
    return result


def _simulate_all(model: Model, scenarios_dir: Path, result: CheckResult) -> None:
    try:
        files = scenario_files(scenarios_dir)
    except SwitchyardError:
        result.notes.append(f"no scenarios under {scenarios_dir}: nothing simulated")
        return
    passed = 0
    for path in files:
        try:
            scenario = load_scenario(path, model)
        except SwitchyardError as exc:
            result.findings.append(Finding(DRIFT, f"scenario {path.name}", "scenario", str(exc)))
            continue
        outcome = run_scenario(model, scenario)
        result.notes += [f"scenario warning: {w}" for w in scenario.warnings]
        if outcome.passed:
            passed += 1
            continue
        got = outcome.conclusion
        expected = scenario.expect
        result.findings.append(
            Finding(
                DRIFT,
                f"scenario {path.name}",
                "scenario",
                f"{scenario.name!r} no longer passes ({', '.join(outcome.mismatches)}): expected root cause "
                f"{expected.root_cause or '-'}"
                + (f", outcome {expected.outcome}" if expected.outcome else "")
                + f"; got {root_text(got.root_cause, got.root_state)} via {chain_text(got.path, got.root_state)}, "
                f"outcome {outcome.verdict.outcome}",
            )
        )
    result.notes.insert(1, f"{passed}/{len(files)} scenarios pass ({scenarios_dir.name}/)")


def _compare_chain_table(model: Model, result: CheckResult) -> None:
    if model.scenarios_option.lower() == "none":
        result.notes.append("chain table not compared: the model sets meta.scenarios: none")
        return
    path = table_path(model)
    if not path.exists():
        result.notes.append(f"chain table not compared: no committed {path.name}")
        return
    try:
        found = drift(model, path)
    except SwitchyardError as exc:
        result.findings.append(Finding(DRIFT, f"chain table {path.name}", "chain_table", str(exc)))
        return
    if found.drifted:
        sample = "; ".join([f"+ {c}" for c in found.added[:2]] + [f"- {c}" for c in found.removed[:2]])
        result.findings.append(
            Finding(
                DRIFT,
                f"chain table {path.name}",
                "chain_table",
                f"{len(found.added)} chain(s) added and {len(found.removed)} removed since the committed "
                f"table ({sample}); review and run `scenarios write`",
            )
        )
    elif found.stale_hash:
        result.notes.append(f"chain table {path.name} up to date (source hash stale: model edited)")
    else:
        result.notes.append(f"chain table {path.name} up to date")


# ---------------------------------------------------------------------------------------------
# 2. model vs live


def namespace_of(component: Component) -> str:
    return component.vars.get("namespace") or DEFAULT_NAMESPACE


def describe(component: Component) -> str:
    """``deployment default/acme-shop-nginx-blue``; ``rds_instance acme-shop-stage-rds (rds)``."""
    target = component.probe_target
    if component.type in KUBERNETES_TYPES:
        return f"{component.type} {namespace_of(component)}/{target}"
    return f"{component.type} {target}" + (f" ({component.name})" if target != component.name else "")


def existence_reads(model: Model, colour: str | None) -> tuple[list[tuple[Component, str]], list[str]]:
    """(component, fact) to read for every component that must exist, and notes on the rest.

    Per-colour deployments must exist for ``colour`` only (the live colour per the release record);
    the other colour is absent or at 0 between releases by design. Generic types (cdn, business
    process) are observed outside the cluster and AWS, so there is nothing to look up.
    """
    reads, skipped, other_colour = [], [], []
    for component in model.components.values():
        fact = EXISTENCE_FACTS.get(component.type)
        provider = component.type_def.provider if component.type_def else ""
        if fact is None:
            skipped.append(f"{component.name} ({component.type})")
            continue
        own = colour_of(component.name) if component.type == "deployment" else None
        if own is not None and own != colour:
            other_colour.append(component.name)
            continue
        if provider == "generic":
            skipped.append(f"{component.name} ({component.type})")
            continue
        reads.append((component, fact))
    notes = []
    if skipped:
        notes.append(f"not looked up (observed outside the cluster and AWS): {', '.join(skipped)}")
    if other_colour:
        why = f"only {colour} must exist" if colour else "no live colour known"
        notes.append(f"per-colour deployments not required ({why}): {', '.join(other_colour)}")
    return reads, notes


def existence_finding(component: Component, status: str, value: Any, detail: str) -> Finding | None:
    """What one existence read says: None when the object is there."""
    where = describe(component)
    system = "the cluster" if component.type in KUBERNETES_TYPES else "AWS"
    if status == "not_found" or (status == "ok" and component.type in ABSENT_WHEN_FALSE and value is False):
        return Finding(
            DRIFT, where, "missing", f"the model names it, {system} lacks it ({detail or 'not found'})"
        )
    if status != "ok":
        return Finding(UNKNOWN, where, "unreadable", f"existence not readable ({status}: {detail})")
    return None


@dataclass(frozen=True)
class LiveDeployment:
    """A Deployment as listed: what the comparisons need of it."""

    name: str
    namespace: str
    image: str  # the first container's, as the release record keeps it
    replicas: int
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    ready: int | None = None  # ready replicas (status); None when not read


def kubernetes_namespaces(model: Model) -> list[str]:
    """The namespaces the model's Kubernetes components live in."""
    return sorted({namespace_of(c) for c in model.components.values() if c.type in KUBERNETES_TYPES})


def named_deployments(model: Model) -> set[tuple[str, str]]:
    """(namespace, name) of every Deployment the model names: either colour, and an operator's
    controller."""
    return {
        (namespace_of(c), c.probe_target)
        for c in model.components.values()
        if c.type in ("deployment", "operator")
    }


def unmodelled_deployments(
    model: Model, listed: Iterable[LiveDeployment], neighbours: Iterable[Model] = ()
) -> list[Finding]:
    """Deployments in the model's namespaces that the model does not name (either colour counts as
    named; an operator's controller is named by the operator; Switchyard's own objects are skipped).

    :param neighbours: the other models checked beside it: apps that share a namespace each name
        their own Deployments, which are not unmodelled for the other
    """
    named = named_deployments(model).union(*(named_deployments(m) for m in neighbours))
    findings = []
    for deployment in listed:
        if (deployment.namespace, deployment.name) in named:
            continue
        if deployment.labels.get(MANAGED_BY_LABEL) == MANAGED_BY_SWITCHYARD:
            continue
        findings.append(
            Finding(
                DRIFT,
                f"deployment {deployment.namespace}/{deployment.name}",
                "unmodelled",
                f"runs in the model's namespace but the model does not name it (image {deployment.image}, "
                f"replicas {deployment.replicas}): add it to the model or remove it",
            )
        )
    return findings


def model_vs_live(
    model: Model,
    colour: str | None,
    colour_source: str,
    existence: Mapping[str, tuple[str, Any, str]],
    listed: Mapping[str, list[LiveDeployment] | Unread],
    neighbours: Iterable[Model] = (),
) -> CheckResult:
    """Compare what the model names with what exists.

    :param colour: the colour whose per-colour deployments must exist; ``colour_source`` says where
        it came from (the release record, or the Service when there is no record)
    :param existence: component name → (status, value, detail) of its existence read
    :param listed: namespace → its deployments, or why they could not be listed
    :param neighbours: the other models checked beside it (their Deployments are theirs)
    """
    result = CheckResult(model.name, "model_vs_live")
    reads, notes = existence_reads(model, colour)
    result.notes.append(
        f"{len(reads)} components looked up; per-colour deployments of {colour or 'no colour'} ({colour_source})"
    )
    result.notes += notes
    for component, _fact in reads:
        status, value, detail = existence.get(component.name, ("missing", None, "not read"))
        finding = existence_finding(component, status, value, detail)
        if finding:
            result.findings.append(finding)
    for namespace, deployments in listed.items():
        if isinstance(deployments, Unread):
            result.findings.append(
                Finding(
                    UNKNOWN,
                    f"namespace {namespace}",
                    "unreadable",
                    f"deployments not listable ({deployments.status}: {deployments.detail}): "
                    "unmodelled ones cannot be found",
                )
            )
            continue
        result.findings += unmodelled_deployments(model, deployments, neighbours)
    return result


# ---------------------------------------------------------------------------------------------
# 3. release record vs live


@dataclass(frozen=True)
class LockJudgement:
    """Whether the release lock's holder is still running: ``stale`` True/False, or None (unknown)."""

    stale: bool | None
    why: str

    @property
    def release_in_progress(self) -> bool:
        return self.stale is False


def judge_lock(holder: LockHolder, run_state: str | None, now: dt.datetime) -> LockJudgement:
    """A lock is stale when Airflow says its run is not queued or running (``run_state``: the
    run's state, ``absent`` when Airflow has no such run). When Airflow could not be asked
    (``run_state`` None) the Lease's own expiry decides, and an unexpired lease stays unknown."""
    who = f"run {holder.run_id} (dag {holder.dag_id}, version {holder.version})"
    if run_state in ACTIVE_RUN_STATES:
        return LockJudgement(False, f"held by {who}, which is {run_state}")
    if run_state == "absent":
        return LockJudgement(True, f"held by {who}, which Airflow does not know")
    if run_state:
        return LockJudgement(True, f"held by {who}, which ended {run_state}")
    if holder.expires is not None and holder.expires < now:
        return LockJudgement(
            True, f"held by {who}; Airflow could not be asked and the lease expired {_iso(holder.expires)}"
        )
    expiry = f"expires {_iso(holder.expires)}" if holder.expires else "has no expiry"
    return LockJudgement(None, f"held by {who}; Airflow could not be asked and the lease {expiry}")


def parse_time(text: str) -> dt.datetime:
    """An RFC 3339 time (``2026-05-01T12:00:00Z``) as an aware UTC datetime."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no timezone")
    return value.astimezone(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RecordView:
    """What the record-vs-live comparison reads, gathered by the operator."""

    app: str
    namespace: str
    switch_object: str  # "service default/acme-shop-svc" or "configmap default/edge-gateway"
    records: list[ReleaseRecord] | Unread
    selected: str | Unread | None  # the colour the switch mechanism selects
    deployments: Mapping[str, LiveDeployment | Unread | None]  # per-colour component → its Deployment
    lock: LockHolder | Unread | None = None
    lock_judgement: LockJudgement | None = None
    lock_action: str = ""  # what was done about a stale lock ("left in place", "released", ...)


def record_vs_live(layout: ColourLayout, view: RecordView, now: dt.datetime) -> CheckResult:
    """Compare the last Active release with what runs: colour, images, standby replicas, lock."""
    result = CheckResult(layout.model.name, "record_vs_live")
    in_progress = view.lock_judgement is not None and view.lock_judgement.release_in_progress
    _compare_lock(view, result)
    records_object = f"configmap {view.namespace}/{configmap_name(view.app)}"
    if isinstance(view.records, Unread):
        result.findings.append(
            Finding(
                UNKNOWN,
                records_object,
                "unreadable",
                f"release history not readable ({view.records.status}: {view.records.detail})",
            )
        )
        return result
    active = next((r for r in reversed(view.records) if r.status == "Active"), None)
    if active is None:
        last = view.records[-1] if view.records else None
        seen = f"the last is #{last.number} {last.version} {last.status}" if last else "there are none"
        result.findings.append(
            Finding(
                UNKNOWN,
                records_object,
                "no_record",
                f"no Active release recorded ({seen}): the live colour and images have nothing to be compared "
                "with — release once with Switchyard, or run with report_only on a new cluster",
            )
        )
        return result
    result.notes.insert(
        0, f"last Active release #{active.number} {active.version} on {active.colour} (run {active.run_id})"
    )
    down = outage(layout, view)
    if down:
        result.findings.append(down)
    _compare_colour(view, active, in_progress, result)
    _compare_images(layout, view, active, result)
    _compare_standby(layout, view, active, in_progress, now, result)
    return result


def _compare_lock(view: RecordView, result: CheckResult) -> None:
    lock_object = f"lease {view.namespace}/{lease_name(view.app)}"
    if view.lock is None:
        result.notes.append("release lock free")
        return
    if isinstance(view.lock, Unread):
        result.findings.append(
            Finding(
                UNKNOWN,
                lock_object,
                "unreadable",
                f"release lock not readable ({view.lock.status}: {view.lock.detail})",
            )
        )
        return
    judgement = view.lock_judgement
    if judgement is None or judgement.stale is None:
        why = judgement.why if judgement else "its holder's run state was not looked up"
        result.findings.append(Finding(UNKNOWN, lock_object, "lock", why))
    elif judgement.stale:
        action = view.lock_action or (
            f"left in place: no release of {view.app} can start until it is released "
            "(the release_stale_locks param does it)"
        )
        result.findings.append(
            Finding(DRIFT, lock_object, "stale_lock", f"stale release lock {judgement.why}; {action}")
        )
    else:
        result.notes.append(f"release in progress: lock {judgement.why}")


def outage(layout: ColourLayout, view: RecordView) -> Finding | None:
    """The switch selects a colour whose serving deployments have no ready pod (or do not exist):
    requests have nowhere to go. Not drift to look at tomorrow, an outage to page now."""
    selected = view.selected
    if not isinstance(selected, str) or selected not in COLOURS:
        return None
    empty = []
    for component in layout.serving(selected):
        if component not in view.deployments:
            continue  # not read: nothing to say
        live = view.deployments[component]
        if live is None or (isinstance(live, LiveDeployment) and live.ready == 0):
            empty.append(component if live is not None else f"{component} (absent)")
    if not empty:
        return None
    return Finding(
        DRIFT,
        view.switch_object,
        "outage",
        f"OUTAGE: selects {selected}, and {', '.join(empty)} {'has' if len(empty) == 1 else 'have'} no ready "
        f"pod: requests to {view.app} have nowhere to go — point it at the colour that serves "
        f"({other(selected)}?) now",
    )


def _compare_colour(view: RecordView, active: ReleaseRecord, in_progress: bool, result: CheckResult) -> None:
    selected = view.selected
    if isinstance(selected, Unread):
        result.findings.append(
            Finding(
                UNKNOWN,
                view.switch_object,
                "unreadable",
                f"live colour not readable ({selected.status}: {selected.detail})",
            )
        )
        return
    if selected == active.colour:
        result.notes.append(f"{view.switch_object} selects {selected}, as recorded")
        return
    text = (
        f"selects {selected or 'no colour'}; the last Active release #{active.number} ({active.version}, "
        f"run {active.run_id}) is on {active.colour} — changed by hand or by another tool (GitOps self-heal?)"
    )
    if in_progress:  # the switch and the record's update are two writes: a release may be between them
        result.findings.append(
            Finding(
                UNKNOWN,
                view.switch_object,
                "selector",
                text + "; a release is in progress, it may be mid-switch",
            )
        )
    else:
        result.findings.append(Finding(DRIFT, view.switch_object, "selector", text))


def _compare_images(
    layout: ColourLayout, view: RecordView, active: ReleaseRecord, result: CheckResult
) -> None:
    if not active.images:
        result.notes.append(f"release #{active.number} recorded no images: images not compared")
        return
    for component in layout.components(active.colour):
        recorded = active.images.get(component)
        live = view.deployments.get(component)
        where = f"deployment {layout.namespace(component)}/{component}"
        if not recorded:
            result.notes.append(f"release #{active.number} recorded no image for {component}")
        elif isinstance(live, Unread):
            result.findings.append(
                Finding(UNKNOWN, where, "unreadable", f"image not readable ({live.status}: {live.detail})")
            )
        elif live is None:
            result.notes.append(
                f"{component} is absent: its image is not compared (model_vs_live reports it)"
            )
        elif live.image != recorded:
            result.findings.append(
                Finding(
                    DRIFT,
                    where,
                    "image",
                    f"runs {live.image}; release #{active.number} ({active.version}) recorded {recorded} — "
                    "changed outside a release",
                )
            )


def _compare_standby(
    layout: ColourLayout,
    view: RecordView,
    active: ReleaseRecord,
    in_progress: bool,
    now: dt.datetime,
    result: CheckResult,
) -> None:
    standby = other(active.colour)
    for component in layout.components(standby):
        live = view.deployments.get(component)
        where = f"deployment {layout.namespace(component)}/{component}"
        if isinstance(live, Unread):
            result.findings.append(
                Finding(UNKNOWN, where, "unreadable", f"replicas not readable ({live.status}: {live.detail})")
            )
            continue
        if live is None or live.replicas == 0:
            continue
        # The annotation on the deployment is the runbook's mark; the record's cleanup_after is the
        # fallback, and only outside a release (a release re-renders the standby from the live colour).
        text, source = live.annotations.get(CLEANUP_ANNOTATION, ""), "annotation"
        if not text and not in_progress and active.cleanup_after:
            text, source = active.cleanup_after, f"release #{active.number}"
        if not text:
            result.notes.append(
                f"{component} runs {live.replicas} replicas with no {CLEANUP_ANNOTATION} yet"
                + (" (a release is in progress)" if in_progress else " (bake or rollback window)")
            )
            continue
        try:
            deadline = parse_time(text)
        except ValueError:
            result.findings.append(
                Finding(
                    UNKNOWN, where, "unreadable", f"{CLEANUP_ANNOTATION} {text!r} is not an RFC 3339 time"
                )
            )
            continue
        if now >= deadline:
            result.findings.append(
                Finding(
                    DRIFT,
                    where,
                    "standby_running",
                    f"standby colour {standby} still runs {live.replicas} replicas past its {CLEANUP_ANNOTATION} "
                    f"{_iso(deadline)} ({source}): scale it to 0 or delete it",
                )
            )
        else:
            result.notes.append(f"{component} runs until its {CLEANUP_ANNOTATION} {_iso(deadline)}")


# ---------------------------------------------------------------------------------------------
# 4. live health


def live_health_view(layout: ColourLayout, selected: str | None) -> tuple[Model, list[str], list[str], str]:
    """(model, scope, prefer, note) of the live-health diagnosis: the whole model as traffic sees it —
    every component but the standby colour's deployments (absent or at 0 between releases, which is
    not a fault). With no colour selected, the whole model."""
    if selected is None:
        names = [
            n
            for n, c in layout.model.components.items()
            if c.type_def is not None and c.type_def.provider != "generic"
        ]
        return layout.model, names, [], "no colour selected: the whole model, both colours"
    return (
        layout.live_path(selected),
        layout.live_scope(selected),
        layout.components(selected),
        f"the whole model on the live colour {selected} (standby {other(selected)} left out)",
    )


def live_health(model_name: str, verdict: Mapping[str, Any], note: str = "") -> CheckResult:
    """The engine's verdict (``Verdict.as_dict()``) as a check result."""
    result = CheckResult(model_name, "live_health", notes=[note] if note else [])
    outcome = verdict.get("outcome")
    if outcome == "healthy":
        result.notes.insert(0, str(verdict.get("summary") or "healthy"))
    elif outcome == "failing":
        state = str(verdict.get("root_state") or "")
        chain = chain_text(verdict.get("chain") or [], state)
        confirmed = "" if verdict.get("root_confirmed") else " (unconfirmed)"
        result.findings.append(
            Finding(
                DRIFT,
                f"component {verdict.get('root_cause')}",
                "root_cause",
                f"root cause {root_text(str(verdict.get('root_cause')), state)}{confirmed}; chain: {chain}",
            )
        )
    else:
        for component, why in (verdict.get("unvouched") or {}).items():
            result.findings.append(Finding(UNKNOWN, f"component {component}", "unvouched", str(why)))
        if not result.findings:
            result.findings.append(
                Finding(UNKNOWN, "model", "unvouched", str(verdict.get("summary") or "unknown"))
            )
    return result


# ---------------------------------------------------------------------------------------------
# the report


def overall(results: Iterable[CheckResult]) -> str:
    statuses = {r.status for r in results}
    return DRIFT if DRIFT in statuses else UNKNOWN if UNKNOWN in statuses else OK


def table(results: list[CheckResult]) -> list[str]:
    """One row per model × check, aligned for a log."""
    rows = [("model", "check", "status", "finding")] + [
        (r.model, r.check, r.status, r.summary()) for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3] for row in rows
    ]


def counts(results: Iterable[CheckResult]) -> dict[str, int]:
    found = {OK: 0, DRIFT: 0, UNKNOWN: 0}
    for r in results:
        found[r.status] += 1
    return found


def note_line(results: list[CheckResult], report_only: bool) -> str:
    """The run note: the outcome and every check that is not ok (≤ 1000 characters)."""
    tally = counts(results)
    head = f"drift check: {tally[DRIFT]} drift, {tally[UNKNOWN]} unknown, {tally[OK]} ok" + (
        " (report only)" if report_only else ""
    )
    parts = [f"{r.model}/{r.check} {r.status}: {r.summary()}" for r in results if r.status != OK]
    return ("; ".join([head, *parts]))[:1000]
