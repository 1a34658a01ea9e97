"""Seeding from models, the connection files, kubectl against the emulator, and the `up` command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
import yaml

from switchyard.localenv.environment import ROOT, LocalEnvironment
from switchyard.localenv.store import DEPLOYMENTS

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed on this machine")


def test_acme_shop_seeding_covers_every_probed_component(kube, local_env):
    deployments = {
        (d.metadata.namespace, d.metadata.name): d
        for d in kube.apps.list_deployment_for_all_namespaces().items
    }
    assert set(deployments) == {
        ("default", "acme-shop-nginx-blue"),
        ("default", "acme-shop-php-fpm-blue"),
        ("default", "acme-shop-consumer-blue"),
        ("default", "acme-shop-cron"),
        ("default", "opensearch"),
        ("external-secrets", "external-secrets"),
    }
    assert all(d.status.ready_replicas == d.spec.replicas for d in deployments.values())
    consumer = deployments[("default", "acme-shop-consumer-blue")].spec.template.metadata.labels
    assert consumer["switchyard.io/serves-traffic"] == "false"  # no Service reaches the consumers
    nginx = deployments[("default", "acme-shop-nginx-blue")].spec.template.metadata.labels
    assert "switchyard.io/serves-traffic" not in nginx
    assert local_env.seed_report.skipped["acme-shop-nginx-green"].startswith("green is the standby colour")
    assert set(local_env.seed_report.skipped) >= {"cloudflare", "scheduled_jobs", "async_jobs"}

    service = kube.core.read_namespaced_service("acme-shop-svc", "default")
    assert service.spec.selector == {"app": "acme-shop", "component": "nginx", "color": "blue"}
    endpoints = {
        a.target_ref.name
        for s in kube.core.read_namespaced_endpoints("acme-shop-svc", "default").subsets
        for a in s.addresses
    }
    nginx_pods = {
        p.metadata.name
        for p in kube.core.list_namespaced_pod(
            "default", label_selector="app=acme-shop,component=nginx,color=blue"
        ).items
    }
    assert endpoints == nginx_pods and len(nginx_pods) == 2

    from kubernetes import client

    ingress = client.NetworkingV1Api(kube.api).read_namespaced_ingress("acme-shop-ingress", "default")
    assert ingress.status.load_balancer.ingress[0].hostname.endswith(".eu-central-1.elb.amazonaws.com")
    assert ingress.spec.rules[0].http.paths[0].backend.service.name == "acme-shop-svc"
    crds = (
        client.ApiextensionsV1Api(kube.api)
        .list_custom_resource_definition(label_selector="switchyard.io/operator=external-secrets")
        .items
    )
    assert [c.metadata.name for c in crds] == ["externalsecrets.external-secrets.io"]

    records = json.loads(local_env.paths["aws_resources"].read_text())
    assert records["rds"]["aws_id"] == "acme-shop-stage-rds"
    assert records["cloudfront"]["resource"] == "EABCDEF123456X"


def test_another_model_seeds_the_same_way(tmp_path):
    model = tmp_path / "bookshop.model.yaml"
    model.write_text(
        textwrap.dedent("""\
        meta:
          name: bookshop
          version: "1.0"
          providers: [mgt-tool/kubernetes@^3.0.0, mgt-tool/aws@^1.0.0]
          vars: {namespace: books, region: us-east-1}
        components:
          front:
            type: ingress
            depends: [{on: bookshop-web}]
          bookshop-web:
            type: service
            depends: [{on: bookshop-api-blue}, {on: bookshop-api-green}]
          bookshop-api-blue:
            type: deployment
            vars: {replicas: "3"}
            depends: [{on: db}]
          bookshop-api-green:
            type: deployment
            vars: {replicas: "3"}
            depends: [{on: db}]
          db:
            type: rds_instance
            providers: [mgt-tool/aws@^1.0.0]
            resource: bookshop-db
        """)
    )
    with LocalEnvironment(model, state_dir=tmp_path / "state") as env:
        from kubernetes import client, config

        api = config.new_client_from_config(config_file=str(env.kubeconfig_path))
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        [dep] = apps.list_namespaced_deployment("books").items
        assert (dep.metadata.name, dep.spec.replicas, dep.status.ready_replicas) == (
            "bookshop-api-blue",
            3,
            3,
        )
        assert (
            dep.spec.template.spec.containers[0].image
            == "123456789012.dkr.ecr.us-east-1.amazonaws.com/bookshop:v1"
        )
        assert core.read_namespaced_service("bookshop-web", "books").spec.selector == {
            "app": "bookshop",
            "component": "api",
            "color": "blue",
        }
        assert env.aws.client("rds").describe_db_instances(DBInstanceIdentifier="bookshop-db")["DBInstances"]
        assert env.images == ["v1"]
        kubeconfig = yaml.safe_load(env.kubeconfig_path.read_text())
        assert kubeconfig["contexts"][0]["context"]["namespace"] == "books"


def test_connection_files(local_env):
    conns = json.loads(local_env.connections_file.read_text())
    assert conns["kubernetes_default"] == {
        "conn_type": "kubernetes",
        "extra": {"kube_config_path": str(local_env.kubeconfig_path), "namespace": "default"},
    }
    assert conns["aws_default"]["extra"] == {
        "endpoint_url": local_env.aws_endpoint,
        "region_name": "eu-central-1",
    }
    assert conns["prometheus_default"]["port"] == int(local_env.prometheus_url.rsplit(":", 1)[1])
    env_lines = local_env.paths["env"].read_text().splitlines()
    assert sorted(line.split("=", 1)[0] for line in env_lines) == [
        "AIRFLOW_CONN_AWS_DEFAULT",
        "AIRFLOW_CONN_KUBERNETES_DEFAULT",
        "AIRFLOW_CONN_PROMETHEUS_DEFAULT",
    ]
    assert oct(local_env.connections_file.stat().st_mode & 0o777) == "0o600"


def test_connection_file_works_with_the_local_filesystem_secrets_backend(local_env):
    from airflow.secrets.local_filesystem import LocalFilesystemBackend

    backend = LocalFilesystemBackend(connections_file_path=str(local_env.connections_file))
    aws = backend.get_connection("aws_default")
    assert aws.conn_type == "aws" and aws.extra_dejson["endpoint_url"] == local_env.aws_endpoint
    assert backend.get_connection("kubernetes_default").extra_dejson["kube_config_path"] == str(
        local_env.kubeconfig_path
    )


def _kubectl(local_env, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(local_env.kubeconfig_path), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )


@needs_kubectl
def test_kubectl_get_lists_the_acme_shop_deployments(local_env):
    result = _kubectl(local_env, "get", "deploy", "-A")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    rows = {tuple(line.split()[:3]) for line in lines[1:]}
    assert ("default", "acme-shop-nginx-blue", "2/2") in rows
    assert ("external-secrets", "external-secrets", "1/1") in rows
    selector = _kubectl(local_env, "get", "svc", "acme-shop-svc", "-o", "jsonpath={.spec.selector.color}")
    assert selector.stdout == "blue"


@needs_kubectl
def test_kubectl_apply_and_patch(local_env, namespace):
    manifest = textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: web-green, namespace: {namespace}, labels: {{app: web, color: green}}}}
        spec:
          replicas: 2
          selector: {{matchLabels: {{app: web, color: green}}}}
          template:
            metadata: {{labels: {{app: web, color: green}}}}
            spec:
              containers: [{{name: web, image: "shop:v2"}}]
        """)
    for expected in ("deployment.apps/web-green created", "deployment.apps/web-green unchanged"):
        result = _kubectl(local_env, "apply", "-f", "-", stdin=manifest)
        assert result.returncode == 0 and result.stdout.strip() == expected, result.stderr
    dry = _kubectl(
        local_env, "apply", "--dry-run=server", "-f", "-", stdin=manifest.replace("web-green", "web-new")
    )
    assert dry.stdout.strip() == "deployment.apps/web-new created (server dry run)"
    assert _kubectl(local_env, "-n", namespace, "get", "deploy", "web-new").returncode == 1

    steps = [
        ("patch", "deploy", "web-green", "-p", '{"spec":{"replicas":3}}'),
        (
            "patch",
            "deploy",
            "web-green",
            "--type",
            "json",
            "-p",
            '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"shop:v3"}]',
        ),
        ("annotate", "deploy", "web-green", "switchyard.io/cleanup-after=2030-01-01T00:00:00Z"),
    ]
    for step in steps:
        result = _kubectl(local_env, "-n", namespace, *step)
        assert result.returncode == 0, result.stderr
    shown = _kubectl(
        local_env,
        "-n",
        namespace,
        "get",
        "deploy",
        "web-green",
        "-o",
        "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} "
        "{.metadata.annotations.switchyard\\.io/cleanup-after}",
    )
    assert shown.stdout == "3 shop:v3 2030-01-01T00:00:00Z"
    local_env.emulator.advance(4)
    status = _kubectl(local_env, "-n", namespace, "rollout", "status", "deploy/web-green", "--timeout=10s")
    assert status.returncode == 0 and "successfully rolled out" in status.stdout


