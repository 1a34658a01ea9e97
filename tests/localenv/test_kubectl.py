"""kubectl conformance: the real kubectl (Debian's 1.32) against the emulator.

Each test runs what a release engineer types (the runbook's commands, seed 003, adapted to
acme-shop, and the common ones) and asserts what a real API server prints or refuses. No shell:
kubectl is run with an argument list.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
pytestmark = pytest.mark.skipif(not Path(KUBECTL).exists(), reason="kubectl is not installed")


@dataclass
class Kubectl:
    kubeconfig: Path
    cache_dir: Path
    namespace: str

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        command = [
            KUBECTL,
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.cache_dir),
            "-n",
            self.namespace,
            *args,
        ]
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def fails(self, *args: str, stdin: str | None = None) -> str:
        """kubectl must refuse: returns its error output."""
        result = self.run(*args, stdin=stdin, check=False)
        assert result.returncode != 0, f"kubectl {' '.join(args)} succeeded:\n{result.stdout}"
        return result.stderr

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "-o", "json").stdout)


@pytest.fixture
def kubectl(local_env, namespace, tmp_path_factory) -> Kubectl:
    return Kubectl(local_env.kubeconfig_path, tmp_path_factory.getbasetemp() / "kubectl-cache", namespace)


# ------------------------------------------------------------------ 1. protobuf request bodies
@pytest.mark.parametrize(
    "args, printed",
    [
        (("create", "configmap", "settings", "--from-literal=mode=blue"), "configmap/settings created"),
        (("create", "secret", "generic", "db", "--from-literal=password=s3cr3t"), "secret/db created"),
        (
            ("create", "deployment", "web", "--image=shop:v1", "--replicas=3", "--port=8080"),
            "deployment.apps/web created",
        ),
        (("create", "job", "migrate", "--image=shop:v1", "--", "migrate"), "job.batch/migrate created"),
        (("create", "serviceaccount", "deployer"), "serviceaccount/deployer created"),
        (("create", "service", "clusterip", "web", "--tcp=80:8080"), "service/web created"),
    ],
)
def test_typed_creates_send_protobuf_and_are_decoded(kubectl, args, printed):
    assert kubectl.run(*args).stdout.strip() == printed


def test_protobuf_created_objects_read_back_as_sent(kubectl):
    kubectl.run("create", "secret", "generic", "db", "--from-literal=password=s3cr3t")
    assert kubectl.run("get", "secret", "db", "-o", "jsonpath={.data.password}").stdout == "czNjcjN0"
    kubectl.run("create", "deployment", "web", "--image=shop:v1", "--replicas=0", "--port=8080")
    spec = kubectl.json("get", "deployment", "web")["spec"]
    assert spec["replicas"] == 0  # an explicit zero survives the protobuf decoding
    assert spec["selector"] == {"matchLabels": {"app": "web"}}
    container = spec["template"]["spec"]["containers"][0]
    assert container["image"] == "shop:v1"
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]  # defaulted like a real server
    assert "stdin" not in container and "generation" not in spec["template"]["metadata"]


def test_create_namespace(local_env, tmp_path):
    name = "t-kubectl-ns"
    cli = Kubectl(local_env.kubeconfig_path, tmp_path, "default")
    assert cli.run("create", "namespace", name).stdout.strip() == f"namespace/{name} created"
    assert cli.run("get", "namespace", name, "-o", "jsonpath={.status.phase}").stdout == "Active"
    cli.run("delete", "namespace", name, "--wait=false")


# ------------------------------------------------------------------ 3. delete --dry-run=server
def test_delete_dry_run_server_keeps_the_object(kubectl):
    kubectl.run("create", "configmap", "settings", "--from-literal=mode=blue")
    out = kubectl.run("delete", "configmap", "settings", "--dry-run=server").stdout
    assert out.strip() == 'configmap "settings" deleted (server dry run)'
    assert kubectl.run("get", "configmap", "settings", "-o", "name").stdout.strip() == "configmap/settings"


# ------------------------------------------------------------------ 4. endpoints keep kind/apiVersion
def test_endpoints_read_back_with_kind_after_the_controller_updates_them(kubectl, emulator):
    kubectl.run("create", "deployment", "web", "--image=shop:v1", "--replicas=2", "--port=8080")
    kubectl.run("expose", "deployment", "web", "--port=80", "--target-port=8080")
    emulator.advance(5)
    endpoints = kubectl.json("get", "endpoints", "web")
    assert (endpoints["kind"], endpoints["apiVersion"]) == ("Endpoints", "v1")
    assert len(endpoints["subsets"][0]["addresses"]) == 2
    described = kubectl.run("describe", "endpoints", "web").stdout
    assert "Name:         web" in described and "8080" in described
    slices = kubectl.json("get", "endpointslices", "-l", "kubernetes.io/service-name=web")["items"]
    assert slices and slices[0]["kind"] == "EndpointSlice"


# ------------------------------------------------------------------ 2. validation and immutability
BAD_LABEL = """apiVersion: v1
kind: ConfigMap
metadata:
  name: bad-label
  labels:
    version: v1.2.3+build/7
