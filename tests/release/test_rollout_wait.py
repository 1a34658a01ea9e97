"""Waiting for a rollout, over HTTP against the emulator (time runs 60×): after the switch a verdict
is due now, so a deployment whose pods are stuck (crash loop) ends the wait instead of the timeout."""

from __future__ import annotations

import time

from kubernetes import config

from switchyard.release.colours import layout
from switchyard.release.workloads import Workloads


def test_a_crash_looping_rollout_ends_the_wait_at_once_when_asked(cluster_env):
    api = config.new_client_from_config(config_file=str(cluster_env.kubeconfig_path))
    workloads = Workloads(api, layout(cluster_env.model), log=lambda _: None)
    for body in workloads.render_standby("blue", "v3-crashloop", "run-1"):
        workloads.apply(body)
    waited = [0.0]

    def sleep(seconds: float) -> None:  # real waits, counted: the timeout below is never reached
        time.sleep(seconds)
        waited[0] += seconds

    components = layout(cluster_env.model).serving("green")  # the workers are rendered at 0
    not_ready = workloads.wait_ready(
        components, timeout=600, sleep=sleep, clock=lambda: waited[0], stop_on_stuck_pods=True
    )

    assert set(not_ready) == set(components)
    assert all("CrashLoopBackOff" in why for why in not_ready.values()), not_ready
    assert waited[0] < 600
