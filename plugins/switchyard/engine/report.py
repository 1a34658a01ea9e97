"""Text renderings of engine results, as the CLI prints them (and operators log them)."""

from __future__ import annotations

from switchyard.engine.diagnose import Diagnosis
from switchyard.engine.model import Model, Problem
from switchyard.engine.notation import chain_text, root_text
from switchyard.engine.simulate import ScenarioResult
from switchyard.engine.verdict import Verdict


def _primary(verdict: Verdict) -> dict:
    return {
        "root_cause": verdict.root_cause,
        "root_state": verdict.root_state,
        "chain": verdict.chain,
        "confirmed": verdict.root_confirmed,
    }


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def validation_report(model: Model) -> str:
    width = max((len(n) for n in model.components), default=0)
    by_component: dict[str | None, list[Problem]] = {}
    for problem in model.problems:
        by_component.setdefault(problem.component, []).append(problem)
    lines: list[str] = []
    for name, comp in model.components.items():
        errors = [p for p in by_component.get(name, []) if p.severity == "error"]
        if not errors:
            targets = len(comp.depends_on)
            if targets == 0:
                desc = "healthy override valid" if comp.healthy_override else "resolved"
            else:
                desc = f"{_plural(targets, 'dependency')} valid"
            lines.append(f"  ✓ {name:<{width}}  {desc}")
            continue
        for i, error in enumerate(errors):
            label = name if i == 0 else ""
            where = f"  ({error.location})" if error.location else ""
            lines.append(f"  ✗ {label:<{width}}  {error.message}{where}")
            if error.fix:
                lines.append(f"    {'':<{width}}  {error.fix}")
    for problem in model.problems:
        if problem.severity == "error" and problem.component not in model.components:
            where = f"  ({problem.location})" if problem.location else ""
            prefix = f"{problem.component}: " if problem.component else ""
            lines.append(f"  ✗ {prefix}{problem.message}{where}")
            if problem.fix:
                lines.append(f"      {problem.fix}")
    for problem in model.warnings:
        who = f"{problem.component}  " if problem.component else ""
        fix = f" — {problem.fix}" if problem.fix else ""
        lines.append(f"  ! {who}{problem.message}{fix}")
    lines.append("")
    lines.append(
        f"  {_plural(len(model.components), 'component')} · {_plural(len(model.errors), 'error')} · "
        f"{_plural(len(model.warnings), 'warning')}"
    )
    return "\n".join(lines)


def _fmt_list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def scenario_line(result: ScenarioResult) -> str:
    name = result.scenario.name
    if result.passed:
        return f"  {name:<40} ✓ passed"
    exp, got = result.scenario.expect, result.conclusion
    # The fields are the scenario's expect: keys; chains and root causes in the one notation, the
    # expected ones without states (a scenario names components only).
    lines = [
        f"  {name:<40} ✗ failed ({', '.join(result.mismatches)})",
        f"    expected: root_cause={exp.root_cause or '(none given)'}"
        + (f"  root_causes={_fmt_list(exp.root_causes)}" if exp.root_causes else "")
        + f"  path={chain_text(exp.path)}"
        f"  eliminated={_fmt_list(sorted(exp.eliminated))}"
        + (f"  outcome={exp.outcome}" if exp.outcome else ""),
        f"    got:      root_cause={root_text(got.root_cause, got.root_state)}"
        + (f"  root_causes={_fmt_list([r.text() for r in got.roots])}" if exp.root_causes else "")
        + f"  path={chain_text(got.path, got.root_state)}  eliminated={_fmt_list(got.eliminated)}"
        + (f"  outcome={result.verdict.outcome}" if exp.outcome else ""),
    ]
    return "\n".join(lines)


def diagnosis_report(model: Model, diagnosis: Diagnosis) -> str:
    verdict = diagnosis.verdict
    lines = [step.line() for step in diagnosis.trail]
    if lines:
        lines.append("")
    if verdict.outcome == "failing":
        for number, root in enumerate(verdict.roots or [_primary(verdict)]):
            comp = model.components[root["root_cause"]]
            resource = f" (resource: {comp.resource})" if comp.resource and comp.resource != comp.name else ""
            note = (
                ""
                if root["confirmed"]
                else "  [unconfirmed: its own facts are missing or unreadable; kept alive by a failing component before it]"
            )
            label = "Root cause:" if number == 0 else "Also:      "
            lines.append(f"{label} {root_text(root['root_cause'], root['root_state'])}{resource}{note}")
            lines.append(f"Chain:      {chain_text(root['chain'], root['root_state'])}")
    elif verdict.outcome == "healthy":
        lines.append("Root cause: (none — all components healthy)")
    else:
        if verdict.failing_unchained:
            lines.append("Root cause: unknown — failing with no chain from an entry to a root")
        else:
            lines.append("Root cause: unknown — not enough visibility to decide")
        for comp, why in verdict.unvouched.items():
            lines.append(f"  {comp}: {why}")
        if verdict.next_probes:
            probes = ", ".join(f"{c}.{f}" for c, facts in verdict.next_probes.items() for f in facts)
            lines.append(f"Next probes: {probes}")
    lines.append(f"Eliminated: {', '.join(verdict.eliminated) or '-'}")
    requests = f"   API requests: {diagnosis.requests}" if diagnosis.requests is not None else ""
    lines.append(
        f"Probes run: {diagnosis.probes_run}/{diagnosis.max_probes}{requests}   Time: {diagnosis.elapsed:.1f}s/"
        f"{diagnosis.deadline_seconds:.0f}s   Stopped: {diagnosis.stopped}"
    )
    if verdict.partial_visibility:
        lines.append(
            f"Partial visibility: {', '.join(verdict.partial_visibility)} — result may be incomplete."
        )
    else:
        lines.append("Partial visibility: none")
    for hint in diagnosis.suspect_hints():
        lines.append(f"Hint:       {hint}")
    return "\n".join(lines)
