"""What the simulated workloads do, by image, and which API calls fail on purpose.

A ``BehaviourTable`` maps an image (``registry/repo:tag``) or just its tag (``v2``) to a
``Behaviour``; the controller reads it on every tick, so a change applies live (the bake tests flip
the new colour to failing at a checkpoint). A ``FaultTable`` holds rules matched against each API
request by target server, HTTP method and path glob. Both are changed at run time through the
control API (``/_emulator/...``) or loaded from YAML files; every change and every injected fault is
written to the ``EmulatorLog`` and the ``switchyard.localenv`` logger.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("switchyard.localenv")

BEHAVIOUR_KINDS = ("healthy", "crash_loop", "image_pull_failure", "never_ready", "http_5xx", "slow")
JOB_OUTCOMES = ("succeed", "fail")
FAULT_KINDS = ("forbidden", "error", "latency", "timeout")
FAULT_TARGETS = ("kubernetes", "prometheus", "*")


class ConfigError(ValueError):
    """A behaviour or fault definition that cannot be used; the message names the field and the fix."""


class EmulatorLog:
    """The emulator's own log of notable things (faults injected, behaviours changed), newest last."""

    def __init__(self, size: int = 2000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, category: str, message: str, level: int = logging.INFO) -> None:
        log.log(level, "%s: %s", category, message)
        with self._lock:
            self._entries.append({"time": time.time(), "category": category, "message": message})

    def entries(self, category: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._entries if category is None or e["category"] == category]


@dataclass(frozen=True)
class Behaviour:
    """How pods running an image behave; durations are in simulated seconds."""

    kind: str = "healthy"
    error_rate: float = 0.0  # http_5xx: share of requests answered 5xx
    latency_ms: float = 0.0  # slow: p99 latency added to each request
    startup_seconds: float = 1.0  # ContainerCreating before the container runs
    ready_seconds: float = 2.0  # running before the readiness probe passes
    restart_interval: float = 10.0  # crash_loop: one restart per interval
    job: str = "succeed"  # what a Job's pod running this image does
    job_seconds: float = 3.0
    logs: tuple[str, ...] = ()
    requires_migration: bool = False  # published as an annotation of the image's manifest in ECR
    # Saturation: above this many requests per second per ready pod (0 = no limit) the excess is
    # answered 503 and each request beyond it adds latency, so a version can pass its smoke tests
    # and the live traffic and still fail under a load test (errors and latency rise with RPS).
    capacity_rps: float = 0.0
    overload_latency_ms: float = 2000.0  # p99 added per 100 % over capacity

    def overload(self, rps_per_pod: float) -> tuple[float, float]:
        """(share of requests shed with 503, p99 milliseconds added) at ``rps_per_pod``."""
        if self.capacity_rps <= 0 or rps_per_pod <= self.capacity_rps:
            return 0.0, 0.0
        over = rps_per_pod / self.capacity_rps - 1.0
        return 1.0 - self.capacity_rps / rps_per_pod, self.overload_latency_ms * over

    @property
    def serves(self) -> bool:
        """The pod becomes ready and takes traffic."""
        return self.kind in ("healthy", "http_5xx", "slow")

    @classmethod
    def parse(cls, value: Any, where: str = "behaviour") -> Behaviour:
        """Accepts a kind name (``crash_loop``) or a mapping (``{kind: http_5xx, rate: 0.2}``)."""
        if isinstance(value, Behaviour):
            return value
        if isinstance(value, str):
            value = {"kind": value}
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a behaviour name or a mapping, got {value!r}")
        data = dict(value)
        if "rate" in data:
            data["error_rate"] = data.pop("rate")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"{where}: unknown field(s) {', '.join(unknown)}; known fields: "
                f"{', '.join(sorted(known | {'rate'}))}"
            )
        kind = data.get("kind", "healthy")
        if kind not in BEHAVIOUR_KINDS:
            raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(BEHAVIOUR_KINDS)}")
        if data.get("job", "succeed") not in JOB_OUTCOMES:
            raise ConfigError(f"{where}: job {data['job']!r} is not one of {', '.join(JOB_OUTCOMES)}")
        if kind == "http_5xx":
            data.setdefault("error_rate", 0.5)
        if kind == "slow":
            data.setdefault("latency_ms", 3000.0)
        try:
            for name in (
                "error_rate",
                "latency_ms",
                "startup_seconds",
                "ready_seconds",
                "restart_interval",
                "job_seconds",
                "capacity_rps",
                "overload_latency_ms",
            ):
                if name in data:
                    data[name] = float(data[name])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {name} must be a number, got {data[name]!r}") from exc
        if not 0.0 <= data.get("error_rate", 0.0) <= 1.0:
            raise ConfigError(f"{where}: rate must be between 0 and 1, got {data['error_rate']}")
        if data.get("capacity_rps", 0.0) < 0:
            raise ConfigError(f"{where}: capacity_rps must be 0 (no limit) or positive")
        if data.get("restart_interval", 1.0) <= 0:
            raise ConfigError(f"{where}: restart_interval must be positive")
        data["logs"] = tuple(str(line) for line in data.get("logs") or ())
        if not isinstance(data.get("requires_migration", False), bool):
            raise ConfigError(f"{where}: requires_migration must be true or false")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["logs"] = list(self.logs)
        return data