def test_up_command_prints_its_status_and_stops_on_ctrl_c(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'plugins'}{os.pathsep}{ROOT / 'include'}"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "switchyard.localenv",
            "up",
            "--no-aws",
            "--time-scale",
            "10",
            "--state-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines = []
    try:
        for line in process.stdout:
            lines.append(line.rstrip())
            if "Ctrl-C stops it" in line:
                break
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    output = "\n".join(lines) + rest
    assert process.returncode == 0, output
    assert "✓ Switchyard local environment is up" in output
    assert "6 deployments, 6 ready" in output and f"kubeconfig     {tmp_path}/kubeconfig.yaml" in output
    assert "time scale     x10" in output and output.rstrip().endswith("✓ stopped")


@pytest.mark.parametrize(
    ("option", "content", "message"),
    [
        (
            "--behaviours",
            "behaviours:\n  v2: {kind: explode}\n",
            "behaviour for 'v2': kind 'explode' is not one of healthy, crash_loop",
        ),
        ("--model", None, "missing.yaml: no such file"),
    ],
)
def test_up_command_refuses_bad_input_without_a_traceback(tmp_path, option, content, message):
    path = tmp_path / "missing.yaml"
    if content is not None:
        path.write_text(content)
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'plugins'}{os.pathsep}{ROOT / 'include'}"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "switchyard.localenv",
            "up",
            "--no-aws",
            option,
            str(path),
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("✗ cannot start the local environment:") and message in result.stderr


