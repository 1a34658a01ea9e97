"""How a load test is judged (switchyard.release.loadtest.judge): against the fixed thresholds,
against the live colour sampled at the same moments, and never on no data."""

from __future__ import annotations

from switchyard.release.loadtest import LoadTestSpec, judge, load_test_spec

SPEC = LoadTestSpec()


def sample(rate=100.0, ratio=0.0, p99=0.05, live_p99=0.05, cpu=0.3, status="ok"):
    return {
        "status": status,
        "standby": {"request_rate": rate, "error_ratio": ratio, "p99_seconds": p99, "cpu_ratio": cpu},
        "live": {"request_rate": 20.0, "error_ratio": 0.0, "p99_seconds": live_p99},
    }


def verdict(samples, rps=100.0):
    return judge(samples, rps=rps, max_error_ratio=0.001, max_p99_seconds=5.0, spec=SPEC, colour="green")


def test_healthy_figures_pass_with_the_thresholds_beside_them():
    result = verdict([sample()] * 4)
    assert result["passed"], result["problems"]
    assert result["thresholds"]["max_p99_vs_live"] == 0.25  # 2 × 0.05 s is below the 0.25 s floor
    assert result["figures"]["samples"] == 4 and result["figures"]["cpu_ratio"] == 0.3


def test_no_data_never_passes():
    for samples in ([], [sample(rate=0.0)] * 5, [sample(rate=None, ratio=None, p99=None)] * 5):
        result = verdict(samples)
        assert not result["passed"] and "cannot pass on no data" in result["problems"][0]
    unreadable = verdict([{"status": "forbidden", "detail": "HTTP 403"}] * 5)
    assert not unreadable["passed"] and "HTTP 403" in unreadable["problems"][0]


def test_too_few_samples_fail_even_when_healthy():
    result = verdict([sample()] * 2)
    assert not result["passed"] and "at least 3 are needed" in result["problems"][0]


def test_a_load_that_did_not_arrive_is_not_a_pass():
    result = verdict([sample(rate=30.0)] * 4)
    assert result["problems"] == [
        "achieved 30.0 RPS < 80.0 (80% of the 100 asked for): the load did not reach green"
    ]


def test_p99_far_behind_the_live_colour_fails_though_under_the_fixed_threshold():
    result = verdict([sample(p99=2.0, live_p99=0.4)] * 4)  # 2 s < 5 s, but 5 × live's 0.4 s
    assert not result["passed"]
    assert result["problems"] == ["p99 2.00s > 0.80s (2× live's 0.40s)"]


def test_cpu_over_its_share_of_the_limits_fails():
    result = verdict([sample(cpu=0.75)] * 4)
    assert result["problems"] == ["CPU 75% of the pods' limit ≥ 70%"]


def test_the_model_section_sets_the_defaults_and_names_its_errors():
    spec = load_test_spec({"enabled": True, "rps": 50, "thresholds": {"cpu_ratio": 0.9}}, "model m")
    assert (spec.enabled, spec.rps, spec.seconds, spec.max_cpu_ratio) == (True, 50.0, 300, 0.9)
    try:
        load_test_spec({"rps": 0}, "model m")
    except ValueError as exc:
        assert "model m: release.load_test needs rps > 0" in str(exc)
    else:
        raise AssertionError("rps 0 was accepted")
