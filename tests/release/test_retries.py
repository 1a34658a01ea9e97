"""Retries on the release path are explicit (``switchyard.release.calls.retried``), bounded, and only
for idempotent calls; the client itself retries nothing. Over HTTP against the local Kubernetes API
emulator, counting the emulator's hits on an injected fault (not time): a read that meets one 503 or
a dropped connection succeeds on the retry; a 403 or 404 is asked once; a create that meets a 503 is
sent once."""

from __future__ import annotations

import contextlib

import pytest
from kubernetes import config
from kubernetes.client import ApiException, CoordinationV1Api, CoreV1Api

from switchyard.engine.catalog import load_catalog
from switchyard.engine.model import load_model
from switchyard.release.calls import CLIENT_REQUEST_TIMEOUT, release_client, retried
from switchyard.release.lock import ReleaseLock
from switchyard.release.records import ReleaseHistory
from switchyard.release.spec import release_spec
from switchyard.release.switch import switch_for
from tests.release_cluster import INCLUDE

SERVICE_PATH = "/api/v1/namespaces/default/services/acme-shop-svc"


@pytest.fixture
def api(local_env):
    return release_client(config.new_client_from_config(config_file=str(local_env.kubeconfig_path)))


@pytest.fixture
def switch(api):
    model = load_model(INCLUDE / "models" / "acme-shop.model.yaml", load_catalog(use_env=False))
    return switch_for(release_spec(model), api, log=lambda _: None)


def _injected(emulator, fault_id: str) -> int:
    """How many requests the emulator answered with this fault (its log: a used-up rule is gone)."""
    return sum(f"injected {fault_id} " in entry["message"] for entry in emulator.log("fault"))


def _hits(emulator, fault_id: str) -> int:
    return next(rule["hits"] for rule in emulator.faults() if rule["id"] == fault_id)


def test_a_read_that_meets_one_503_succeeds_on_the_retry(emulator, switch):
    fault = emulator.add_fault("error", path=SERVICE_PATH, verb="GET", status=503, times=1)
    assert switch.live_colour() == "blue"
    assert _injected(emulator, fault) == 1 and emulator.faults() == []


def test_a_read_that_meets_a_dropped_connection_succeeds_on_the_retry(emulator, switch):
    fault = emulator.add_fault("timeout", path=SERVICE_PATH, verb="GET", hang_seconds=0.05, times=1)
    assert switch.live_colour() == "blue"
    assert _injected(emulator, fault) == 1


def test_retries_are_bounded(emulator, switch):
    with emulator.fault("error", path=SERVICE_PATH, verb="GET", status=503) as fault:
        with pytest.raises(ApiException) as raised:
            switch.live_colour()
        assert raised.value.status == 503
        assert _hits(emulator, fault) == 3  # calls.ATTEMPTS, then the last answer is raised


@pytest.mark.parametrize("kind,status", [("forbidden", 403), ("error", 404)])
def test_a_4xx_answer_is_not_retried(emulator, switch, kind, status):
    with emulator.fault(kind, path=SERVICE_PATH, verb="GET", status=status) as fault:
        if status == 404:
            assert switch.live_colour() is None  # no Service: nothing is live, asked once
        else:
            with pytest.raises(ApiException) as raised:
                switch.live_colour()
            assert raised.value.status == 403
        assert _hits(emulator, fault) == 1


def test_a_create_that_meets_a_503_is_not_retried(emulator, api):
    lock = ReleaseLock(CoordinationV1Api(api), "retry-check", "default")
    path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
    with emulator.fault("error", path=path, verb="POST", status=503) as fault:
        with pytest.raises(ApiException) as raised:
            lock.acquire("manual__retry-check", "release_retry_check", "v2", 60)
        assert raised.value.status == 503
        assert _hits(emulator, fault) == 1
    assert lock.holder() is None  # nothing was created behind the error


def test_a_write_of_the_records_that_meets_a_503_is_not_retried(emulator, api):
    """The record is a create (first record) or a replace on a resourceVersion: neither retried."""
    history = ReleaseHistory(CoreV1Api(api), "retry-check", "default")
    path = "/api/v1/namespaces/default/configmaps"
    with emulator.fault("error", path=path, verb="POST", status=503) as fault:
        with pytest.raises(ApiException):
            history.begin("manual__retry-check", "release_retry_check", "v2", "green", "v1")
        assert _hits(emulator, fault) == 1


def test_the_release_client_itself_retries_nothing(emulator, api, local_env):
    """urllib3's pools would retry a dropped GET three times, unseen; the release client's do not:
    a bare call (no ``retried``) that meets a dropped connection is sent once and fails."""
    core = CoreV1Api(api)
    with emulator.fault("timeout", path=SERVICE_PATH, verb="GET", hang_seconds=0.05) as fault:
        with pytest.raises(Exception, match=r"aborted|closed|Remote end"):
            core.read_namespaced_service("acme-shop-svc", "default", _request_timeout=5)
        assert _hits(emulator, fault) == 1
    plain = CoreV1Api(config.new_client_from_config(config_file=str(local_env.kubeconfig_path)))
    with emulator.fault("timeout", path=SERVICE_PATH, verb="GET", hang_seconds=0.05) as fault:
        with contextlib.suppress(Exception):
            plain.read_namespaced_service("acme-shop-svc", "default", _request_timeout=5)
        assert _hits(emulator, fault) == 4  # what release_client turns off: 1 + urllib3's 3


def test_the_release_client_bounds_a_call_that_names_no_timeout(api):
    rest = api.rest_client
    assert rest.pool_manager.connection_pool_kw["retries"] is False
    assert release_client(api) is api  # twice changes nothing
    seen = {}
    original = rest.pool_manager.request
    rest.pool_manager.request = lambda method, url, **kw: (
        seen.update(kw) or original(method, "http://127.0.0.1:9/", **kw)
    )
    with contextlib.suppress(Exception):  # nothing listens there; the timeout sent is what counts
        rest.GET("http://127.0.0.1:9/api")
    assert (seen["timeout"].connect_timeout, seen["timeout"].read_timeout) == CLIENT_REQUEST_TIMEOUT


def test_retried_waits_backoff_or_retry_after_and_never_retries_other_errors():
    waits, answers = [], iter([ApiException(status=503), ApiException(status=429), "ok"])
    answers_429 = ApiException(status=429)
    answers_429.headers = {"Retry-After": "2"}

    def call():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answers_429 if answer.status == 429 else answer
        return answer

    assert retried(call, attempts=3, backoff=0.25, sleep=waits.append) == "ok"
    assert waits == [0.25, 2.0]  # the backoff, then the server's Retry-After
    calls = []
    with pytest.raises(ValueError):
        retried(lambda: calls.append(1) or int("x"), sleep=waits.append)
    assert calls == [1]