HEALTHY = Behaviour()


def image_tag(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return last.split("@", 1)[1]
    return last.split(":", 1)[1] if ":" in last else "latest"


class BehaviourTable:
    """Image or tag → behaviour. Unknown images are healthy."""

    def __init__(self, events: EmulatorLog | None = None) -> None:
        self._lock = threading.Lock()
        self._table: dict[str, Behaviour] = {}
        self._scheduled: list[tuple[float, str, Behaviour | None]] = []
        self._events = events or EmulatorLog()
        self.version = 0  # counts changes: the controller reconciles again when it moves

    def set(self, key: str, behaviour: Any) -> Behaviour:
        parsed = Behaviour.parse(behaviour, where=f"behaviour for {key!r}")
        with self._lock:
            self._table[key] = parsed
            self.version += 1
        self._events.add(
            "behaviour",
            f"{key} → {parsed.kind}"
            + (f" (rate {parsed.error_rate})" if parsed.kind == "http_5xx" else "")
            + (f" ({parsed.latency_ms:g} ms)" if parsed.kind == "slow" else ""),
        )
        return parsed

    def remove(self, key: str) -> bool:
        with self._lock:
            found = self._table.pop(key, None) is not None
            self.version += 1
        if found:
            self._events.add("behaviour", f"{key} → default (healthy)")
        return found

    def replace_all(self, table: dict[str, Any]) -> None:
        parsed = {key: Behaviour.parse(value, where=f"behaviour for {key!r}") for key, value in table.items()}
        with self._lock:
            self._table = parsed
            self._scheduled.clear()
            self.version += 1
        self._events.add(
            "behaviour", f"table replaced: {', '.join(f'{k} → {b.kind}' for k, b in parsed.items())}"
        )

    def schedule(self, at: float, key: str, behaviour: Any | None) -> None:
        """Apply ``behaviour`` (None removes the key) when the simulated clock reaches ``at``."""
        parsed = None if behaviour is None else Behaviour.parse(behaviour, where=f"behaviour for {key!r}")
        with self._lock:
            self._scheduled.append((at, key, parsed))
            self.version += 1
        self._events.add(
            "behaviour", f"{key} → {parsed.kind if parsed else 'default'} scheduled at simulated t={at:.1f}s"
        )

    def next_due(self) -> float | None:
        """Simulated time of the earliest scheduled change (a clock jump stops there)."""
        with self._lock:
            return min((s[0] for s in self._scheduled), default=None)

    def apply_due(self, now: float) -> None:
        with self._lock:
            due = [s for s in self._scheduled if s[0] <= now]
            self._scheduled = [s for s in self._scheduled if s[0] > now]
        for _, key, behaviour in due:
            if behaviour is None:
                self.remove(key)
            else:
                self.set(key, behaviour)

    def lookup(self, image: str) -> Behaviour:
        with self._lock:
            for key in (image, image.rsplit("/", 1)[-1], image_tag(image)):
                if key in self._table:
                    return self._table[key]
        return HEALTHY

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {key: b.to_dict() for key, b in self._table.items()}


@dataclass
class FaultRule:
    """One injected failure: requests to ``target`` with ``verb`` and a path matching ``path`` fail."""

    kind: str
    path: str = "*"
    verb: str = "*"
    target: str = "kubernetes"
    latency_ms: float = 1000.0  # latency: added before the real answer
    hang_seconds: float = 30.0  # timeout: how long the server holds the request before dropping it
    status: int = 500  # error: the HTTP code answered
    times: int | None = None  # remaining hits; None = until removed
    id: str = ""
    hits: int = 0

    @classmethod
    def parse(cls, value: Any, where: str = "fault") -> FaultRule:
        if isinstance(value, FaultRule):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping with at least 'kind', got {value!r}")
        known = {f.name for f in dataclasses.fields(cls)} - {"hits"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ConfigError(
                f"{where}: unknown field(s) {', '.join(unknown)}; known fields: {', '.join(sorted(known))}"
            )
        rule = cls(**value)
        if rule.kind not in FAULT_KINDS:
            raise ConfigError(f"{where}: kind {rule.kind!r} is not one of {', '.join(FAULT_KINDS)}")
        if rule.target not in FAULT_TARGETS:
            raise ConfigError(f"{where}: target {rule.target!r} is not one of {', '.join(FAULT_TARGETS)}")
        rule.verb = rule.verb.upper()
        if rule.verb not in ("*", "GET", "POST", "PUT", "PATCH", "DELETE"):
            raise ConfigError(
                f"{where}: verb {rule.verb!r} must be an HTTP method (GET, POST, PUT, PATCH, DELETE) or '*'"
            )
        if rule.kind == "error" and not 400 <= int(rule.status) <= 599:
            raise ConfigError(f"{where}: status {rule.status} must be an HTTP error code (400-599)")
        return rule

    def matches(self, target: str, method: str, path: str) -> bool:
        return (
            self.target in ("*", target)
            and self.verb in ("*", method.upper())
            and fnmatch.fnmatchcase(path, self.path)
        )

    def describe(self) -> str:
        what = {
            "forbidden": "403 Forbidden",
            "error": f"{self.status} error",
            "latency": f"+{self.latency_ms:g} ms",
            "timeout": f"hang {self.hang_seconds:g} s then drop",
        }
        return f"{self.id} {self.kind} ({what[self.kind]}) on {self.target} {self.verb} {self.path}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class FaultTable:
    events: EmulatorLog = field(default_factory=EmulatorLog)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, value: Any) -> FaultRule:
        rule = FaultRule.parse(value)
        with self._lock:
            rule.id = rule.id or f"fault-{next(self._ids)}"
            self._rules = [r for r in self._rules if r.id != rule.id] + [rule]
        self.events.add("fault", f"added {rule.describe()}")
        return rule

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            found = len(self._rules) != before
        if found:
            self.events.add("fault", f"removed {rule_id}")
        return found

    def clear(self) -> None:
        with self._lock:
            had = bool(self._rules)
            self._rules = []
        if had:
            self.events.add("fault", "all faults cleared")

    def match(self, target: str, method: str, path: str) -> FaultRule | None:
        """The first rule matching the request; counts the hit and logs the injection."""
        with self._lock:
            rule = next((r for r in self._rules if r.matches(target, method, path)), None)
            if rule is None:
                return None
            rule.hits += 1
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self._rules.remove(rule)
            description = rule.describe()
        self.events.add("fault", f"injected {description}: {method} {path}", logging.WARNING)
        return rule

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_dict() for r in self._rules]


