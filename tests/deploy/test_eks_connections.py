"""The connections of README "Run against your cluster" (deploy/examples/): each parses as the
Airflow connection it claims to be, and the EKS kubeconfig gets its token from the amazon
provider's generator — run here against the local Kubernetes emulator with placeholder AWS keys
(signing an STS URL needs no call to AWS)."""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.deploy.support import ROOT

EXAMPLES = ROOT / "deploy" / "examples"


def example_connections() -> dict[str, list[str]]:
    """conn id → the JSON values the example file gives for it (active and commented alternatives)."""
    found: dict[str, list[str]] = {}
    for match in re.finditer(
        r"^#?\s*AIRFLOW_CONN_([A-Z_]+)='(.+)'$", (EXAMPLES / "connections.acme-shop.env").read_text(), re.M
    ):
        found.setdefault(match[1].lower(), []).append(match[2])
    return found


def test_the_example_connections_are_valid_airflow_connections():
    from airflow.models.connection import Connection

    conns = example_connections()
    assert set(conns) == {
        "kubernetes_default",
        "aws_default",
        "prometheus_default",
        "airflow_api",
        "slack_webhook_default",
    }
    parsed = {cid: [Connection.from_json(v, conn_id=cid) for v in values] for cid, values in conns.items()}
    assert [c.conn_type for c in parsed["kubernetes_default"]] == ["kubernetes", "kubernetes"]
    in_cluster, outside = (c.extra_dejson for c in parsed["kubernetes_default"])
    assert in_cluster == {"in_cluster": True, "namespace": "default"}
    assert outside["kube_config_path"].endswith("eks-kubeconfig.yaml")
    [aws] = parsed["aws_default"]
    assert aws.conn_type == "aws" and not aws.login and not aws.password  # the role's credentials, no keys
    assert aws.extra_dejson == {"region_name": "eu-central-1"}
    assert parsed["prometheus_default"][0].conn_type == "http"
    assert parsed["slack_webhook_default"][0].conn_type == "slackwebhook"
    api = parsed["airflow_api"][0]
    assert api.conn_type == "http" and api.login and api.port == 8080


def test_the_eks_kubeconfig_authenticates_with_a_token_from_the_amazon_provider(
    local_env, monkeypatch, tmp_path
):
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    kubeconfig = yaml.safe_load((EXAMPLES / "eks-kubeconfig.yaml").read_text())
    [cluster] = kubeconfig["clusters"]
    assert cluster["cluster"]["server"].startswith("https://")
    cluster["cluster"] = {"server": local_env.kube_url}  # the emulator stands in for the EKS endpoint
    path = tmp_path / "eks-kubeconfig.yaml"
    path.write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv(
        "AIRFLOW_CONN_KUBERNETES_DEFAULT",
        json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config_path": str(path), "namespace": "default"}}
        ),
    )
    # The image's python3 is Airflow's; here that is this virtualenv's.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)

    hook = KubernetesHook()
    assert (
        hook.core_v1_client.read_namespaced_service("acme-shop-svc", "default").spec.selector["color"]
        == "blue"
    )
    bearer = hook.api_client.configuration.api_key["BearerToken"]
    assert bearer.startswith("Bearer k8s-aws-v1.")
    encoded = bearer.removeprefix("Bearer k8s-aws-v1.")
    url = urlsplit(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode())
    query = parse_qs(url.query)
    assert url.hostname == "sts.eu-central-1.amazonaws.com"  # regional STS, as EKS requires
    assert query["Action"] == ["GetCallerIdentity"] and query["X-Amz-Signature"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0]  # bound to the cluster's name
    assert query["X-Amz-Credential"][0].startswith("AKIAIOSFODNN7EXAMPLE/")


def test_without_aws_credentials_the_eks_kubeconfig_sends_no_token(local_env, monkeypatch, tmp_path):
    """No AWS identity: the exec command fails (``no EKS token`` on its stderr) and no token is sent —
    a real EKS endpoint answers 401, which the probes report as forbidden (unknown, never false)."""
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    kubeconfig = yaml.safe_load((EXAMPLES / "eks-kubeconfig.yaml").read_text())
    kubeconfig["clusters"][0]["cluster"] = {"server": local_env.kube_url}
    path = tmp_path / "eks-kubeconfig.yaml"
    path.write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv(
        "AIRFLOW_CONN_KUBERNETES_DEFAULT",
        json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(path)}}),
    )
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    hook = KubernetesHook()
    hook.core_v1_client.read_namespaced_service("acme-shop-svc", "default")  # the emulator takes anyone
    assert "BearerToken" not in hook.api_client.configuration.api_key
