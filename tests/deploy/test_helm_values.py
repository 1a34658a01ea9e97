"""Putting Switchyard into an existing Airflow: the official Helm chart's values, the image that
bakes the code in, and the version range of deploy/airflow-requirements.txt — each parsed and
checked against the project (the lock, the connection ids the code uses, deploy/rbac.yaml)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
VALUES = ROOT / "deploy" / "helm" / "values.yaml"
IMAGE = ROOT / "deploy" / "helm" / "Dockerfile"
REQUIREMENTS = ROOT / "deploy" / "airflow-requirements.txt"


def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def lock_pins() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {
        name.lower(): version for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", text, re.M)
    }


def test_the_chart_runs_the_triggerer_and_dag_processor_with_the_locked_airflow():
    v = values()
    assert v["triggerer"]["enabled"] is True  # the watch and the bake defer to it
    assert v["dagProcessor"]["enabled"] is True
    assert v["airflowVersion"] == v["defaultAirflowTag"] == lock_pins()["apache-airflow"]
    assert v["images"]["airflow"]["tag"].startswith(lock_pins()["apache-airflow"])
    assert v["dags"]["gitSync"]["enabled"] is False and v["dags"]["persistence"]["enabled"] is False
    assert v["config"]["core"]["load_examples"] == "False"


def test_every_connection_the_code_uses_by_default_comes_from_one_secret():
    used = set()
    for path in (ROOT / "plugins" / "switchyard").rglob("*.py"):
        used |= set(re.findall(r'conn_id: str = "([a-z_]+)"', path.read_text()))
    assert {"kubernetes_default", "aws_default", "prometheus_default"} <= used
    entries = values()["secret"]
    assert {e["secretName"] for e in entries} == {"switchyard-connections"}
    by_key = {e["secretKey"]: e["envName"] for e in entries}
    assert by_key == {key: f"AIRFLOW_CONN_{key.upper()}" for key in by_key}  # Airflow's naming
    assert used <= set(by_key), used - set(by_key)
    # the same variables the example connections file documents
    documented = set(
        re.findall(
            r"^#? ?(AIRFLOW_CONN_[A-Z_]+)=",
            (ROOT / "deploy/examples/connections.acme-shop.env").read_text(),
            re.M,
        )
    )
    assert set(by_key.values()) <= documented
    # and no secret in the file: every command example's password is elided
    assert not re.search(r'"password": "(?!\.\.\.)', VALUES.read_text())


def test_the_pods_run_as_the_service_account_deploy_rbac_binds():
    rbac = [d for d in yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text()) if d]
    accounts = {d["metadata"]["name"] for d in rbac if d["kind"] == "ServiceAccount"}
    v = values()
    for component in ("scheduler", "triggerer", "apiServer"):  # tasks, deferred watches, Releases view
        account = v[component]["serviceAccount"]
        assert account["create"] is False and account["name"] in accounts, component


def test_code_paths_and_the_artefacts_volume_agree_with_the_image():
    v = values()
    env = {e["name"]: e["value"] for e in v["env"]}
    assert env["PYTHONPATH"].split(":") == ["/opt/airflow/plugins", "/opt/airflow/include"]
    mounts = {m["mountPath"]: m["name"] for m in v["volumeMounts"]}
    assert mounts[env["SWITCHYARD_ARTIFACTS_DIR"]] in {vol["name"] for vol in v["volumes"]}
    dockerfile = IMAGE.read_text()
    for folder in ("dags", "plugins", "include"):
        assert f"COPY --chown=airflow:0 {folder}/ /opt/airflow/{folder}/" in dockerfile
    base = re.search(r"^ARG BASE=(\S+)", dockerfile, re.M).group(1)
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    assert base == compose["x-airflow-common"]["image"]  # the image ../../Dockerfile builds
    assert f"ENV PYTHONPATH={env['PYTHONPATH']}" in dockerfile


def test_the_version_ranges_start_at_the_tested_lock_and_contain_it():
    pins = lock_pins()
    requirements = [
        Requirement(line)
        for line in REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {r.name for r in requirements} >= {
        "apache-airflow",
        "apache-airflow-providers-amazon",
        "apache-airflow-providers-cncf-kubernetes",
        "apache-airflow-providers-standard",
    }
    for requirement in requirements:
        tested = pins[requirement.name.lower()]
        assert requirement.specifier.contains(tested), (requirement, tested)
        floors = [s.version for s in requirement.specifier if s.operator == ">="]
        assert floors == [tested], (requirement, tested)


def test_the_chart_preloads_the_task_imports_in_the_scheduler():
    values = yaml.safe_load(VALUES.read_text())
    assert {"name": "SWITCHYARD_PRELOAD_TASK_IMPORTS", "value": "1"} in values["scheduler"]["env"]
    local_settings = values["airflowLocalSettings"]
    assert "from switchyard.airflow.preload import install" in local_settings
    assert local_settings.rstrip().endswith("install()")