def load_behaviours_file(path: str | Path) -> dict[str, Behaviour]:
    """``behaviours:`` mapping of image-or-tag → behaviour, validated."""
    return load_app_behaviours(path)[1]


def load_app_behaviours(path: str | Path) -> tuple[str | None, dict[str, Behaviour]]:
    """The file's ``app:`` (whose images it describes; None when it does not say) and its
    ``behaviours:`` mapping of image-or-tag → behaviour, validated."""
    data = _load_yaml(path)
    table = data.get("behaviours", {}) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: expected a top-level 'behaviours:' mapping of image or tag to behaviour")
    app = data.get("app")
    if app is not None and not (isinstance(app, str) and app):
        raise ConfigError(f"{path}: 'app:' must be the name of a model (its ECR repository), got {app!r}")
    return app, {str(k): Behaviour.parse(v, where=f"{path}: behaviour for {k!r}") for k, v in table.items()}


def load_faults_file(path: str | Path) -> list[FaultRule]:
    """``faults:`` list of fault rules, validated."""
    data = _load_yaml(path)
    rules = data.get("faults", []) if isinstance(data, dict) else None
    if not isinstance(rules, list):
        raise ConfigError(f"{path}: expected a top-level 'faults:' list")
    return [FaultRule.parse(r, where=f"{path}: fault #{i + 1}") for i, r in enumerate(rules)]


def _load_yaml(path: str | Path) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
