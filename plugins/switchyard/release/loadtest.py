"""The runbook's performance baseline (seed 003, "3. Validation Phase"): load on the standby's
preview Service from a Kubernetes Job, judged from the metrics API against fixed thresholds and
against the live colour at the same time. No Airflow here: the operator and the trigger call these.

The Job (one per release run, so a retry finds it instead of loading twice) runs the load
generator image with the runbook's environment: ``TARGET_URL``, ``RPS``, ``DURATION`` (seconds).
It is labelled ``switchyard.io/step: load-test``; the local environment recognises that label and
turns the Job's running pod into ``RPS`` requests per second on the Service ``TARGET_URL`` names.

A judgement needs evidence: fewer than ``min_samples`` samples with traffic on the standby is a
failure ("no data never passes"), as is an achieved rate far below the one asked for (the load
generator did not load anything, so nothing was tested).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

STEP_LABEL = "switchyard.io/step"
LOAD_TEST_STEP = "load-test"
DEFAULT_IMAGE = "ghcr.io/switchyard/loadgen:1"  # any image taking TARGET_URL, RPS, DURATION


@dataclass(frozen=True)
class LoadTestSpec:
    """The model's ``release.load_test`` section: defaults of the params and the thresholds."""

    enabled: bool = False
    rps: float = 100.0  # the runbook's RPS=100
    seconds: int = 300  # the runbook's DURATION=300
    image: str = DEFAULT_IMAGE
    path: str = "/"
    min_samples: int = 3
    min_rate_ratio: float = 0.8  # achieved RPS at least this share of the RPS asked for
    max_cpu_ratio: float = 0.7  # the runbook's "CPU < 70 %" of the pods' limits
    max_memory_ratio: float = 0.8  # the runbook's "memory < 80 %"
    # Relative to the live colour sampled at the same moments (Kayenta-style comparison):
    max_p99_vs_live: float = 2.0  # standby p99 at most this many times the live p99 ...
    p99_floor_seconds: float = 0.25  # ... or this, whichever is larger (tiny p99s vary a lot)
    max_error_ratio_vs_live: float = 0.01  # standby error ratio at most live's + this