data:
  mode: blue
"""

TYPO = """apiVersion: v1
kind: ConfigMap
metadata:
  name: typo
dataa:
  mode: blue
"""


def test_an_invalid_label_value_is_refused_with_422(kubectl):
    err = kubectl.fails("apply", "-f", "-", stdin=BAD_LABEL)
    assert (
        'The ConfigMap "bad-label" is invalid: metadata.labels: Invalid value: "v1.2.3+build/7": '
        "a valid label must be an empty string or consist of alphanumeric characters" in err
    )
    assert kubectl.run("get", "configmaps", "-o", "name").stdout.count("bad-label") == 0


def test_an_unknown_field_is_refused_by_strict_validation_and_dropped_with_a_warning(kubectl):
    err = kubectl.fails("apply", "-f", "-", stdin=TYPO)  # kubectl asks for fieldValidation=Strict
    assert (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: '
        'unknown field "dataa"' in err
    )
    result = kubectl.run("create", "-f", "-", "--validate=warn", stdin=TYPO)
    assert 'Warning: unknown field "dataa"' in result.stderr
    assert "dataa" not in kubectl.json("get", "configmap", "typo")  # pruned, as a real server does
    result = kubectl.run("patch", "configmap", "typo", "--type=merge", "-p", '{"spec": {"x": 1}}')
    assert result.stdout.strip() == "configmap/typo patched (no change)"
    assert 'Warning: unknown field "spec"' in result.stderr


def test_immutable_fields_are_refused(kubectl):
    kubectl.run("create", "deployment", "web", "--image=shop:v1")
    err = kubectl.fails(
        "patch",
        "deployment",
        "web",
        "-p",
        '{"spec": {"selector": {"matchLabels": {"app": "x"}}, '
        '"template": {"metadata": {"labels": {"app": "x"}}}}}',
    )
    assert (
        'The Deployment "web" is invalid: spec.selector: Invalid value: ' in err
        and "field is immutable" in err
    )
    kubectl.run("create", "job", "migrate", "--image=shop:v1")
    err = kubectl.fails("set", "image", "job/migrate", "migrate=shop:v2")
    assert (
        'Job.batch "migrate" is invalid: spec.template: Invalid value: ' in err
        and "field is immutable" in err
    )
    kubectl.run("create", "service", "clusterip", "web", "--tcp=80:8080")
    err = kubectl.fails("patch", "service", "web", "-p", '{"spec": {"clusterIP": "10.96.250.250"}}')
    assert (
        'The Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.250.250"]: '
        "may not change once set" in err
    )
    # A replace that leaves clusterIP out keeps the allocated one.
    service = kubectl.json("get", "service", "web")
    allocated = service["spec"]["clusterIP"]
    del service["spec"]["clusterIP"], service["spec"]["clusterIPs"], service["metadata"]["resourceVersion"]
    kubectl.run("replace", "-f", "-", stdin=json.dumps(service))
    assert kubectl.json("get", "service", "web")["spec"]["clusterIP"] == allocated


def test_a_field_selector_on_an_unindexed_field_is_refused(kubectl):
    err = kubectl.fails("get", "pods", "--field-selector", "spec.foo=bar")
    assert err.strip().endswith("field label not supported: spec.foo")
    assert kubectl.run("get", "pods", "--field-selector", "status.phase=Running").returncode == 0


# ------------------------------------------------------------------ 5. logs
def test_logs_since_previous_timestamps_and_follow(kubectl, emulator, local_env):
    emulator.set_behaviour("shop:logs-crash", "crash_loop", restart_interval=10)
    kubectl.run("create", "deployment", "web", "--image=shop:logs-crash")
    emulator.advance(1 + 35)  # restarts 0..3 written
    pod = kubectl.run("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}").stdout
    current = kubectl.run("logs", pod).stdout
    assert current.startswith("started shop:logs-crash\n") and "FATAL" in current
    previous = kubectl.run("logs", pod, "--previous").stdout
    assert "FATAL" in previous
    stamped = kubectl.run("logs", pod, "--timestamps").stdout.splitlines()
    assert stamped and all(line[:4].isdigit() and line[10] == "T" and "Z " in line for line in stamped)
    # "errors in the last minute" (the runbook): lines written before the window are left out
    emulator.set_behaviour("shop:logs-crash", "never_ready")
    emulator.advance(120)
    assert kubectl.run("logs", pod, "--since=1m").stdout == ""
    assert kubectl.run("logs", pod, "--since=10m").stdout != ""
    err = kubectl.fails("logs", "deployment/missing")
    assert 'deployments.apps "missing" not found' in err


def test_logs_follow_streams_until_the_job_pod_ends(kubectl, emulator, local_env):
    local_env.cluster.clock.set_scale(20)
    try:
        kubectl.run("create", "job", "migrate", "--image=shop:v2", "--", "migrate")
        emulator.advance(1.5)  # the pod is running
        result = kubectl.run("logs", "-f", "job/migrate", timeout=30)
    finally:
        local_env.cluster.clock.set_scale(1)
    assert result.stdout.splitlines()[0] == "started shop:v2"
    assert result.stdout.splitlines()[-1] == "exit code 0"


# ------------------------------------------------------------------ 8. LoadBalancer Services
def test_a_load_balancer_service_gets_an_elb_host_name_and_node_ports(kubectl, emulator):
    kubectl.run("create", "service", "loadbalancer", "edge", "--tcp=80:8080")
    emulator.advance(1)
    service = kubectl.json("get", "service", "edge")
    hostname = service["status"]["loadBalancer"]["ingress"][0]["hostname"]
    assert hostname.endswith(".eu-central-1.elb.amazonaws.com")
    node_port = service["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    # the runbook reads the address with jsonpath
    jsonpath = "jsonpath={.status.loadBalancer.ingress[0].hostname}"
    assert kubectl.run("get", "service", "edge", "-o", jsonpath).stdout == hostname
    row = kubectl.run("get", "service", "edge", "--no-headers").stdout.split()
    assert row[1:5] == ["LoadBalancer", service["spec"]["clusterIP"], hostname, f"80:{node_port}/TCP"]
    kubectl.run("annotate", "service", "edge", "team=shop")  # an update keeps the allocated node port
    assert kubectl.json("get", "service", "edge")["spec"]["ports"][0]["nodePort"] == node_port


# ------------------------------------------------------------------ 9. get -w, -o wide, auth
def test_get_wide_adds_the_real_columns(kubectl, emulator):
    kubectl.run("create", "deployment", "web", "--image=shop:v1", "--replicas=2")
    emulator.advance(4)
    header = kubectl.run("get", "deployment", "web", "-o", "wide").stdout.splitlines()[0].split()
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert kubectl.run("get", "deployment", "web", "-o", "wide", "--no-headers").stdout.split()[5:] == [
        "shop",
        "shop:v1",
        "app=web",
    ]
    header = kubectl.run("get", "pods", "-o", "wide").stdout.splitlines()[0]
    assert header.split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert "NOMINATED NODE" in header and "READINESS GATES" in header
    assert kubectl.run("get", "deployment", "web").stdout.splitlines()[0].split() == [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
    ]


def test_get_watch_prints_the_columns_of_a_plain_get(kubectl, emulator):
    kubectl.run("create", "deployment", "web", "--image=shop:v1")
    emulator.advance(2)
    result = kubectl.run("get", "events", "-w", "--request-timeout=2s", check=False)
    header = result.stdout.splitlines()[0].split()
    assert header == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("Started container shop" in line for line in result.stdout.splitlines()[1:])


def test_auth_can_i_and_whoami_without_and_with_rbac(kubectl, tmp_path):
    assert kubectl.run("auth", "can-i", "create", "deployments").stdout.strip() == "yes"
    assert "kubernetes-admin" in kubectl.run("auth", "whoami").stdout
    from switchyard.localenv.environment import ROOT, LocalEnvironment

    with LocalEnvironment(
        None, with_aws=False, rbac=ROOT / "deploy" / "rbac.yaml", state_dir=tmp_path
    ) as env:
        release = Kubectl(env.kubeconfig_path, tmp_path / "cache", "default")
        # the release identity's pre-flight: the live Service's selector, by name only
        assert release.run("auth", "can-i", "patch", "service/acme-shop-svc").stdout.strip() == "yes"
        assert release.run("auth", "can-i", "patch", "services", check=False).stdout.strip() == "no"
        refused = release.run("auth", "can-i", "delete", "services", check=False)
        assert (refused.returncode, refused.stdout.strip()) == (1, "no")
        assert release.run("auth", "can-i", "get", "pods", "--subresource=log").stdout.strip() == "yes"
        assert (
            release.run(
                "auth", "can-i", "create", "deployments", "-n", "kube-system", check=False
            ).stdout.strip()
            == "no"
        )
        who = release.run("auth", "whoami", "-o", "json").stdout
        assert (
            json.loads(who)["status"]["userInfo"]["username"]
            == "system:serviceaccount:airflow:switchyard-airflow"
        )


# ------------------------------------------------------------------ common commands (runbook, seed 003)
WEB = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: "shop:v1"}]
"""


