"""Scenario files: injected facts and the conclusion the engine is expected to reach.

name: rds unavailable
inject:   {rds: {available: false}, ...}      # component → fact → value
unknown:  {rds: {connection_count: forbidden}} # Switchyard: facts that could not be read
expect:
  root_cause: rds | none
  root_causes: [rds, acme-shop-cron]           # Switchyard: every independent root, in order (S11)
  path: [cloudflare, ..., rds]                 # ordered subsequence (S7)
  eliminated: [redis, ...]                     # subset (S7)
  outcome: healthy | failing | unknown         # Switchyard: the gate's verdict
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchyard.engine import yamlnodes as Y
from switchyard.engine.errors import ScenarioError, YamlError
from switchyard.engine.facts import UNKNOWN_STATUSES, Fact, FactStore
from switchyard.engine.model import Model, closest

OUTCOMES = ("healthy", "failing", "unknown")


@dataclass
class Expectation:
    root_cause: str = ""
    root_causes: list[str] = field(default_factory=list)  # every root, in the engine's order (S11)
    path: list[str] = field(default_factory=list)
    eliminated: list[str] = field(default_factory=list)
    outcome: str = ""


@dataclass
class Scenario:
    name: str
    file: Path | None
    inject: dict[str, dict[str, Any]]
    unknown: dict[str, dict[str, str]]
    expect: Expectation
    description: str = ""
    unenumerated_intentional: bool = False
    warnings: list[str] = field(default_factory=list)

    def fact_store(self) -> FactStore:
        store = FactStore.from_mapping(self.inject)
        for comp, facts in self.unknown.items():
            for name, status in facts.items():
                store.add(Fact(comp, name, None, status, "inject"))
        return store


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 2.0 → 2, as the reference does
    return value


def load_scenario(path: Path, model: Model | None = None) -> Scenario:
    try:
        root = Y.load_node(path)
    except YamlError as exc:
        raise ScenarioError(str(exc)) from None
    if not Y.is_mapping(root):
        raise ScenarioError(f"{path}: a scenario is a mapping with name, inject and expect")
    data = Y.to_python(root)
    inject_raw = data.get("inject") or {}
    if not isinstance(inject_raw, dict) or not all(isinstance(v, dict) for v in inject_raw.values()):
        raise ScenarioError(f"{path}: inject must map component → {{fact: value}}")
    inject = {str(c): {str(k): _normalise(v) for k, v in facts.items()} for c, facts in inject_raw.items()}
    unknown_raw = data.get("unknown") or {}
    unknown: dict[str, dict[str, str]] = {}
    if not isinstance(unknown_raw, dict):
        raise ScenarioError(f"{path}: unknown must map component → {{fact: forbidden|transient|not_found}}")
    for comp, facts in unknown_raw.items():
        if not isinstance(facts, dict) or any(str(s) not in UNKNOWN_STATUSES for s in facts.values()):
            raise ScenarioError(
                f"{path}: unknown.{comp} must map facts to one of {', '.join(UNKNOWN_STATUSES)}"
            )
        unknown[str(comp)] = {str(k): str(v) for k, v in facts.items()}
    expect_raw = data.get("expect") or {}
    if not isinstance(expect_raw, dict):
        raise ScenarioError(
            f"{path}: expect must be a mapping with root_cause (and optionally path, eliminated)"
        )
    if not {"root_cause", "root_causes", "outcome"} & set(expect_raw):
        raise ScenarioError(f"{path}: expect.root_cause is required (a component name, or none)")
    roots_raw = expect_raw.get("root_causes")
    if roots_raw is not None and not isinstance(roots_raw, list):
        raise ScenarioError(
            f"{path}: expect.root_causes must be a list of component names, first the primary"
        )
    outcome = str(expect_raw.get("outcome") or "")
    if outcome and outcome not in OUTCOMES:
        raise ScenarioError(f"{path}: expect.outcome {outcome!r} must be one of {', '.join(OUTCOMES)}")
    root_causes = [str(x) for x in roots_raw or []]
    root_cause = str(expect_raw.get("root_cause") if expect_raw.get("root_cause") is not None else "")
    if root_causes and root_cause and root_cause != root_causes[0]:
        raise ScenarioError(
            f"{path}: expect.root_cause {root_cause!r} must be the first of expect.root_causes "
            f"({', '.join(root_causes)}): root_cause names the primary root"
        )
    expect = Expectation(
        root_cause=root_cause or (root_causes[0] if root_causes else ""),
        root_causes=root_causes,
        path=[str(x) for x in expect_raw.get("path") or []],
        eliminated=[str(x) for x in expect_raw.get("eliminated") or []],
        outcome=outcome,
    )
    scenario = Scenario(
        name=str(data.get("name") or path.stem),
        file=path,
        inject=inject,
        unknown=unknown,
        expect=expect,
        description=str(data.get("description") or ""),
        unenumerated_intentional=data.get("unenumerated_intentional") is True,
    )
    if model is not None:
        scenario.warnings = hygiene_warnings(scenario, model)
    return scenario


def hygiene_warnings(scenario: Scenario, model: Model) -> list[str]:
    """Rule S9: stale fact names and unknown components silently turn into 'unknown' otherwise."""
    out: list[str] = []
    names = list(model.components)
    for comp, facts in list(scenario.inject.items()) + list(scenario.unknown.items()):
        component = model.components.get(comp)
        if component is None:
            guess = closest(comp, names)
            out.append(
                f"{scenario.name}: injects unknown component {comp!r}"
                + (f' (did you mean "{guess}"?)' if guess else "")
            )
            continue
        if component.type_def is None:
            continue
        declared = component.type_def.facts
        for fact in facts:
            if fact not in declared:
                guess = closest(fact, list(declared))
                out.append(
                    f"{scenario.name}: {comp}.{fact} is not a fact of type {component.type!r}"
                    + (f' (did you mean "{guess}"?)' if guess else f" (facts: {', '.join(declared)})")
                )
    expect = scenario.expect
    for name in expect.path + expect.eliminated + expect.root_causes + [expect.root_cause]:
        if name and name != "none" and name not in model.components:
            out.append(f"{scenario.name}: expect names unknown component {name!r}")
    return out


def scenario_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ScenarioError(f"{directory}: not a directory of scenario files")
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ScenarioError(f'no scenario files found in "{directory}"')
    return files


def is_subsequence(expected: list[str], actual: list[str]) -> bool:
    it = iter(actual)
    return all(any(a == e for a in it) for e in expected)
