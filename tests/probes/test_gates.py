"""The engine's diagnose loop on LiveProbe: the live-path gate of the seeded system, a crash-looping
live deployment named as root cause, and a view that 403s on deployments (unknown, never healthy)."""

from __future__ import annotations

import pytest

from switchyard.airflow.operators.gate import gate_message
from switchyard.engine.diagnose import diagnose
from switchyard.release.colours import layout


@pytest.fixture
def live_gate(local_env, make_probe):
    """``live_gate(**probe_kwargs)``: the live-path gate of the blue colour, as the release DAG runs it."""
    colours = layout(local_env.model)

    def run(**kwargs):
        return diagnose(
            colours.live_path("blue"),
            make_probe(**kwargs),
            scope=colours.live_scope("blue"),
            prefer=colours.components("blue"),
            max_probes=100,
            deadline_seconds=60,
        )

    return run


def test_the_seeded_system_passes_the_live_path_gate(live_gate):
    result = live_gate()
    assert result.verdict.outcome == "healthy", result.verdict.summary()
    assert result.verdict.partial_visibility == []
    assert {s.status for s in result.trail} == {"ok"}
    assert (
        "acme-shop-nginx-blue" in result.verdict.scope and "acme-shop-nginx-green" not in result.verdict.scope
    )


def test_a_crash_looping_live_deployment_is_the_root_cause(local_env, apps, live_gate):
    name = "acme-shop-php-fpm-blue"
    before = apps.read_namespaced_deployment(name, "default").spec.template.spec.containers[0].image
    crashing = before.rsplit(":", 1)[0] + ":v3-crashloop"  # crash_loop in the demo behaviours

    def set_image(image):
        apps.patch_namespaced_deployment(
            name,
            "default",
            {"spec": {"template": {"spec": {"containers": [{"name": name, "image": image}]}}}},
        )

    set_image(crashing)
    try:
        local_env.emulator.advance(60)  # restarts pile up on the new pods; the old ones keep serving
        result = live_gate()
    finally:
        set_image(before)
        local_env.emulator.advance(5)
    verdict = result.verdict
    assert verdict.outcome == "failing", verdict.summary()
    assert verdict.root_cause == name
    assert verdict.chain == ["cloudflare", "acme-shop-ingress", "acme-shop-svc", "acme-shop-nginx-blue", name]
    restarts = next(s for s in result.trail if s.component == name and s.fact == "restart_count")
    assert restarts.value >= 5
    # the gate's message says what was read about the root, never "not enough visibility"
    message = gate_message("live_gate", result)
    # the old pods still serve (state live); the restarts fail its healthy rule, and the message says so
    assert message.startswith(f"gate live_gate failed — root cause: {name} ({verdict.root_state}) — ")
    assert "rule false: restart_count < 5" in message
    assert "not enough visibility" not in message
    assert live_gate().verdict.outcome == "healthy"  # put back as it was


def test_forbidden_deployments_leave_the_gate_unknown_never_healthy(local_env, emulator, live_gate):
    with emulator.fault("forbidden", path="/apis/apps/v1/namespaces/*/deployments*", verb="GET"):
        result = live_gate()
    verdict = result.verdict
    assert verdict.outcome == "unknown", verdict.summary()
    assert verdict.root_cause == "none"
    assert "acme-shop-nginx-blue.ready_replicas (forbidden)" in verdict.partial_visibility
    assert "external-secrets.deployment_ready (forbidden)" in verdict.partial_visibility
    assert {"acme-shop-nginx-blue", "acme-shop-php-fpm-blue", "external-secrets"} <= set(verdict.unvouched)
    forbidden = [s for s in result.trail if s.status == "forbidden"]
    assert forbidden and all("HTTP 403 Forbidden" in s.detail for s in forbidden)
    message = gate_message("live_gate", result)
    assert "outcome unknown, which is not healthy — not enough visibility to vouch for" in message
    assert "acme-shop-nginx-blue: could not read ready_replicas forbidden" in message
    assert verdict.next_probes["acme-shop-nginx-blue"][0] == "ready_replicas"
    # what the role may read is still read and vouched for
    assert any(s.component == "rds" and s.status == "ok" for s in result.trail)


def test_the_gate_reads_in_batches_and_its_trail_counts_the_requests(local_env, airflow_connections):
    """The live-path gate as the operator runs it (diagnose_scope): one LIST per kind and namespace
    and grouped AWS reads answer all its probes, and the trail's last line says how many requests."""
    from switchyard.airflow.operators.gate import diagnose_scope
    from switchyard.probes.clients import forget_aws_clients
    from switchyard.release.spec import release_spec

    forget_aws_clients()
    trail: list[str] = []
    _, result = diagnose_scope(
        local_env.model,
        release_spec(local_env.model),
        "live",
        "blue",
        "live_path_gate",
        lambda text, *args: trail.append(text % args),
    )
    assert result.verdict.outcome == "healthy", result.verdict.summary()
    # Kubernetes: one LIST each of deployments, pods, services, endpoints and ingresses in default,
    # of deployments in the operator's namespace, and of the CRDs; AWS: one read per resource, the
    # CloudFront lookup, and the metrics grouped per region: 16. One read per object took 26.
    assert result.probes_run >= 30 and result.requests <= 16
    assert trail[-1].startswith(
        f"live_path_gate: healthy after {result.probes_run} probes, {result.requests} API requests, "
    )
