"""docker-compose.yaml and Dockerfile, checked without a Docker engine: parsed and compared with the
lock, the local environment's own connection code and each other; ``docker compose config`` runs
too when the docker client has the compose plugin."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy.support import ROOT

COMPOSE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
AIRFLOW_LONG_RUNNING = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
AIRFLOW_ONE_SHOTS = ("airflow-init", "demo")
AIRFLOW_SERVICES = (*AIRFLOW_LONG_RUNNING, *AIRFLOW_ONE_SHOTS)
SHARED_SETTINGS = (
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__AUTH_MANAGER",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__FERNET_KEY",
    "SWITCHYARD_ARTIFACTS_DIR",
    "AIRFLOW_CONN_KUBERNETES_DEFAULT",
    "AIRFLOW_CONN_AWS_DEFAULT",
    "AIRFLOW_CONN_PROMETHEUS_DEFAULT",
)


def interpolate(value: str) -> str:
    """What compose makes of ``${VAR:-default}`` with nothing set in the environment."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())  # PyYAML resolves the x-airflow-common anchors


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def env(service: dict) -> dict[str, str]:
    """A container's environment as compose builds it: its env_file(s), then ``environment``."""
    from switchyard.localenv.stack import read_settings

    merged: dict[str, str] = {}
    for name in service.get("env_file") or []:
        merged.update(read_settings(ROOT / name))
    merged.update({k: interpolate(str(v)) for k, v in (service.get("environment") or {}).items()})
    return merged


