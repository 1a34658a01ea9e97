"""Evidence of a failed step when no gate named a cause: the error it failed with, one line, and
the incident report that says where the release failed and why."""

from __future__ import annotations

from pathlib import Path

from kubernetes.client import ApiException

from switchyard.airflow.operators.aftercare import incident_report
from switchyard.release.evidence import Evidence, describe_error, first_failure


class XComOf:
    """What ``ti.xcom_pull`` answers in a run where ``values`` were pushed: {(task, key): value}."""

    def __init__(self, values):
        self.values = values

    def xcom_pull(self, task_ids, key="return_value"):
        return self.values.get((task_ids, key))


def test_an_api_error_is_described_by_status_and_message_without_headers():
    exc = ApiException(status=500, reason="Internal Server Error")
    exc.body = '{"kind": "Status", "message": "etcdserver: request timed out"}'
    exc.headers = {"Authorization": "Bearer secret-token"}
    text = describe_error(exc)
    assert text == "Kubernetes API answered HTTP 500 Internal Server Error: etcdserver: request timed out"


def test_other_errors_keep_their_type_and_are_bounded():
    assert describe_error(KeyError("standby")) == "KeyError: 'standby'"
    assert len(describe_error(RuntimeError("x" * 5000))) == 500
    assert "without an error message" in describe_error(None)


def test_the_first_failed_step_is_named_with_its_error():
    ti = XComOf({("deploy_standby", "error"): {"task": "deploy_standby", "error": "TimeoutError: read"}})
    evidence = first_failure(ti)
    assert (evidence.step, evidence.root_cause, evidence.reason) == (
        "deploy_standby",
        "",
        "TimeoutError: read",
    )
    assert evidence.failed_at() == "failed at deploy_standby: TimeoutError: read"


def test_a_rollout_that_did_not_finish_takes_the_root_cause_its_gate_named():
    timed_out = {
        ("deploy_standby", "decision"): {"saw": "standby green not rolled out after 10s", "stops": True},
        ("standby_gate", "verdict"): {
            "outcome": "failing",
            "root_cause": "acme-shop-php-fpm-green",
            "chain": ["acme-shop-php-fpm-green", "acme-shop-nginx-green"],
            "root_confirmed": True,
        },
    }
    evidence = first_failure(XComOf(timed_out))
    assert (evidence.step, evidence.root_cause, evidence.reason) == (
        "deploy_standby",
        "acme-shop-php-fpm-green",
        "standby green not rolled out after 10s",
    )
    assert evidence.chain == ["acme-shop-php-fpm-green", "acme-shop-nginx-green"] and evidence.confirmed
    healthy_gate = {**timed_out, ("standby_gate", "verdict"): {"outcome": "healthy"}}
    assert first_failure(XComOf(healthy_gate)).cause == "standby green not rolled out after 10s"


def test_the_incident_report_names_the_failed_step_and_its_error():
    plan = {"version": "v2", "standby": "green", "live": "blue", "live_version": "v1"}
    evidence = Evidence("watch", reason="Kubernetes API answered HTTP 503 Service Unavailable")
    report = incident_report("acme-shop", plan, evidence, [("t", "rollback started")], "rolled back", "")
    assert "failed at `watch`" in report
    assert "`watch` failed with: Kubernetes API answered HTTP 503 Service Unavailable" in report


def test_the_artefact_link_of_a_task_that_saved_nothing_asks_no_one():
    from switchyard.airflow.artifacts import ArtifactLink
    from switchyard.airflow.operators.aftercare import RollbackOperator

    rollback = RollbackOperator(task_id="rollback", model_path="include/models/acme-shop.model.yaml")
    # the Task SDK computes the link when the task ends; before, an XCom lookup logged
    # "[error] XCom not found ... artifact_url" for every task that failed before saving a file
    assert ArtifactLink().get_link(rollback, ti_key=None) == ""
    rollback.published_artifact_url = "http://x/switchyard/artifacts/r/incident-report.md"
    assert ArtifactLink().get_link(rollback, ti_key=None).endswith("incident-report.md")


def test_the_incident_timeline_starts_at_the_switch_with_the_detection_latency():
    from switchyard.airflow.operators.aftercare import failure_timeline

    evidence = Evidence("bake", "acme-shop-nginx-green", ["acme-shop-nginx-green"], "crash loop", True)
    checkpoints = [
        {"passed": True, "label": "+1 min", "at": 1_780_000_060.0, "sampled_at": 1_780_000_058.0},
        {
            "passed": False,
            "label": "+2 min",
            "at": 1_780_000_125.0,
            "sampled_at": 1_780_000_120.0,
            "problems": ["error ratio 5.00% ≥ 0.10%"],
        },
    ]
    switched_at = "2026-05-28T20:26:40Z"  # epoch 1_780_000_000
    timeline = failure_timeline(switched_at, evidence, checkpoints)
    assert timeline[0] == (switched_at, "traffic switched to the new colour")
    assert timeline[1] == ("2026-05-28T20:28:40Z", "first failing sample (+2 min), 120s after the switch")
    assert timeline[2][0] == "2026-05-28T20:28:45Z"
    assert (
        "error ratio 5.00%" in timeline[2][1] and "detection latency 125s from the switch" in timeline[2][1]
    )


