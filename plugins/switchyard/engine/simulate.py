"""Run scenarios through the path engine and compare with what they expect (rule S7)."""

from __future__ import annotations

from dataclasses import dataclass, field

from switchyard.engine.model import Model
from switchyard.engine.reasoning import Conclusion, conclude
from switchyard.engine.scenarios import Scenario, is_subsequence
from switchyard.engine.verdict import Verdict, verdict_for


@dataclass
class ScenarioResult:
    scenario: Scenario
    conclusion: Conclusion
    verdict: Verdict
    passed: bool
    mismatches: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        exp = self.scenario.expect
        got = self.conclusion
        return {
            "name": self.scenario.name,
            "file": str(self.scenario.file) if self.scenario.file else None,
            "passed": self.passed,
            "expected": {
                "root_cause": exp.root_cause,
                **({"root_causes": exp.root_causes} if exp.root_causes else {}),
                "path": exp.path,
                "eliminated": exp.eliminated,
                **({"outcome": exp.outcome} if exp.outcome else {}),
            },
            "got": {
                "root_cause": got.root_cause,
                "root_state": got.root_state,
                "root_causes": [r.component for r in got.roots],
                "roots": [r.as_dict() for r in got.roots],
                "path": got.path,
                "eliminated": got.eliminated,
                "outcome": self.verdict.outcome,
            },
            "mismatches": self.mismatches,
            "warnings": self.scenario.warnings,
        }


def run_scenario(model: Model, scenario: Scenario, strict: bool = False) -> ScenarioResult:
    facts = scenario.fact_store()
    conclusion = conclude(model, facts)
    verdict = verdict_for(model, conclusion, facts, scope=None)
    exp = scenario.expect
    mismatches: list[str] = []
    if exp.root_cause and exp.root_cause != conclusion.root_cause:
        mismatches.append("root_cause")
    if exp.root_causes and exp.root_causes != [r.component for r in conclusion.roots]:
        mismatches.append("root_causes")
    if strict:
        if exp.path != conclusion.path:
            mismatches.append("path")
        if sorted(exp.eliminated) != conclusion.eliminated:
            mismatches.append("eliminated")
    else:
        if exp.path and not is_subsequence(exp.path, conclusion.path):
            mismatches.append("path")
        if exp.eliminated and not set(exp.eliminated) <= set(conclusion.eliminated):
            mismatches.append("eliminated")
    if exp.outcome and exp.outcome != verdict.outcome:
        mismatches.append("outcome")
    return ScenarioResult(scenario, conclusion, verdict, not mismatches, mismatches)