def test_apply_twice_then_server_side_then_diff(kubectl):
    assert kubectl.run("apply", "-f", "-", stdin=WEB).stdout.strip() == "deployment.apps/web created"
    assert kubectl.run("apply", "-f", "-", stdin=WEB).stdout.strip() == "deployment.apps/web unchanged"
    assert (
        kubectl.run("apply", "--server-side", "-f", "-", stdin=WEB).stdout.strip()
        == "deployment.apps/web serverside-applied"
    )
    same = kubectl.run("diff", "-f", "-", stdin=WEB, check=False)
    assert (same.returncode, same.stdout) == (0, "")
    changed = kubectl.run("diff", "-f", "-", stdin=WEB.replace("shop:v1", "shop:v2"), check=False)
    assert changed.returncode == 1
    assert "-      - image: shop:v1" in changed.stdout and "+      - image: shop:v2" in changed.stdout
    assert (
        kubectl.json("get", "deployment", "web")["spec"]["template"]["spec"]["containers"][0]["image"]
        == "shop:v1"
    )


def test_three_patch_types_scale_rollout_status_and_wait(kubectl, emulator):
    kubectl.run("apply", "-f", "-", stdin=WEB)
    assert (
        kubectl.run("patch", "deployment", "web", "-p", '{"spec": {"replicas": 3}}').stdout.strip()
        == "deployment.apps/web patched"
    )
    kubectl.run(
        "patch", "deployment", "web", "--type=merge", "-p", '{"metadata": {"annotations": {"a": "b"}}}'
    )
    kubectl.run(
        "patch",
        "deployment",
        "web",
        "--type=json",
        "-p",
        '[{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "shop:v2"}]',
    )
    assert (
        kubectl.run("scale", "deployment", "web", "--replicas=4").stdout.strip()
        == "deployment.apps/web scaled"
    )
    emulator.advance(5)
    assert (
        kubectl.run("rollout", "status", "deployment/web", "--timeout=10s").stdout.splitlines()[-1]
        == 'deployment "web" successfully rolled out'
    )
    assert (
        kubectl.run("wait", "--for=condition=Available", "deployment/web", "--timeout=10s").stdout.strip()
        == "deployment.apps/web condition met"
    )
    deployment = kubectl.json("get", "deployment", "web")
    assert deployment["metadata"]["annotations"]["a"] == "b"
    assert (deployment["spec"]["replicas"], deployment["status"]["readyReplicas"]) == (4, 4)
    images = kubectl.run(
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={range .items[*]}{.spec.containers[0].image}{'\\n'}{end}",
    ).stdout.split()
    assert images == ["shop:v2"] * 4


