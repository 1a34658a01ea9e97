"""The immediate watch and the bake after the switch: when their checkpoints fall, and how one
checkpoint is judged from the model gate's verdict and the new colour's metrics.

The watch checks at an even spacing (the runbook: every 30 s for 5 minutes); the bake at the
runbook's four checkpoints (+5 min, +15 min, +1 h, +2 h of a 2-hour bake, scaled to its length).
Between checkpoints the metrics are sampled at the sampling interval, and a breach ends the wait at
once. No Airflow here: the trigger and the operator both call these.
"""

from __future__ import annotations

import time
from typing import Any

from switchyard.engine.verdict import Verdict

# The runbook's bake checkpoints as fractions of the bake, with what each one is for.
BAKE_CHECKPOINTS = (
    (5 / 120, "immediate stability: error rate < 0.1 %, no crash loops"),
    (15 / 120, "performance baseline: P99 latency < 5 s"),
    (60 / 120, "extended stability: all metrics stable"),
    (1.0, "production readiness: full SLO"),
)
# A model gate costs a round of probes: the watch runs one at most every 10 s, whatever the
# sampling interval (metrics are still sampled at the interval in between).
MIN_GATE_SPACING_SECONDS = 10.0


def _offset_label(seconds: float) -> str:
    if seconds < 120:
        return f"+{seconds:.0f}s"
    if seconds < 7200 and seconds % 3600:
        return f"+{seconds / 60:.0f} min"
    return f"+{seconds / 3600:g} h"


def checkpoints(kind: str, duration_minutes: float, interval_seconds: float) -> list[tuple[float, str]]:
    """(offset in seconds from the start, label) of every checkpoint."""
    total = float(duration_minutes) * 60
    if total <= 0:
        return []
    if kind == "bake":
        return [(total * f, f"{_offset_label(total * f)} {what}") for f, what in BAKE_CHECKPOINTS]
    step = max(MIN_GATE_SPACING_SECONDS, float(interval_seconds))
    count = max(1, int(total // step))
    step = total / count
    return [
        (step * (i + 1), f"check {i + 1}/{count} ({_offset_label(step * (i + 1))})") for i in range(count)
    ]


def breach(sample: dict[str, Any], max_error_ratio: float, max_p99_seconds: float, colour: str) -> str:
    """Why a metrics sample breaks the thresholds ('' when it does not; no data is not a breach
    between checkpoints — a checkpoint itself refuses to pass without data)."""
    ratio, p99 = sample.get("error_ratio"), sample.get("p99_seconds")
    if ratio is not None and ratio >= max_error_ratio:
        return f"error ratio {ratio:.2%} ≥ {max_error_ratio:.2%} on {colour}"
    if p99 is not None and p99 >= max_p99_seconds:
        return f"p99 latency {p99:.2f}s ≥ {max_p99_seconds:.2f}s on {colour}"
    return ""


def judge(
    *,
    index: int,
    label: str,
    verdict: Verdict,
    sample: dict[str, Any],
    breach_reason: str,
    max_error_ratio: float,
    max_p99_seconds: float,
    colour: str,
    serving_entry: tuple[str, list[str]],
    sampled_at: float | None = None,
) -> dict[str, Any]:
    """One checkpoint's result: passed, the problems seen, and the root cause and chain (the
    gate's, or — when only the metrics see a problem — the colour's first serving tier)."""
    problems = []
    if breach_reason:
        problems.append(f"metrics: {breach_reason}")
    elif sample.get("status", "ok") != "ok":
        problems.append(f"metrics unreadable ({sample.get('status')}): {sample.get('detail', '')}")
    elif sample.get("error_ratio") is None or sample.get("p99_seconds") is None:
        problems.append(f"no metrics data for {colour}: a checkpoint cannot pass on no evidence")
    else:
        if sample["error_ratio"] >= max_error_ratio:
            problems.append(f"error ratio {sample['error_ratio']:.2%} ≥ {max_error_ratio:.2%}")
        if sample["p99_seconds"] >= max_p99_seconds:
            problems.append(f"p99 {sample['p99_seconds']:.2f}s ≥ {max_p99_seconds:.2f}s")
    if not verdict.passed:
        problems.insert(0, f"model gate {verdict.outcome}: {verdict.summary()}")
    root_cause, root_state, chain = verdict.root_cause, verdict.root_state, list(verdict.chain)
    if problems and verdict.passed:
        # Only the metrics see it (5xx, latency): the model vouches for every component, so the
        # cause is the colour's serving path; name its first tier, marked as metrics evidence.
        (root_cause, chain), root_state = serving_entry, ""
    return {
        "checkpoint": index + 1,
        "label": label,
        "at": time.time(),
        "sampled_at": sampled_at,
        "passed": not problems,
        "gate": verdict.outcome,
        "evidence": "model" if not verdict.passed else "metrics",
        "root_cause": root_cause if problems else "",
        "root_state": root_state if problems else "",
        "chain": chain if problems else [],
        "metrics": sample,
        "problems": problems,
    }