def test_the_incident_timeline_reads_in_time_order():
    # the restore at the breach is learnt by the rollback after it logged its own start
    plan = {"version": "v10", "standby": "blue", "live": "green", "live_version": "v2"}
    timeline = [
        ("2026-12-02T19:03:49Z", "traffic switched to the new colour"),
        ("2026-12-02T19:04:07.104+00:00", "rollback started"),
        ("2026-12-02T19:03:56Z", "traffic restored to green by the bake"),
        ("", "an entry without a time"),
        ("2026-12-02T19:04:08Z", "blue scaled to 0"),
    ]
    report = incident_report("acme-shop", plan, Evidence("bake"), timeline, "rolled back", "")
    lines = [
        line.split(": ", 1)[1]
        for line in report.splitlines()
        if line.startswith("- 2026") or line == "- : an entry without a time"
    ]
    assert lines == [
        "traffic switched to the new colour",
        "traffic restored to green by the bake",
        "an entry without a time",  # stays after the entry it followed
        "rollback started",
        "blue scaled to 0",
    ]


def test_a_decision_stops_the_release_by_its_flag_not_its_wording():
    stopped = XComOf(
        {("smoke_tests", "decision"): {"saw": "HTTP 503 on /health", "decided": "halt", "stops": True}}
    )
    assert first_failure(stopped).step == "smoke_tests"
    carried_on = XComOf(
        {("plan", "decision"): {"saw": "blue live", "decided": "fail-safe defaults applied", "stops": False}}
    )
    assert first_failure(carried_on).step == ""


def test_only_a_declared_or_proven_shared_root_keeps_traffic_on_the_new_colour():
    from switchyard.release.evidence import keep_traffic_on_new

    green = ["acme-shop-nginx-green", "acme-shop-php-fpm-green"]
    asked = []

    def old_passes() -> bool:
        asked.append(True)
        return False

    ingress = Evidence("bake", "acme-shop-ingress", ["acme-shop-ingress"], "", True)
    assert keep_traffic_on_new(ingress, green, ("rds",), old_passes) == ""  # rolled back
    assert asked == [True]  # after asking the old colour
    rds = Evidence("bake", "rds", ["rds"], "", True)
    assert "release.shared" in keep_traffic_on_new(rds, green, ("rds",), lambda: 1 / 0)  # not asked
    assert "fails its gate on it too" in keep_traffic_on_new(ingress, green, (), lambda: True)
    unconfirmed = Evidence("bake", "rds", ["rds"], "", False)
    assert keep_traffic_on_new(unconfirmed, green, ("rds",), lambda: True) == ""


def test_release_shared_names_components_both_colours_use(tmp_path):
    import pytest

    from switchyard.engine.model import load_model
    from switchyard.release.spec import release_spec

    acme = Path(__file__).resolve().parents[2] / "include" / "models" / "acme-shop.model.yaml"
    assert "rds" in release_spec(load_model(acme)).shared
    wrong = tmp_path / "acme-shop.model.yaml"
    wrong.write_text(acme.read_text().replace("shared: [rds,", "shared: [acme-shop-nginx-blue, rds,"))
    with pytest.raises(ValueError, match=r"release\.shared names acme-shop-nginx-blue"):
        release_spec(load_model(wrong))


def test_a_progress_deadline_an_older_rollout_exceeded_does_not_fail_this_one():
    from switchyard.release.workloads import deadline_exceeded_at, rollout_status_of

    scaled_up = {
        "metadata": {"generation": 4},
        "spec": {"replicas": 2},
        "status": {
            "observedGeneration": 4,
            "updatedReplicas": 2,
            "replicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
            "conditions": [
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "lastUpdateTime": "2026-03-01T10:00:00Z",
                    "message": "ReplicaSet has timed out progressing.",
                }
            ],
        },
    }
    before = deadline_exceeded_at(scaled_up)  # what the condition said before the scale-up
    assert rollout_status_of(scaled_up, before) == (True, "2/2 replicas ready")
    assert rollout_status_of(scaled_up)[1].startswith("rollout stuck")  # no snapshot: judged as before
    later = {
        **scaled_up,
        "status": {
            **scaled_up["status"],
            "conditions": [
                {**scaled_up["status"]["conditions"][0], "lastUpdateTime": "2026-03-01T12:00:00Z"}
            ],
        },
    }
    assert rollout_status_of(later, before)[1].startswith("rollout stuck")  # this rollout's own deadline