def test_rollout_status_times_out_on_a_crash_looping_image(kubectl, emulator):
    emulator.set_behaviour("shop:crash-rollout", "crash_loop")
    kubectl.run("create", "deployment", "web", "--image=shop:crash-rollout")
    emulator.advance(30)
    result = kubectl.run("rollout", "status", "deployment/web", "--timeout=2s", check=False)
    assert result.returncode == 1
    assert (
        'Waiting for deployment "web" rollout to finish: 0 of 1 updated replicas are available...'
        in result.stdout
    )
    assert "timed out waiting for the condition" in result.stderr
    row = kubectl.run("get", "pods", "-l", "app=web", "--no-headers").stdout.split()
    assert row[1:3] == ["0/1", "CrashLoopBackOff"]


def test_config_error_shows_in_get_describe_and_events(kubectl, emulator):
    manifest = WEB.replace(
        'image: "shop:v1"}', 'image: "shop:v1", envFrom: [{secretRef: {name: app-secrets}}]}'
    )
    kubectl.run("apply", "-f", "-", stdin=manifest)
    emulator.advance(10)
    rows = [
        line.split()
        for line in kubectl.run("get", "pods", "-l", "app=web", "--no-headers").stdout.splitlines()
    ]
    assert [r[1:4] for r in rows] == [["0/1", "CreateContainerConfigError", "0"]] * 2
    described = kubectl.run("describe", "pods", "-l", "app=web").stdout
    assert "Reason:       CreateContainerConfigError" in described
    assert 'Error: secret "app-secrets" not found' in described
    kubectl.run("create", "secret", "generic", "app-secrets", "--from-literal=DB_PASSWORD=x")
    emulator.advance(4)
    assert kubectl.run("rollout", "status", "deployment/web", "--timeout=5s").returncode == 0