def test_several_apps_seeded_side_by_side_each_with_its_own_behaviours(tmp_path):
    """`make stack` seeds every model: acme-shop first (bare tags, the control API's), payments with
    the tags of its own file (app: payments), though both files name v2."""
    from switchyard.localenv.behaviours import ConfigError
    from switchyard.localenv.stack import local_apps

    apps = local_apps()
    assert [m.name for m, _ in apps][:2] == ["acme-shop.model.yaml", "payments.model.yaml"]
    models = [str(m) for m, _ in apps]
    with LocalEnvironment(models, behaviours=[b for _, b in apps if b], state_dir=tmp_path) as env:
        names = {d["metadata"]["name"] for d in env.cluster.store.list(DEPLOYMENTS)}
        assert {"acme-shop-php-fpm-blue", "api-gateway", "payments-api-blue"} <= names
        registry = f"{env.aws.registry}"
        behaviour = env.cluster.behaviours.lookup
        assert behaviour(f"{registry}/acme-shop:v2").requires_migration
        assert not behaviour(f"{registry}/payments:v2").requires_migration
        assert behaviour(f"{registry}/payments:v4-crashloop").kind == "crash_loop"
        assert behaviour(f"{registry}/acme-shop:v4-crashloop").kind == "healthy"
        env.emulator.set_behaviour("v1", "crash_loop")  # a bare tag: the first app's images
        assert behaviour(f"{registry}/acme-shop:v1").kind == "crash_loop"
        assert behaviour(f"{registry}/payments:v1").kind == "healthy"
        ecr = env.aws.client("ecr")
        tags = {
            repo: {i["imageTag"] for i in ecr.list_images(repositoryName=repo)["imageIds"]}
            for repo in ("acme-shop", "payments")
        }
        assert "v4-crashloop" in tags["payments"] and "v4-crashloop" not in tags["acme-shop"]
        assert "v3-crashloop" in tags["acme-shop"] and "v3-crashloop" not in tags["payments"]
        assert env.connections()["kubernetes_default"]["extra"]["namespace"] == "default"
    with pytest.raises(ConfigError, match="app 'payments' is not one of the models seeded"):
        LocalEnvironment(models[0], behaviours=apps[1][1], state_dir=tmp_path / "other").start()


def test_a_restored_cluster_keeps_its_state_and_gains_a_model_added_since(tmp_path):
    """A stack's state dir from before payments was seeded: the restart keeps what the cluster held
    and seeds the model it lacks."""
    from kubernetes import client, config

    from switchyard.localenv.stack import local_apps

    acme_shop, payments = (str(model) for model, _ in local_apps()[:2])

    def deployments(env: LocalEnvironment) -> dict[str, int]:
        apps = client.AppsV1Api(config.new_client_from_config(config_file=str(env.kubeconfig_path)))
        return {d.metadata.name: d.spec.replicas for d in apps.list_namespaced_deployment("default").items}

    with LocalEnvironment(acme_shop, with_aws=False, state_dir=tmp_path, restore=True) as env:
        apps = client.AppsV1Api(config.new_client_from_config(config_file=str(env.kubeconfig_path)))
        apps.patch_namespaced_deployment_scale("opensearch", "default", {"spec": {"replicas": 3}})
        assert "api-gateway" not in deployments(env)
    with LocalEnvironment([acme_shop, payments], with_aws=False, state_dir=tmp_path, restore=True) as env:
        assert env.restored_objects
        live = deployments(env)
        assert live["opensearch"] == 3  # kept
        assert live["api-gateway"] == 1 and live["payments-api-blue"] == 2  # seeded
