"""Release records: the last 10 releases of an app, kept in the cluster beside its Service.

A ConfigMap ``switchyard-releases-<app>`` in the app's namespace holds ``history.json`` (newest
last), so the history survives the loss of Airflow's database. Updates are read-modify-write with
the ConfigMap's resourceVersion: a 409 means someone else wrote first, so we read again and retry.

Statuses (seed 004): Active (serving), Superseded (an older Active), Failed (never served, or
stopped before the switch), RolledBack (served, then traffic went back).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from kubernetes.client import ApiException, CoreV1Api

from switchyard.release.calls import REQUEST_TIMEOUT, retried

KEEP = 10
STATUSES = ("InProgress", "Active", "Superseded", "Failed", "RolledBack")
DATA_KEY = "history.json"


def configmap_name(app: str) -> str:
    return f"switchyard-releases-{app}"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ReleaseRecord:
    number: int
    version: str
    colour: str
    status: str
    run_id: str
    dag_id: str = ""
    images: dict[str, str] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""
    root_cause: str = ""  # the model's root cause, else the error of the failed step
    root_state: str = ""  # the root cause's state, when the model named one
    failed_step: str = ""  # the task that stopped the release
    chain: list[str] = field(default_factory=list)
    previous_version: str = ""
    migration: bool = False
    cleanup_after: str = ""
    # Progress of the watch and the bake ({"watch": {"started_at": epoch, "results": [...]}}): kept
    # here, with the release, so a triggerer or worker restart resumes at the checkpoint reached.
    checkpoints: dict[str, Any] = field(default_factory=dict)
    reason: str = ""  # why a person asked for it (the rollback DAG's reason param)
    # A person's hand on the wheel while the release waits (canary, watch, bake): {"action": abort |
    # promote, "user", "reason", "at"}; the waiting trigger reads it at every sample.
    intervention: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReleaseRecord:
        """A record from its JSON; ValueError naming the field when a value has the wrong type
        (the records live in a ConfigMap anyone with edit rights can change)."""
        if not isinstance(data, dict):
            raise ValueError(f"a release record must be a JSON object, got {type(data).__name__}")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name, value in known.items():
            expected = FIELD_TYPES[name]
            wrong = not isinstance(value, expected) or (expected is int and isinstance(value, bool))
            if name == "chain" and not wrong:
                wrong = not all(isinstance(item, str) for item in value)
            if name == "images" and not wrong:
                wrong = not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
            if wrong:
                shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:59] + "…"
                raise ValueError(f"field {name} must be {FIELD_DESCRIPTIONS[expected]}, got {shown}")
        missing = [n for n in ("number", "version", "colour", "status", "run_id") if n not in known]
        if missing:
            raise ValueError(f"field(s) {', '.join(missing)} missing")
        return cls(**known)


FIELD_TYPES: dict[str, type] = {
    "number": int,
    "version": str,
    "colour": str,
    "status": str,
    "run_id": str,
    "dag_id": str,
    "images": dict,
    "started_at": str,
    "finished_at": str,
    "root_cause": str,
    "root_state": str,
    "failed_step": str,
    "chain": list,
    "previous_version": str,
    "migration": bool,
    "cleanup_after": str,
    "checkpoints": dict,
    "reason": str,
    "intervention": dict,
}
FIELD_DESCRIPTIONS = {
    int: "a whole number",
    str: "a string",
    dict: "a mapping",
    list: "a list of strings",
    bool: "true or false",
}


INTERVENTIONS = ("abort", "promote")


def intervention_line(request: dict[str, Any]) -> str:
    """``aborted by <user>: <reason>`` / ``promoted by <user>: <reason>``."""
    verb = {"abort": "aborted", "promote": "promoted"}.get(request.get("action", ""), "?")
    reason = request.get("reason") or "no reason given"
    return f"{verb} by {request.get('user') or 'someone'}: {reason}"


class ReleaseHistory:
    """Read and update the records of one app."""

    def __init__(
        self,
        core: CoreV1Api,
        app: str,
        namespace: str,
        keep: int = KEEP,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.core, self.app, self.namespace, self.keep = core, app, namespace, keep
        self.request_timeout = request_timeout
        self.name = configmap_name(app)

    def read(self) -> list[ReleaseRecord]:
        records, _ = self._read()
        return records

    def _read(self) -> tuple[list[ReleaseRecord], str | None]:
        try:
            cm = retried(
                self.core.read_namespaced_config_map,
                self.name,
                self.namespace,
                _request_timeout=self.request_timeout,
            )
        except ApiException as exc:
            if exc.status == 404:
                return [], None
            raise
        raw = (cm.data or {}).get(DATA_KEY) or "[]"
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"configmap {self.namespace}/{self.name} key {DATA_KEY} is not JSON ({exc}); fix or delete it"
            ) from None
        return [ReleaseRecord.from_dict(d) for d in data], cm.metadata.resource_version

    def read_readable(self) -> tuple[list[ReleaseRecord], list[str]]:
        """The records that parse, and one line per entry that does not (for views: one broken
        record is shown as unreadable, never hides the others)."""
        try:
            cm = retried(
                self.core.read_namespaced_config_map,
                self.name,
                self.namespace,
                _request_timeout=self.request_timeout,
            )
        except ApiException as exc:
            if exc.status == 404:
                return [], []
            raise
        try:
            data = json.loads((cm.data or {}).get(DATA_KEY) or "[]")
        except json.JSONDecodeError as exc:
            return [], [f"configmap {self.namespace}/{self.name} key {DATA_KEY} is not JSON ({exc})"]
        if not isinstance(data, list):
            return [], [f"configmap {self.namespace}/{self.name} key {DATA_KEY} is not a JSON list"]
        records, problems = [], []
        for position, entry in enumerate(data, 1):
            try:
                records.append(ReleaseRecord.from_dict(entry))
            except (ValueError, TypeError) as exc:
                number = entry.get("number") if isinstance(entry, dict) else None
                label = f"#{number}" if isinstance(number, int) and not isinstance(number, bool) else "?"
                problems.append(
                    f"release record {label} (entry {position} of configmap {self.namespace}/{self.name}) "
                    f"is unreadable: {exc}"
                )
        return records, problems

    def active(self) -> ReleaseRecord | None:
        return next((r for r in reversed(self.read()) if r.status == "Active"), None)

    def find(self, run_id: str) -> ReleaseRecord | None:
        return next((r for r in self.read() if r.run_id == run_id), None)

    def update(
        self, change: Callable[[list[ReleaseRecord]], list[ReleaseRecord]], attempts: int = 8
    ) -> list[ReleaseRecord]:
        """Apply ``change`` to the history atomically (409 → re-read and retry); keeps the last 10."""
        for _attempt in range(attempts):
            records, version = self._read()
            updated = change([ReleaseRecord.from_dict(asdict(r)) for r in records])[-self.keep :]
            body = {
                "metadata": {
                    "name": self.name,
                    "namespace": self.namespace,
                    "labels": {"app": self.app, "app.kubernetes.io/managed-by": "switchyard"},
                },
                "data": {DATA_KEY: json.dumps([asdict(r) for r in updated], indent=1)},
            }
            try:
                if version is None:
                    self.core.create_namespaced_config_map(
                        self.namespace, body, _request_timeout=self.request_timeout
                    )
                else:
                    body["metadata"]["resourceVersion"] = version
                    self.core.replace_namespaced_config_map(
                        self.name, self.namespace, body, _request_timeout=self.request_timeout
                    )
                return updated
            except ApiException as exc:
                if exc.status != 409:
                    raise
        raise RuntimeError(
            f"release history {self.namespace}/{self.name} kept changing; gave up after {attempts} tries"
        )

    # ---- the transitions the DAGs make ------------------------------------------------------

    def begin(
        self, run_id: str, dag_id: str, version: str, colour: str, previous_version: str, reason: str = ""
    ) -> ReleaseRecord:
        """Record a release in progress (idempotent for a re-run of the same run)."""

        def change(records: list[ReleaseRecord]) -> list[ReleaseRecord]:
            if any(r.run_id == run_id for r in records):
                return records
            number = max((r.number for r in records), default=0) + 1
            records.append(
                ReleaseRecord(
                    number,
                    version,
                    colour,
                    "InProgress",
                    run_id,
                    dag_id,
                    started_at=now_iso(),
                    previous_version=previous_version,
                    reason=reason,
                )
            )
            return records

        updated = self.update(change)
        return next(r for r in updated if r.run_id == run_id)

    def finish(self, run_id: str, status: str, **fields: Any) -> ReleaseRecord | None:
        """Set the final status of a run's record; Active supersedes the previous Active one."""
        if status not in STATUSES:
            raise ValueError(f"status {status!r} must be one of {', '.join(STATUSES)}")

        def change(records: list[ReleaseRecord]) -> list[ReleaseRecord]:
            for record in records:
                if record.run_id == run_id:
                    if status == "Active":
                        for other_record in records:
                            if other_record.status == "Active" and other_record.run_id != run_id:
                                other_record.status = "Superseded"
                    record.status = status
                    record.finished_at = record.finished_at or now_iso()
                    for key, value in fields.items():
                        setattr(record, key, value)
            return records

        updated = self.update(change)
        return next((r for r in updated if r.run_id == run_id), None)

    def fail(
        self, run_id: str, dag_id: str, version: str, colour: str, previous_version: str = "", **fields: Any
    ) -> ReleaseRecord:
        """Record a run as Failed, creating its record when it stopped before it had one (refused
        at the lock, the plan or a pre-check): every attempt leaves a record saying why."""

        def change(records: list[ReleaseRecord]) -> list[ReleaseRecord]:
            record = next((r for r in records if r.run_id == run_id), None)
            if record is None:
                number = max((r.number for r in records), default=0) + 1
                record = ReleaseRecord(
                    number,
                    version,
                    colour,
                    "Failed",
                    run_id,
                    dag_id,
                    started_at=now_iso(),
                    previous_version=previous_version,
                )
                records.append(record)
            record.status = "Failed"
            record.finished_at = record.finished_at or now_iso()
            for key, value in fields.items():
                setattr(record, key, value)
            return records

        updated = self.update(change)
        return next(r for r in updated if r.run_id == run_id)

    def set_fields(self, run_id: str, **fields: Any) -> None:
        """Set fields of a run's record without changing its status (e.g. ``migration=True``)."""

        def change(records: list[ReleaseRecord]) -> list[ReleaseRecord]:
            for record in records:
                if record.run_id == run_id:
                    for key, value in fields.items():
                        setattr(record, key, value)
            return records

        self.update(change)

    def checkpoint_progress(self, run_id: str, kind: str) -> dict[str, Any]:
        """``{"started_at": epoch seconds, "results": [checkpoint results]}`` of a run's watch or
        bake, or ``{}`` before it started."""
        record = self.find(run_id)
        return dict((record.checkpoints or {}).get(kind) or {}) if record else {}

    def start_checkpoints(self, run_id: str, kind: str, started_at: float) -> dict[str, Any]:
        """Start the watch or bake clock once; a second call (a retry) returns what is there."""

        def change(records: list[ReleaseRecord]) -> list[ReleaseRecord]:
            for record in records:
                if record.run_id == run_id and kind not in (record.checkpoints or {}):
                    record.checkpoints = {
                        **(record.checkpoints or {}),
                        kind: {"started_at": started_at, "results": []},
                    }
            return records

        self.update(change)
        return self.checkpoint_progress(run_id, kind)

    def add_checkpoint(self, run_id: str, kind: str, result: dict[str, Any]) -> None:
        """Record one checkpoint's result (a re-run of the same checkpoint replaces it)."""

        def change(records: list[ReleaseRecord]) -> list[ReleaseRecord]:
            for record in records:
                if record.run_id == run_id:
                    progress = dict(
                        (record.checkpoints or {}).get(kind)
                        or {"started_at": result.get("at"), "results": []}
                    )
                    kept = [
                        r
                        for r in progress.get("results", [])
                        if r.get("checkpoint") != result.get("checkpoint")
                    ]
                    progress["results"] = sorted([*kept, result], key=lambda r: r.get("checkpoint", 0))
                    record.checkpoints = {**(record.checkpoints or {}), kind: progress}
            return records

        self.update(change)

    def request_intervention(self, run_id: str, action: str, user: str, reason: str = "") -> ReleaseRecord:
        """A person asks the waiting release to ``abort`` (roll back / stop now) or ``promote``
        (skip the remaining checkpoints). The first request stands: a second one is refused."""
        if action not in INTERVENTIONS:
            raise ValueError(f"action {action!r} must be one of {', '.join(INTERVENTIONS)}")
        if not user.strip():
            raise ValueError("an intervention names who asks for it (user is empty)")
        found: list[ReleaseRecord] = []

        def change(records: list[ReleaseRecord]) -> list[ReleaseRecord]:
            found.clear()
            for record in records:
                if record.run_id == run_id:
                    if record.intervention:
                        raise ValueError(
                            f"release #{record.number} already has a request: {intervention_line(record.intervention)}"
                        )
                    if record.status not in ("InProgress", "Active"):
                        raise ValueError(
                            f"release #{record.number} is {record.status}: nothing is waiting to {action}"
                        )
                    record.intervention = {
                        "action": action,
                        "user": user.strip(),
                        "reason": reason.strip()[:500],
                        "at": now_iso(),
                    }
                    found.append(record)
            return records

        self.update(change)
        if not found:
            raise ValueError(f"no release record of run {run_id} for {self.app}")
        return found[0]

    def intervention(self, run_id: str) -> dict[str, Any]:
        record = self.find(run_id)
        return dict(record.intervention) if record else {}

    def mark(self, number: int, **fields: Any) -> None:
        def change(records: list[ReleaseRecord]) -> list[ReleaseRecord]:
            for record in records:
                if record.number == number:
                    for key, value in fields.items():
                        setattr(record, key, value)
            return records

        self.update(change)