def load_test_spec(section: Any, where: str) -> LoadTestSpec:
    """Parse ``release.load_test`` (``where`` names the model for error messages)."""
    if section in (None, {}):
        return LoadTestSpec()
    if not isinstance(section, dict):
        raise ValueError(f"{where}: release.load_test must be a mapping")
    thresholds = section.get("thresholds") or {}
    try:
        spec = LoadTestSpec(
            enabled=bool(section.get("enabled", False)),
            rps=float(section.get("rps", 100.0)),
            seconds=int(section.get("seconds", 300)),
            image=str(section.get("image") or DEFAULT_IMAGE),
            path=str(section.get("path") or "/"),
            min_samples=int(section.get("min_samples", 3)),
            min_rate_ratio=float(thresholds.get("min_rate_ratio", 0.8)),
            max_cpu_ratio=float(thresholds.get("cpu_ratio", 0.7)),
            max_memory_ratio=float(thresholds.get("memory_ratio", 0.8)),
            max_p99_vs_live=float(thresholds.get("p99_vs_live", 2.0)),
            p99_floor_seconds=float(thresholds.get("p99_floor_seconds", 0.25)),
            max_error_ratio_vs_live=float(thresholds.get("error_ratio_vs_live", 0.01)),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: release.load_test: {exc}") from None
    if spec.rps <= 0 or spec.seconds <= 0 or spec.min_samples < 1:
        raise ValueError(f"{where}: release.load_test needs rps > 0, seconds > 0 and min_samples >= 1")
    if not spec.path.startswith("/"):
        raise ValueError(f"{where}: release.load_test.path {spec.path!r} must start with /")
    return spec


def job_name(app: str, run_id: str) -> str:
    """One load-test Job per release run (a retry converges on it; a later run makes its own)."""
    run = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    return f"{app[:40].rstrip('-')}-load-test-{run}"


def target_url(preview_service: str, namespace: str, port: int, path: str = "/") -> str:
    return f"http://{preview_service}.{namespace}.svc:{port}{path}"


def job_body(
    *,
    app: str,
    namespace: str,
    run_id: str,
    version: str,
    colour: str,
    url: str,
    rps: float,
    seconds: int,
    image: str,
) -> dict[str, Any]:
    """The load generator Job: ``TARGET_URL``, ``RPS``, ``DURATION`` as in the runbook's kubectl run."""
    name = job_name(app, run_id)
    labels = {"app": app, STEP_LABEL: LOAD_TEST_STEP, "app.kubernetes.io/managed-by": "switchyard"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {
                "switchyard.io/version": version,
                "switchyard.io/colour": colour,
                "switchyard.io/release-run": run_id,
            },
        },
        "spec": {
            "backoffLimit": 0,
            # the generator stops by itself; this is the backstop should it hang
            "activeDeadlineSeconds": int(seconds) * 2 + 120,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                # app is deliberately not in the pod labels: the generator is not one of the app's pods
                "metadata": {"labels": {STEP_LABEL: LOAD_TEST_STEP, "job-name": name}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "load-generator",
                            "image": image,
                            "env": [
                                {"name": "TARGET_URL", "value": url},
                                {"name": "RPS", "value": f"{float(rps):g}"},
                                {"name": "DURATION", "value": str(int(seconds))},
                            ],
                        }
                    ],
                },
            },
        },
    }


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures over the samples that saw traffic on the standby: mean rate, worst error ratio and
    p99, worst CPU and memory share of the limits; the live colour's mean error ratio and p99."""
    loaded = [s for s in samples if (_finite((s.get("standby") or {}).get("request_rate")) or 0) > 0]

    def worst(key: str, side: str = "standby", of: list[dict[str, Any]] = loaded) -> float | None:
        values = [v for s in of for v in [_finite((s.get(side) or {}).get(key))] if v is not None]
        return max(values) if values else None

    live = [s for s in loaded if _finite((s.get("live") or {}).get("request_rate"))]
    return {
        "samples": len(loaded),
        "samples_taken": len(samples),
        "request_rate": _mean([float(s["standby"]["request_rate"]) for s in loaded]),
        "error_ratio": worst("error_ratio"),
        "p99_seconds": worst("p99_seconds"),
        "cpu_ratio": worst("cpu_ratio"),
        "memory_ratio": worst("memory_ratio"),
        "live_error_ratio": _mean(
            [v for s in live for v in [_finite(s["live"].get("error_ratio"))] if v is not None]
        ),
        "live_p99_seconds": _mean(
            [v for s in live for v in [_finite(s["live"].get("p99_seconds"))] if v is not None]
        ),
    }


def sample_breach(
    sample: dict[str, Any], max_error_ratio: float, max_p99_seconds: float, spec: LoadTestSpec
) -> str:
    """Why one sample already fails the absolute thresholds ('' when it does not): the load test
    stops at once then, while the standby is still loaded (the gate runs on the loaded colour)."""
    standby = sample.get("standby") or {}
    ratio, p99 = _finite(standby.get("error_ratio")), _finite(standby.get("p99_seconds"))
    cpu, memory = _finite(standby.get("cpu_ratio")), _finite(standby.get("memory_ratio"))
    if ratio is not None and ratio >= max_error_ratio:
        return f"error ratio {ratio:.2%} ≥ {max_error_ratio:.2%} under load"
    if p99 is not None and p99 >= max_p99_seconds:
        return f"p99 latency {p99:.2f}s ≥ {max_p99_seconds:.2f}s under load"
    if cpu is not None and cpu >= spec.max_cpu_ratio:
        return f"CPU {cpu:.0%} of the limit ≥ {spec.max_cpu_ratio:.0%} under load"
    if memory is not None and memory >= spec.max_memory_ratio:
        return f"memory {memory:.0%} of the limit ≥ {spec.max_memory_ratio:.0%} under load"
    return ""


