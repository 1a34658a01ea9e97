"""What `make demo` triggers, checked without running it (it is run whole by CI after the tests):
every release's conf is one the release DAG accepts, and release 1 runs a canary of at least two
checks short enough to keep the demo's time."""

from __future__ import annotations

from switchyard.localenv import demo
from switchyard.release.checkpoints import checkpoints


def test_every_demo_release_conf_is_accepted_by_the_dag(airflow_db):
    from airflow.sdk.definitions.param import ParamsDict

    from dags.release import release_params

    for version in demo.RELEASES:
        params = ParamsDict(release_params())
        params.update(demo.release_conf(version))
        resolved = params.validate()
        assert resolved["version"] == version


def test_release_1_shows_a_short_canary_the_others_none():
    first, *others = demo.RELEASES
    conf = demo.release_conf(first)
    assert first == "v2" and conf["canary_percent"] == 5
    checks = checkpoints("watch", conf["canary_minutes"], conf["watch_interval_seconds"])
    assert len(checks) >= 2  # a comparison with live, then another: the figures of more than one check
    assert checks[-1][0] <= 30  # seconds: the demo's time stays about what it was
    assert all(not demo.release_conf(v).get("canary_percent") for v in others)
