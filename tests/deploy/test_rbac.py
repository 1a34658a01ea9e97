"""deploy/rbac.yaml is enough for whole releases, and grants no more than it says.

The Kubernetes emulator enforces the manifests' Roles for their ServiceAccount (the ``rbac`` mode of
``switchyard.localenv``): a request no rule allows gets the API server's 403 ``Status`` and a line in
the emulator's log. Release DAGs then run whole, and any refusal fails the test: the fix is a rule in
deploy/rbac.yaml with a comment naming the step that needs it, never a silently wider Role.

The runs cover the writing paths: a release with a migration, onto standby deployments a previous
release left behind (replaced, not created), through the switch and the cleanup of the old colour,
then the rollback DAG back to the earlier version; a release whose new colour breaks right after
the switch (standby created, traffic rolled back); the drift check releasing a stale lock.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from kubernetes import client, config

from switchyard.localenv.rbac import RbacPolicy, Request
from switchyard.localenv.store import CONFIG_MAPS, DEPLOYMENTS, SERVICES
from tests.deploy.support import CRD_READER, RBAC_MANIFEST
from tests.release_cluster import INCLUDE as PAYMENTS
from tests.release_cluster import single_model_include

FAST = {"grace_seconds": 0, "rollout_timeout_seconds": 60, "watch_minutes": 0, "bake_minutes": 0}
SA_USER = "system:serviceaccount:airflow:switchyard-airflow"


def refusals(policy: RbacPolicy) -> list[str]:
    return sorted(r.describe() for r in policy.denied)


def kube(env):
    """A client acting as the manifests' ServiceAccount (the emulator treats every request so)."""
    return config.new_client_from_config(str(env.kubeconfig_path))


def states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


# The tests read and prepare the cluster in-process, past RBAC: what the policy saw is what the
# DAG asked for.
def selector(env) -> str:
    return env.cluster.store.get(SERVICES, "default", "acme-shop-svc")["spec"]["selector"]["color"]


def replicas(env, deployment: str) -> int:
    found = env.cluster.store.find(DEPLOYMENTS, "default", deployment)
    return int(found["spec"].get("replicas", 1)) if found else 0


def leave_green_from_an_earlier_release(env) -> None:
    """Green deployments at 0 replicas, as a failed or rolled-back release leaves them."""
    from switchyard.release.colours import layout
    from switchyard.release.workloads import recolour

    for tier in layout(env.model).tiers.values():
        live = env.cluster.store.get(DEPLOYMENTS, "default", tier["blue"])
        env.cluster.store.create(DEPLOYMENTS, "default", recolour(live, "green", "v1", 0, "earlier-run"))


# ---------------------------------------------------------------------------------------- whole DAGs
def test_release_with_migration_onto_existing_standby_switch_and_cleanup_then_rollback_dag_are_allowed(
    rbac_cluster, release_dag, rollback_dag
):
    env = rbac_cluster([RBAC_MANIFEST, CRD_READER])
    leave_green_from_an_earlier_release(env)
    run = release_dag.test(run_conf={"version": "v2", "run_migration": "yes", **FAST})
    assert refusals(env.rbac) == []
    assert run.state == "success", states(run)
    used = {(r.verb, r.resource) for r in env.rbac.allowed}
    # The run went through the steps that write: the proof covers them, not only reads.
    assert {
        ("create", "leases"),
        ("update", "deployments"),
        ("create", "jobs"),
        ("get", "jobs/status"),
        ("get", "services/proxy"),
        ("patch", "services"),
        ("patch", "deployments/scale"),
        ("update", "configmaps"),
        ("delete", "leases"),
    } <= used
    assert selector(env) == "green"
    assert not any(r.resource == "secrets" for r in env.rbac.allowed)

    # Then the rollback DAG takes the app back to v1, a version from its history.
    from switchyard.release.records import ReleaseHistory

    ReleaseHistory(client.CoreV1Api(kube(env)), "acme-shop", "default").update(  # the release's own grants
        lambda records: [type(records[0])(0, "v1", "blue", "Superseded", "seeded"), *records]
    )
    back = rollback_dag.test(run_conf={"version": "v1", "grace_seconds": 0, "watch_minutes": 0})
    assert refusals(env.rbac) == []
    assert back.state == "success", states(back)
    assert selector(env) == "blue"


