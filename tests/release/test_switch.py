"""The one traffic switch against the local environment (acme-shop: the Service selector): what it
reads, what a first deployment and a refused read look like, that every call is bounded, and how
``switch_for`` picks the mechanism from the model. Whole releases through both mechanisms are in
tests/dags (acme-shop) and test_gateway_release.py (payments)."""

from __future__ import annotations

import dataclasses

import pytest
import urllib3
from kubernetes import config
from kubernetes.client import ApiException

from switchyard.engine.catalog import load_catalog
from switchyard.engine.model import load_model
from switchyard.release.spec import release_spec
from switchyard.release.switch import GatewaySwitch, ServiceSelectorSwitch, switch_for
from tests.release_cluster import INCLUDE

SERVICE, NAMESPACE = "acme-shop-svc", "default"


def _spec(app: str):
    return release_spec(load_model(INCLUDE / "models" / f"{app}.model.yaml", load_catalog(use_env=False)))


@pytest.fixture
def api(local_env):
    return config.new_client_from_config(config_file=str(local_env.kubeconfig_path))


def test_the_live_colour_and_the_pods_behind_the_service(api):
    switch = switch_for(_spec("acme-shop"), api, log=lambda _: None)

    assert isinstance(switch, ServiceSelectorSwitch) and switch.where == "service default/acme-shop-svc"
    assert switch.live_colour() == "blue"
    behind, not_ready = switch.endpoint_pods()
    assert len(behind) == 2 and all(p.startswith("acme-shop-nginx-blue-") for p in behind) and not not_ready
    assert switch.colour_pods("blue") == behind  # what a verified switch compares
    assert switch.colour_pods("green") == set()
    assert switch.verify("blue", timeout=0) == (sorted(behind), pytest.approx(0, abs=1))
    with pytest.raises(ValueError, match="would match every pod"):
        switch.ready_pods({})


def test_a_first_deployment_has_no_colour_and_no_endpoints(api):
    switch = ServiceSelectorSwitch(api, "acme-shop-nothing", NAMESPACE, log=lambda _: None)
    assert switch.live_colour() is None
    assert switch.endpoint_pods() == (set(), set())
    gateway = GatewaySwitch(
        api, SERVICE, NAMESPACE, configmap="no-gateway", key="upstream", upstream="x-{colour}:80"
    )
    assert gateway.live_colour() is None  # no ConfigMap yet: nothing is live


def test_a_refused_read_is_an_error_not_no_colour(emulator, api):
    switch = switch_for(_spec("acme-shop"), api)
    refused = emulator.fault("forbidden", path=f"/api/v1/namespaces/default/services/{SERVICE}", verb="GET")
    with refused, pytest.raises(ApiException) as raised:
        switch.live_colour()
    assert raised.value.status == 403


def test_every_call_is_bounded_by_the_request_timeout(emulator, api):
    """A read that hangs ends at the switch's request timeout instead of holding the step."""
    switch = switch_for(_spec("acme-shop"), api, request_timeout=0.5)
    hangs = emulator.fault("timeout", path=f"/api/v1/namespaces/default/services/{SERVICE}", hang_seconds=5)
    with hangs, pytest.raises(urllib3.exceptions.HTTPError) as raised:
        switch.live_colour()
    assert "timed out" in str(raised.value)


def test_switch_for_chooses_by_the_models_release_section(api):
    gateway = switch_for(_spec("payments"), api)
    assert isinstance(gateway, GatewaySwitch)
    assert (gateway.configmap, gateway.key) == ("api-gateway", "upstream")
    assert gateway.where == "configmap default/api-gateway"
    assert gateway.upstream_of("green") == "payments-svc-green.default.svc.cluster.local:80"
    assert gateway.instruction("blue") == (
        "set key upstream of configmap api-gateway to payments-svc-blue.default.svc.cluster.local:80"
    )
    wrong = dataclasses.replace(_spec("acme-shop"), switch="dns_weight")
    with pytest.raises(ValueError, match=r"release\.switch 'dns_weight' must be one of service_selector"):
        switch_for(wrong, api)
    with pytest.raises(ValueError, match=r"must contain \{colour\}"):
        GatewaySwitch(api, SERVICE, NAMESPACE, configmap="gw", key="upstream", upstream="one-upstream:80")


def test_a_switch_to_a_colour_with_no_ready_pods_is_refused_before_any_write(api, emulator):
    from switchyard.release.switch import SwitchNotVerified

    switch = switch_for(_spec("acme-shop"), api, log=lambda _: None)
    with pytest.raises(SwitchNotVerified, match="no ready green pods behind service default/acme-shop-svc"):
        switch.switch("green", timeout=1)
    assert switch.live_colour() == "blue"