# ------------------------------------------------------------------ 6. ReplicaSets
def test_a_rolling_update_surges_by_max_surge_and_keeps_replica_sets(kubectl, emulator):
    kubectl.run("create", "deployment", "web", "--image=shop:v1", "--replicas=3")
    emulator.advance(4)
    kubectl.run("set", "image", "deployment/web", "shop=shop:v2")
    emulator.advance(0.1)
    # maxSurge 25 % of 3 rounds up to 1 and maxUnavailable rounds down to 0: 4 pods, never 6
    status = kubectl.json("get", "deployment", "web")["status"]
    assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"]) == (4, 1, 3)
    sets = {
        rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs
        for rs in kubectl.json("get", "replicasets", "-l", "app=web")["items"]
    }
    assert {image: rs["spec"]["replicas"] for image, rs in sets.items()} == {"shop:v1": 3, "shop:v2": 1}
    assert sets["shop:v2"]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    owner = sets["shop:v2"]["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Deployment", "web", True)
    pod = kubectl.json("get", "pods", "-l", "app=web")["items"][0]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
    emulator.advance(20)
    rows = sorted(line.split()[1:4] for line in kubectl.run("get", "rs", "--no-headers").stdout.splitlines())
    assert rows == [["0", "0", "0"], ["3", "3", "3"]]  # the old ReplicaSet stays, scaled to 0


def test_rollout_history_and_undo(kubectl, emulator):
    kubectl.run("create", "deployment", "web", "--image=shop:v1", "--replicas=2")
    emulator.advance(4)
    kubectl.run("set", "image", "deployment/web", "shop=shop:v2")
    kubectl.run("annotate", "deployment/web", "kubernetes.io/change-cause=release v2")
    emulator.advance(12)
    history = kubectl.run("rollout", "history", "deployment/web").stdout.splitlines()
    assert [line.split(None, 1) for line in history[2:4]] == [["1", "<none>"], ["2", "release v2"]]
    assert (
        kubectl.run("rollout", "undo", "deployment/web").stdout.strip() == "deployment.apps/web rolled back"
    )
    emulator.advance(12)
    deployment = kubectl.json("get", "deployment", "web")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "shop:v1"
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    # the undo reused revision 1's ReplicaSet (now revision 3): still two ReplicaSets
    names = kubectl.run("get", "rs", "-o", "name").stdout.split()
    assert len(names) == 2
    revisions = [
        line.split()[0]
        for line in kubectl.run("rollout", "history", "deployment/web").stdout.splitlines()[2:]
        if line.strip()
    ]
    assert revisions == ["2", "3"]


# ------------------------------------------------------------------ 9. paging, sizes, bad bodies
def test_get_pages_with_limit_and_continue(kubectl):
    for name in ("a", "b", "c"):
        kubectl.run("create", "configmap", name, "--from-literal=k=v")
    assert kubectl.run("get", "configmaps", "--chunk-size=1", "-o", "name").stdout.split() == [
        "configmap/a",
        "configmap/b",
        "configmap/c",
    ]
    raw = json.loads(
        kubectl.run("get", "--raw", f"/api/v1/namespaces/{kubectl.namespace}/configmaps?limit=2").stdout
    )
    assert (
        len(raw["items"]) == 2 and raw["metadata"]["continue"] and raw["metadata"]["remainingItemCount"] >= 1
    )


def test_an_oversized_object_is_refused_with_413(kubectl, tmp_path):
    big = tmp_path / "blob.txt"
    big.write_text("x" * (4 * 1024 * 1024))
    err = kubectl.fails("create", "configmap", "big", f"--from-file={big}")
    assert "Request entity too large: limit is 3145728" in err


def test_a_body_of_the_wrong_shape_is_a_400_not_a_500(kubectl):
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": "oops"}})
    # kubectl refuses this itself; --raw sends it as it is
    err = kubectl.fails(
        "create", "--raw", f"/api/v1/namespaces/{kubectl.namespace}/configmaps", "-f", "-", stdin=body
    )
    assert "Error from server (BadRequest)" in err
