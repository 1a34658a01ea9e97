"""What made a release stop: the first failing step's root cause and chain, read back from XCom."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The steps whose failure stops a release, in the order they run.
STEPS = (
    "pre_checks.live_path_gate",
    "pre_checks.image_in_registry",
    "pre_checks.standby_manifests_dry_run",
    "deploy_standby",
    "standby_gate",
    "migrate",
    "smoke_tests",
    "approve",
    "switch_traffic",
    "live_path_gate_after_switch",
    "watch",
    "bake",
)


@dataclass
class Evidence:
    step: str = ""
    root_cause: str = ""
    chain: list[str] = field(default_factory=list)
    reason: str = ""
    confirmed: bool = False

    def line(self) -> str:
        if self.root_cause and self.root_cause != "none":
            return f"{self.root_cause} ({' → '.join(self.chain)}) at {self.step}"
        return f"{self.reason or 'unknown'} at {self.step}" if self.step else ""


def first_failure(ti: Any, steps: tuple[str, ...] = STEPS) -> Evidence:
    """The earliest step that left failing evidence: a gate verdict, a watch checkpoint, or a
    decision line."""
    for step in steps:
        verdict = ti.xcom_pull(task_ids=step, key="verdict")
        checkpoints = ti.xcom_pull(task_ids=step, key="checkpoints") or []
        failed = next((c for c in checkpoints if not c.get("passed")), None)
        if failed:
            root = failed.get("root_cause") or ""
            return Evidence(
                step,
                root if root != "none" else "",
                failed.get("chain") or [],
                "; ".join(failed.get("problems") or []),
                bool(root and root != "none"),
            )
        if verdict and verdict.get("outcome") != "healthy":
            if verdict.get("outcome") == "failing":
                return Evidence(
                    step,
                    verdict["root_cause"],
                    verdict.get("chain") or [],
                    verdict.get("summary", ""),
                    bool(verdict.get("root_confirmed")),
                )
            return Evidence(step, "", [], verdict.get("summary", "unknown"), False)
        decision = ti.xcom_pull(task_ids=step, key="decision")
        if decision and decision.get("decided", "").startswith(("fail", "stop")):
            return Evidence(
                step, decision.get("root_cause", ""), decision.get("chain") or [], decision.get("saw", "")
            )
    return Evidence()