def judge(
    samples: list[dict[str, Any]],
    *,
    rps: float,
    max_error_ratio: float,
    max_p99_seconds: float,
    spec: LoadTestSpec,
    colour: str,
) -> dict[str, Any]:
    """The load test's result: passed, the problems (each naming the figure, the value and the
    threshold), the figures and the thresholds they were held to."""
    figures = summarise(samples)
    thresholds = {
        "min_samples": spec.min_samples,
        "min_request_rate": rps * spec.min_rate_ratio,
        "max_error_ratio": max_error_ratio,
        "max_p99_seconds": max_p99_seconds,
        "max_cpu_ratio": spec.max_cpu_ratio,
        "max_memory_ratio": spec.max_memory_ratio,
    }
    problems: list[str] = []
    unread = [s for s in samples if s.get("status", "ok") != "ok"]
    if figures["samples"] < spec.min_samples:
        why = f"; {len(unread)} unreadable: {unread[-1].get('detail', '')}" if unread else ""
        problems.append(
            f"only {figures['samples']} sample(s) with traffic on {colour} (of {figures['samples_taken']} "
            f"taken{why}); at least {spec.min_samples} are needed: a load test cannot pass on no data"
        )
    else:
        rate = figures["request_rate"] or 0.0
        if rate < thresholds["min_request_rate"]:
            problems.append(
                f"achieved {rate:.1f} RPS < {thresholds['min_request_rate']:.1f} "
                f"({spec.min_rate_ratio:.0%} of the {rps:g} asked for): the load did not reach {colour}"
            )
        ratio, p99 = figures["error_ratio"], figures["p99_seconds"]
        if ratio is None or p99 is None:
            problems.append(f"no error ratio or p99 for {colour} under load: cannot pass on no data")
        else:
            if ratio >= max_error_ratio:
                problems.append(f"error ratio {ratio:.2%} ≥ {max_error_ratio:.2%}")
            if p99 >= max_p99_seconds:
                problems.append(f"p99 {p99:.2f}s ≥ {max_p99_seconds:.2f}s")
            live_ratio, live_p99 = figures["live_error_ratio"], figures["live_p99_seconds"]
            if live_ratio is not None:
                limit = live_ratio + spec.max_error_ratio_vs_live
                thresholds["max_error_ratio_vs_live"] = limit
                if ratio > limit:
                    problems.append(
                        f"error ratio {ratio:.2%} > live's {live_ratio:.2%} + {spec.max_error_ratio_vs_live:.2%}"
                    )
            if live_p99 is not None:
                limit = max(live_p99 * spec.max_p99_vs_live, spec.p99_floor_seconds)
                thresholds["max_p99_vs_live"] = limit
                if p99 > limit:
                    problems.append(
                        f"p99 {p99:.2f}s > {limit:.2f}s ({spec.max_p99_vs_live:g}× live's {live_p99:.2f}s)"
                    )
        for key, name in (("cpu_ratio", "CPU"), ("memory_ratio", "memory")):
            value, limit = figures[key], thresholds[f"max_{key}"]
            if value is not None and value >= limit:
                problems.append(f"{name} {value:.0%} of the pods' limit ≥ {limit:.0%}")
    return {
        "passed": not problems,
        "problems": problems,
        "figures": figures,
        "thresholds": thresholds,
        "rps": rps,
        "colour": colour,
    }


def figures_line(figures: dict[str, Any], limits: dict[str, Any]) -> str:
    """The load test's figures beside their thresholds, for the log, the decision and the summary."""

    def pct(value: Any) -> str:
        return "-" if value is None else f"{value:.2%}"

    def sec(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}s"

    parts = [
        f"{figures.get('samples', 0)} samples (≥ {limits.get('min_samples', '?')})",
        f"rate {figures['request_rate']:.1f} RPS (≥ {limits.get('min_request_rate', 0):.1f})"
        if figures.get("request_rate") is not None
        else "rate -",
        f"errors {pct(figures.get('error_ratio'))} (< {pct(limits.get('max_error_ratio'))}; live "
        f"{pct(figures.get('live_error_ratio'))})",
        f"p99 {sec(figures.get('p99_seconds'))} (< {sec(limits.get('max_p99_seconds'))}"
        + (f", ≤ {sec(limits['max_p99_vs_live'])} vs live" if "max_p99_vs_live" in limits else "")
        + f"; live {sec(figures.get('live_p99_seconds'))})",
        f"CPU {pct(figures.get('cpu_ratio'))} (< {pct(limits.get('max_cpu_ratio'))})",
        f"memory {pct(figures.get('memory_ratio'))} (< {pct(limits.get('max_memory_ratio'))})",
    ]
    return ", ".join(parts)
