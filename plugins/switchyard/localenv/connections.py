"""The kubeconfig and the Airflow connections that point DAG code at the local environment.

Connection ids are the providers' defaults, so hooks and operators built with their default
``*_conn_id`` talk to the local environment unchanged:

* ``aws_default`` — ``aws``, placeholder credentials, extra ``endpoint_url`` (moto) and
  ``region_name``;
* ``kubernetes_default`` — ``kubernetes``, extra ``kube_config_path`` and ``namespace``;
* ``prometheus_default`` — ``http``, host and port of the Prometheus emulator (``/api/v1/query``).

Files written to the state directory: ``kubeconfig.yaml``, ``connections.json`` (the
``LocalFilesystemBackend`` format ``dag.test(conn_file_path=...)`` reads) and ``connections.env``
(``AIRFLOW_CONN_<ID>='<json>'`` lines for ``set -a; . connections.env``). None of them is logged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from switchyard.localenv.aws import ACCESS_KEY, SECRET_KEY

AWS_CONN_ID = "aws_default"
KUBERNETES_CONN_ID = "kubernetes_default"
PROMETHEUS_CONN_ID = "prometheus_default"
CONTEXT = "switchyard-local"


def kubeconfig(server_url: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": CONTEXT, "cluster": {"server": server_url}}],
        "users": [{"name": CONTEXT, "user": {"token": "switchyard-local"}}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace}}
        ],
        "current-context": CONTEXT,
    }


def airflow_connections(
    *,
    kubeconfig_path: str | None,
    namespace: str,
    aws_endpoint: str | None,
    region: str,
    prometheus_url: str | None,
) -> dict[str, dict[str, Any]]:
    conns: dict[str, dict[str, Any]] = {}
    if kubeconfig_path:
        conns[KUBERNETES_CONN_ID] = {
            "conn_type": "kubernetes",
            "extra": {"kube_config_path": kubeconfig_path, "namespace": namespace},
        }
    if aws_endpoint:
        conns[AWS_CONN_ID] = {
            "conn_type": "aws",
            "login": ACCESS_KEY,
            "password": SECRET_KEY,
            "extra": {"endpoint_url": aws_endpoint, "region_name": region},
        }
    if prometheus_url:
        host, port = prometheus_url.removeprefix("http://").split(":")
        conns[PROMETHEUS_CONN_ID] = {"conn_type": "http", "host": host, "port": int(port), "schema": "http"}
    return conns


def env_vars(conns: dict[str, dict[str, Any]]) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` values (JSON form) for each connection."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn) for conn_id, conn in conns.items()}


def write_files(
    state_dir: Path, server_url: str, namespace: str, conns_args: dict[str, Any]
) -> dict[str, Path]:
    state_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "kubeconfig": state_dir / "kubeconfig.yaml",
        "connections": state_dir / "connections.json",
        "env": state_dir / "connections.env",
    }
    paths["kubeconfig"].write_text(yaml.safe_dump(kubeconfig(server_url, namespace), sort_keys=False))
    conns = airflow_connections(kubeconfig_path=str(paths["kubeconfig"]), namespace=namespace, **conns_args)
    paths["connections"].write_text(json.dumps(conns, indent=2) + "\n")
    paths["env"].write_text("".join(f"{k}='{v}'\n" for k, v in env_vars(conns).items()))
    for path in paths.values():
        path.chmod(0o600)
    return paths