def test_compose_and_make_stack_read_one_settings_file(services, tmp_path):
    """deploy/airflow.env is the one source of the Airflow settings: every Airflow container reads
    it, and `make stack` runs with every one of its values (only the executor may be switched)."""
    from switchyard.localenv.stack import SETTINGS_FILE, Stack, read_settings

    shared = read_settings(SETTINGS_FILE)
    assert (
        shared["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        and shared["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    )
    for name in AIRFLOW_SERVICES:
        assert services[name]["env_file"] == ["deploy/airflow.env"], name
        overridden = set(shared) & set(services[name].get("environment") or {})
        assert not overridden, f"{name} sets {overridden} again: change deploy/airflow.env instead"
    stack = Stack(state_dir=tmp_path)
    stack.ports = dict.fromkeys(
        ("api", "postgres", "kube", "prometheus", "aws", "scheduler_health", "worker_logs", "trigger_logs"), 1
    )
    environment = stack.environment()
    assert {k: environment[k] for k in shared} == shared


def lock_pins() -> dict[str, str]:
    return dict(
        re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", (ROOT / "requirements.lock").read_text(), re.M)
    )


def localenv_args(services) -> dict[str, str]:
    command = services["localenv"]["command"]
    assert command[:4] == ["python", "-m", "switchyard.localenv", "up"]
    return dict(arg.removeprefix("--").split("=", 1) for arg in command[4:] if not app_arg(arg))


def app_arg(arg: str) -> bool:
    return arg.startswith(("--model=", "--behaviours="))


# ------------------------------------------------------------------------------------ services
def test_the_services_of_the_stack(services):
    assert set(services) == {"postgres", "localenv", *AIRFLOW_SERVICES}
    for name, command in AIRFLOW_LONG_RUNNING.items():
        assert services[name]["command"] == command
    assert services["airflow-init"]["command"] == ["db", "migrate"]
    assert services["demo"]["command"] == ["python", "-m", "switchyard.localenv.demo"]  # `make demo`'s module
    images = {services[s]["image"] for s in (*AIRFLOW_SERVICES, "localenv")}
    assert images == {f"switchyard-airflow:{lock_pins()['apache-airflow']}"}
    assert all(services[s]["build"] == "." for s in (*AIRFLOW_SERVICES, "localenv"))
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["airflow-apiserver"]["ports"] == ["8080:8080"]


def test_healthchecks_and_start_order(services):
    for name in ("postgres", "localenv", *AIRFLOW_LONG_RUNNING):
        assert services[name]["healthcheck"]["test"], name
    for name in (*AIRFLOW_LONG_RUNNING, "demo"):
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "localenv": {"condition": "service_healthy"},
            "airflow-init": {"condition": "service_completed_successfully"},
        }, name
    assert services["airflow-init"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "depends_on" not in services["localenv"] and "depends_on" not in services["postgres"]
    for name in AIRFLOW_ONE_SHOTS:
        assert services[name]["restart"] == "no"
    # health checks look where the components listen
    api = " ".join(services["airflow-apiserver"]["healthcheck"]["test"])
    assert "http://localhost:8080/api/v2/version" in api
    assert "http://localhost:8974/health" in " ".join(services["airflow-scheduler"]["healthcheck"]["test"])
    assert env(services["airflow-scheduler"])["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"
    for name, job in (("airflow-dag-processor", "DagProcessorJob"), ("airflow-triggerer", "TriggererJob")):
        assert f"--job-type {job}" in " ".join(services[name]["healthcheck"]["test"])
    args = localenv_args(services)
    probe = " ".join(services["localenv"]["healthcheck"]["test"])
    for port in (args["kube-port"], args["prometheus-port"], args["aws-port"]):
        assert f"localhost:{port}/" in probe


def test_every_airflow_container_shares_one_configuration(services):
    """Executor, database, auth manager, JWT secret and execution API URL (guide §10.11), the
    connections and the artefacts directory: identical in every Airflow container."""
    reference = env(services["airflow-apiserver"])
    for name in AIRFLOW_SERVICES:
        settings = env(services[name])
        assert {k: settings.get(k) for k in SHARED_SETTINGS} == {
            k: reference.get(k) for k in SHARED_SETTINGS
        }, name
    assert reference["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert reference["AIRFLOW__API_AUTH__JWT_SECRET"]  # a default even with nothing set
    assert reference["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "True"
    from airflow.sdk.module_loading import import_string

    manager = import_string(reference["AIRFLOW__CORE__AUTH_MANAGER"])
    assert manager.__name__ == "SimpleAuthManager"
    execution = urlsplit(reference["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    container_port = services["airflow-apiserver"]["ports"][0].split(":")[-1]
    assert (execution.hostname, str(execution.port), execution.path) == (
        "airflow-apiserver",
        container_port,
        "/execution/",
    )
    database = urlsplit(reference["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert (
        database.hostname == "postgres"
        and database.path == "/" + services["postgres"]["environment"]["POSTGRES_DB"]
    )
    notes_api = json.loads(reference["AIRFLOW_CONN_AIRFLOW_API"])
    assert (urlsplit(notes_api["host"]).hostname, str(notes_api["port"])) == (
        "airflow-apiserver",
        container_port,
    )


def test_volumes_mount_the_checkout_and_share_logs_and_artefacts(compose, services):
    for name in AIRFLOW_SERVICES:
        mounts = {v.split(":")[1]: v for v in services[name]["volumes"]}
        for folder in ("dags", "plugins", "include"):
            assert mounts[f"/opt/airflow/{folder}"] == f"./{folder}:/opt/airflow/{folder}:ro", name
            assert (ROOT / folder).is_dir()
        # Tasks run in the scheduler (LocalExecutor); the api-server shows their logs and serves
        # their artefacts: both directories are volumes every Airflow container shares.
        assert mounts["/opt/airflow/logs"] == "airflow-logs:/opt/airflow/logs"
        assert mounts["/opt/airflow/artifacts"] == "artifacts:/opt/airflow/artifacts"
        assert env(services[name])["SWITCHYARD_ARTIFACTS_DIR"] == "/opt/airflow/artifacts"
    assert {"postgres-db", "airflow-logs", "artifacts"} <= set(compose["volumes"])
    local = {v.split(":")[1] for v in services["localenv"]["volumes"]}
    assert local == {"/opt/airflow/plugins", "/opt/airflow/include"}
    # the apps seeded: every model of include/models with its behaviours, as `make stack` seeds them
    from switchyard.localenv.stack import local_apps, local_env_app_args

    seeded = [arg for arg in services["localenv"]["command"] if app_arg(arg)]
    assert seeded == local_env_app_args(local_apps(), root=ROOT)
    assert {Path(a.split("=", 1)[1]).name for a in seeded} >= {"acme-shop.model.yaml", "payments.model.yaml"}


# ---------------------------------------------------------------------------------- connections
def test_connections_point_at_the_localenv_service(services):
    """The connections are what the local environment writes for itself (connections.py), with the
    service's name and fixed ports — the same ports the localenv command binds."""
    from switchyard.engine.model import load_model
    from switchyard.localenv.connections import airflow_connections, kubeconfig

    args = localenv_args(services)
    assert args["host"] == "0.0.0.0" and args["advertise-host"] == "localenv"
    host = args["advertise-host"]
    region = load_model(ROOT / "include" / "models" / "acme-shop.model.yaml").vars["region"]
    expected = airflow_connections(
        kubeconfig_path=None,
        namespace="default",
        aws_endpoint=f"http://{host}:{args['aws-port']}",
        region=region,
        prometheus_url=f"http://{host}:{args['prometheus-port']}",
    )
    settings = env(services["airflow-scheduler"])
    assert json.loads(settings["AIRFLOW_CONN_AWS_DEFAULT"]) == expected["aws_default"]
    assert json.loads(settings["AIRFLOW_CONN_PROMETHEUS_DEFAULT"]) == expected["prometheus_default"]
    kubernetes = json.loads(settings["AIRFLOW_CONN_KUBERNETES_DEFAULT"])
    assert kubernetes == {
        "conn_type": "kubernetes",
        "extra": {"namespace": "default", "kube_config": kubeconfig(f"http://{host}:{args['kube-port']}")},
    }
    published = {p.split(":")[-1] for p in services["localenv"]["ports"]}
    assert published == {args["kube-port"], args["prometheus-port"], args["aws-port"]}


def test_the_compose_connections_work_with_the_providers_hooks(services, local_env, monkeypatch):
    """The same connection JSON, with the service name swapped for this test's local environment:
    the cncf-kubernetes hook accepts the inline kubeconfig and the amazon hook the endpoint."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    args = localenv_args(services)
    settings = env(services["airflow-scheduler"])
    kube = settings["AIRFLOW_CONN_KUBERNETES_DEFAULT"].replace(
        f"http://localenv:{args['kube-port']}", local_env.kube_url
    )
    aws = settings["AIRFLOW_CONN_AWS_DEFAULT"].replace(
        f"http://localenv:{args['aws-port']}", local_env.aws_endpoint
    )
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", kube)
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws)
    service = KubernetesHook().core_v1_client.read_namespaced_service("acme-shop-svc", "default")
    assert service.spec.selector["color"] == "blue"
    assert "acme-shop-stage-media-8f3e9c" in {b["Name"] for b in S3Hook().conn.list_buckets()["Buckets"]}


# -------------------------------------------------------------------------------------- versions
def test_the_image_is_the_locked_airflow_with_the_lock_installed():
    pins = lock_pins()
    dockerfile = DOCKERFILE.read_text()
    [base] = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
    assert base == f"apache/airflow:{pins['apache-airflow']}-python3.11"
    assert (
        "pip install --no-cache-dir --disable-pip-version-check --no-deps --require-hashes -r /opt/airflow/requirements.lock"
        in dockerfile
    )
    assert "COPY --chown=airflow:0 requirements.lock /opt/airflow/requirements.lock" in dockerfile
    assert (ROOT / ".dockerignore").read_text().splitlines()[-2:] == ["*", "!requirements.lock"]
    # the providers requirements.in asks for are the ones the lock (and so the image) pins
    wanted = dict(
        re.findall(r"^(apache-airflow[a-z-]*)==(\S+)", (ROOT / "requirements.in").read_text(), re.M)
    )
    assert wanted and all(pins[name] == version for name, version in wanted.items()), wanted
    for name in ("apache-airflow-core", "apache-airflow-task-sdk"):
        assert name in pins
    assert pins["apache-airflow-core"] == pins["apache-airflow"]
    # the image's own check reads every apache-airflow* pin of the lock at build time
    assert 're.findall(r"^(apache-airflow[a-z-]*)==' in dockerfile


# ---------------------------------------------------------------------------- docker compose config
def test_docker_compose_config_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on this machine")
    plugin = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
    if plugin.returncode != 0:
        answer = (plugin.stderr or plugin.stdout).strip().splitlines()[0]
        pytest.skip(f"`docker compose` is not available from this docker client ({answer})")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    rendered = json.loads(result.stdout)
    assert set(rendered["services"]) == {"postgres", "localenv", *AIRFLOW_SERVICES}


def test_the_scheduler_alone_preloads_the_task_imports(services):
    """The process that forks the tasks (LocalExecutor: the scheduler) imports what they need once;
    the local settings that install the preload are mounted where Airflow looks for them."""
    preloading = {n for n in AIRFLOW_SERVICES if env(services[n]).get("SWITCHYARD_PRELOAD_TASK_IMPORTS")}
    assert preloading == {"airflow-scheduler"}
    # the rest of the shared environment is kept beside it
    assert set(SHARED_SETTINGS) <= set(env(services["airflow-scheduler"]))
    for name in AIRFLOW_SERVICES:
        assert "./deploy/config:/opt/airflow/config:ro" in services[name]["volumes"], name
    assert (ROOT / "deploy" / "config" / "airflow_local_settings.py").is_file()