def test_a_payments_release_through_its_gateway_configmap_is_allowed(rbac_cluster, payments_dag):
    """The second app, switched by its gateway ConfigMap (release.switch: gateway_configmap), under
    the same manifest: its own Role's names, the gateway ConfigMap patched by name."""
    env = rbac_cluster([RBAC_MANIFEST], model=PAYMENTS / "models" / "payments.model.yaml",
                       behaviours=PAYMENTS / "behaviours" / "payments.yaml")  # fmt: skip
    run = payments_dag.test(run_conf={"version": "v2", **FAST})
    assert refusals(env.rbac) == []
    assert run.state == "success", states(run)
    used = {(r.verb, r.resource, r.name) for r in env.rbac.allowed}
    assert ("patch", "configmaps", "api-gateway") in used  # the switch itself
    gateway = env.cluster.store.get(CONFIG_MAPS, "default", "api-gateway")
    assert gateway["data"]["upstream"] == "payments-svc-green.default.svc.cluster.local:80"
    assert not any(r.resource == "secrets" for r in env.rbac.allowed)


def test_rollback_after_the_switch_is_allowed(rbac_cluster, release_dag):
    env = rbac_cluster([RBAC_MANIFEST, CRD_READER])
    broken = threading.Event()

    def break_green_once_it_serves() -> None:
        """The new colour crashes once the switch is verified: the queue workers are handed over
        (blue's to 0) only after the Service's endpoints are green."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not broken.is_set():
            try:
                if selector(env) == "green" and replicas(env, "acme-shop-consumer-blue") == 0:
                    env.emulator.set_behaviour("v2", "crash_loop")
                    broken.set()
                    return
            except Exception:  # mid-change: poll again
                pass
            time.sleep(0.2)

    threading.Thread(target=break_green_once_it_serves, daemon=True).start()
    run = release_dag.test(
        run_conf={
            "version": "v2",
            "run_migration": "no",
            **FAST,
            "watch_minutes": 0.5,
            "watch_interval_seconds": 2,
        }
    )
    broken.set()
    assert refusals(env.rbac) == []
    assert states(run)["switch_traffic"] == "success", states(run)
    assert states(run)["rollback"] == "success", states(run)
    assert run.state == "failed"  # a rolled-back release is a failed run
    assert selector(env) == "blue"
    assert {("create", "deployments"), ("patch", "services")} <= {
        (r.verb, r.resource) for r in env.rbac.allowed
    }


def test_drift_check_releasing_a_stale_lock_is_allowed(rbac_cluster, drift_dag, tmp_path, monkeypatch):
    """The hourly drift check: every comparison, and the one write it may make (a stale lock).
    The manifest grants acme-shop's objects and the cluster holds acme-shop alone: the check runs
    over that model only."""
    from switchyard.release.colours import layout
    from switchyard.release.lock import ReleaseLock
    from switchyard.release.records import ReleaseHistory

    env = rbac_cluster([RBAC_MANIFEST, CRD_READER])
    api = kube(env)
    images = {
        c: env.cluster.store.get(DEPLOYMENTS, "default", c)["spec"]["template"]["spec"]["containers"][0][
            "image"
        ]
        for c in layout(env.model).components("blue")
    }
    history = ReleaseHistory(client.CoreV1Api(api), "acme-shop", "default")  # the release's own grants
    history.begin("manual__2026-01-01T00:00:00+00:00", "release_acme_shop", "v1", "blue", previous_version="")
    history.finish("manual__2026-01-01T00:00:00+00:00", "Active", images=images)
    ReleaseLock(client.CoordinationV1Api(api), "acme-shop", "default").acquire(
        "manual__2026-01-05T03:00:00+00:00", "release_acme_shop", "v2", ttl_seconds=6 * 3600
    )
    monkeypatch.setenv("SWITCHYARD_INCLUDE_DIR", str(single_model_include(tmp_path, "acme-shop")))
    env.rbac.allowed.clear()
    run = drift_dag.test(run_conf={"release_stale_locks": True, "report_only": True})
    assert refusals(env.rbac) == []
    assert run.state == "success", states(run)
    assert ("delete", "leases") in {(r.verb, r.resource) for r in env.rbac.allowed}


# ------------------------------------------------------------------------------- without the CRD reader
def test_without_the_crd_reader_the_operator_is_unknown_and_gates_cannot_pass(rbac_cluster):
    """deploy/rbac.yaml alone: the CRD list is refused, external-secrets' crd_registered is
    forbidden (unknown, not false), its deployment is still read — and the gate, which never
    calls unknown healthy, cannot vouch for the operator."""
    from switchyard.engine.diagnose import diagnose
    from switchyard.engine.model import load_model
    from switchyard.probes import LiveProbe
    from switchyard.release.spec import release_spec

    env = rbac_cluster([RBAC_MANIFEST])
    model = load_model(env.model_path)
    probe = LiveProbe(model, cache_seconds=0)
    operator = model.components["external-secrets"]
    crd = probe.probe(operator, "crd_registered")
    assert crd.status == "forbidden" and crd.value is None
    assert "customresourcedefinitions" in crd.detail
    assert probe.probe(operator, "deployment_ready").value is True
    assert [r.describe() for r in env.rbac.denied] == [
        "list customresourcedefinitions.apiextensions.k8s.io in cluster scope"
    ]
    assert any("forbidden for " + SA_USER in e["message"] for e in env.emulator.log("rbac"))

    shape = release_spec(model).layout
    verdict = diagnose(shape.live_path("blue"), probe, scope=shape.live_scope("blue")).verdict
    assert verdict.outcome == "unknown" and not verdict.passed
    assert "external-secrets" in verdict.unvouched


# ------------------------------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("call", "wording"),
    [
        (
            lambda core, apps: core.read_namespaced_secret("acme-shop-env", "default"),
            'secrets "acme-shop-env" is forbidden',
        ),
        (lambda core, apps: core.list_namespaced_secret("external-secrets"), "secrets is forbidden"),
        (  # a deployment outside the release's names (shared search), even with deployment rights
            lambda core, apps: apps.patch_namespaced_deployment(
                "opensearch", "default", {"spec": {"replicas": 0}}
            ),
            'deployments.apps "opensearch" is forbidden',
        ),
        (lambda core, apps: core.list_namespace(), "at the cluster scope"),
        (  # another namespace altogether
            lambda core, apps: apps.list_namespaced_deployment("kube-system"),
            'in the namespace "kube-system"',
        ),
        (  # the operator's namespace is read-only
            lambda core, apps: apps.patch_namespaced_deployment_scale(
                "external-secrets", "external-secrets", {"spec": {"replicas": 0}}
            ),
            "deployments.apps",
        ),
    ],
    ids=[
        "read-secret",
        "list-secrets",
        "patch-other-deployment",
        "cluster-scope",
        "other-namespace",
        "write-operator-namespace",
    ],
)
def test_calls_outside_the_rules_are_refused_and_logged(rbac_cluster, call, wording):
    env = rbac_cluster([RBAC_MANIFEST, CRD_READER])
    api = kube(env)
    with pytest.raises(client.ApiException) as refused:
        call(client.CoreV1Api(api), client.AppsV1Api(api))
    assert refused.value.status == 403
    status = json.loads(refused.value.body)
    assert status["kind"] == "Status" and status["reason"] == "Forbidden" and status["code"] == 403
    assert wording in status["message"] and SA_USER in status["message"]
    [logged] = env.emulator.log("rbac")
    assert "forbidden for " + SA_USER in logged["message"]


def test_allowed_calls_pass_and_discovery_is_open(rbac_cluster):
    env = rbac_cluster([RBAC_MANIFEST])
    api = kube(env)
    assert client.CoreV1Api(api).read_namespaced_service("acme-shop-svc", "default").spec.selector
    assert client.VersionApi(api).get_code().git_version.startswith("v1.")
    assert client.CoreV1Api(api).read_namespaced_config_map("switchyard-releases-acme-shop", "default").data
    assert not env.rbac.denied


# ------------------------------------------------------------------------------------- the manifest
def test_the_eks_group_holds_the_same_grants_as_the_service_account():
    sa = RbacPolicy.load([RBAC_MANIFEST, CRD_READER])
    eks = RbacPolicy.load(
        [RBAC_MANIFEST, CRD_READER],
        user="arn:aws:sts::123456789012:assumed-role/airflow-switchyard/session",
        groups=("switchyard-release", "system:authenticated"),
    )
    assert sa.user == SA_USER
    assert {ns: rules for ns, rules in sa.grants.items()} == {ns: rules for ns, rules in eks.grants.items()}
    nobody = RbacPolicy.load([RBAC_MANIFEST], user="someone", groups=("system:authenticated",))
    assert nobody.grants == {}


def test_nothing_cluster_wide_and_no_secrets_in_the_roles():
    policy = RbacPolicy.load([RBAC_MANIFEST])
    assert set(policy.grants) == {"default", "external-secrets"}  # no cluster-wide grant
    for rules in policy.grants.values():
        for rule in rules:
            assert "*" not in rule.verbs + rule.resources + rule.api_groups
            assert not {"secrets", "pods/exec", "pods/portforward", "roles", "rolebindings"} & set(
                rule.resources
            )
    observer = policy.grants["external-secrets"]
    assert {v for r in observer for v in r.verbs} == {"get", "list", "watch"}  # read-only there
    crd = RbacPolicy.load([RBAC_MANIFEST, CRD_READER]).grants[None]
    assert [(r.resources, r.verbs) for r in crd] == [(("customresourcedefinitions",), ("get", "list"))]


def test_resource_names_follow_the_models():
    """The names the Roles pin are the ones the DAGs derive from the models (acme-shop switched by
    its Service selector, payments by its gateway ConfigMap), and no others."""
    from switchyard.engine.model import load_model
    from switchyard.release.lock import lease_name
    from switchyard.release.records import configmap_name
    from switchyard.release.spec import release_spec
    from switchyard.release.switch import preview_service_name

    models = RBAC_MANIFEST.parents[1] / "include" / "models"
    specs = [release_spec(load_model(models / f"{app}.model.yaml")) for app in ("acme-shop", "payments")]
    assert {s.namespace for s in specs} == {"default"}
    policy = RbacPolicy.load([RBAC_MANIFEST])
    rules = policy.grants["default"]

    def names(resource: str, verb: str) -> set[str]:
        return {n for r in rules if resource in r.resources and verb in r.verbs for n in r.resource_names}

    per_colour, services, proxies, leases, records, switches = set(), set(), set(), set(), set(), set()
    for spec in specs:
        per_colour |= set(spec.layout.components("blue") + spec.layout.components("green"))
        previews = {preview_service_name(spec.service, c) for c in ("blue", "green")}
        services |= previews | ({spec.service} if spec.switch == "service_selector" else set())
        proxies |= {f"{p}:{spec.smoke_port}" for p in previews}
        leases.add(lease_name(spec.app))
        records.add(configmap_name(spec.app))
        if spec.switch == "gateway_configmap":
            switches.add(spec.gateway["configmap"])
    assert names("deployments", "patch") == per_colour == names("deployments/scale", "patch")
    assert names("services", "patch") == services
    assert names("services/proxy", "get") == proxies
    assert names("leases", "update") == leases
    assert names("configmaps", "update") == records
    assert names("configmaps", "patch") == switches == {"api-gateway"}  # only the gateway's is patched
    # a rule with resourceNames never matches create: Kubernetes cannot check a name there
    assert policy.allows(Request("create", "", "services", "default", None))
    assert not policy.allows(Request("create", "", "configmaps", "default", None))
