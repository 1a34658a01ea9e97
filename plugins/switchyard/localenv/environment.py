"""``LocalEnvironment``: the Kubernetes emulator, the Prometheus emulator and local AWS, seeded from a model.

    with LocalEnvironment(model="include/models/acme-shop.model.yaml", time_scale=30) as env:
        env.kubeconfig_path        # for kubectl / KubernetesHook(config_file=...)
        env.connections_file       # for dag.test(conn_file_path=...)
        env.airflow_env()          # AIRFLOW_CONN_* variables
        env.emulator               # EmulatorClient: behaviours, faults, clock, traffic

``model`` and ``behaviours`` may each be a list: every model is seeded (the first one's namespace
goes into the connection files). A behaviours file's tags describe the images of the first model,
or of the model its ``app:`` names; a further model's tags are kept as ``<app>:<tag>`` (its ECR
repository and tag), so the same tag of two apps can behave differently, while the control API's
bare tags keep acting on the first model's images.

``host`` is the address every server binds to (loopback by default; ``0.0.0.0`` in a container)
and ``advertise_host`` the name clients elsewhere reach them by (the compose service name): it goes
into the kubeconfig, the connection files and the URLs below. ``rbac`` (a manifest such as
``deploy/rbac.yaml``, or a list of them) turns on RBAC enforcement for the Kubernetes API (see ``rbac.py``).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from switchyard.localenv.aws import ACCOUNT_ID, LocalAws
from switchyard.localenv.behaviours import ConfigError, load_app_behaviours, load_faults_file
from switchyard.localenv.client import EmulatorClient
from switchyard.localenv.cluster import Cluster
from switchyard.localenv.connections import airflow_connections, env_vars, write_files
from switchyard.localenv.httpbase import LoopbackServer, local_host
from switchyard.localenv.kubeapi import make_handler
from switchyard.localenv.prometheus import PrometheusHandler
from switchyard.localenv.rbac import RbacPolicy
from switchyard.localenv.seeding import INITIAL_TAG, SeedReport, seed_kubernetes

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_MODEL = ROOT / "include" / "models" / "acme-shop.model.yaml"
DEFAULT_REGION = "eu-central-1"


class LocalEnvironment:
    def __init__(
        self,
        model: str | Path | list[str | Path] | None = DEFAULT_MODEL,
        *,
        behaviours: str | Path | list[str | Path] | None = None,
        faults: str | Path | None = None,
        time_scale: float = 1.0,
        state_dir: str | Path | None = None,
        kube_port: int = 0,
        prometheus_port: int = 0,
        aws_port: int = 0,
        with_aws: bool = True,
        metrics_period: float = 30.0,
        host: str = "127.0.0.1",
        advertise_host: str | None = None,
        rbac: str | Path | list[str | Path] | None = None,
        restore: bool = False,
    ) -> None:
        self.model_paths = _paths(model)
        self.behaviours_paths = _paths(behaviours)
        self.model_path = self.model_paths[0] if self.model_paths else None  # the first: its namespace
        self.behaviours_path = self.behaviours_paths[0] if self.behaviours_paths else None
        self.faults_path = Path(faults) if faults else None
        self.time_scale = time_scale
        self.state_dir = (
            Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="switchyard-localenv-"))
        )
        self._ports = (kube_port, prometheus_port, aws_port)
        self.with_aws = with_aws
        self.metrics_period = metrics_period
        self.host = host
        self.public_host = advertise_host or local_host(host)
        self.rbac_paths = _paths(rbac)
        self.rbac: RbacPolicy | None = None
        self.model: Any = None
        self.models: list[Any] = []
        self.cluster: Cluster | None = None
        self.kube_server: LoopbackServer | None = None
        self.prometheus_server: LoopbackServer | None = None
        self.aws: LocalAws | None = None
        self.seed_report = SeedReport()
        self.images: list[str] = []
        self.paths: dict[str, Path] = {}
        self.startup_seconds = 0.0
        self.restore = restore  # keep the cluster in state_dir across restarts (snapshot.py)
        self.restored_objects = 0
        self._saver: Any = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalEnvironment:
        started = time.monotonic()
        # Read every input first: a bad file fails before anything listens on a port.
        faults = load_faults_file(self.faults_path) if self.faults_path else []
        self.rbac = RbacPolicy.load(self.rbac_paths) if self.rbac_paths else None
        if self.model_paths:
            from switchyard.engine.model import load_model

            self.models = [load_model(path) for path in self.model_paths]
            self.model = self.models[0]
            names = [m.name for m in self.models]
            if len(set(names)) < len(names):
                raise ConfigError(f"two models of the same name among {', '.join(names)}")
        tags_by_app = self._behaviours_by_app()
        region = (self.model.vars.get("region") if self.model else None) or DEFAULT_REGION
        self.cluster = Cluster(time_scale=self.time_scale, region=region)
        if self.rbac is not None:
            self.rbac.events = self.cluster.events
        try:
            if self.with_aws:
                self.aws = LocalAws(
                    region=region, port=self._ports[2], metrics_period=self.metrics_period, host=self.host
                )
                self.aws.start()
            self.kube_server = LoopbackServer(
                make_handler(self.cluster, self.aws, self.rbac), self._ports[0], self.host
            )
            self.prometheus_server = LoopbackServer(
                type(
                    "BoundPrometheusHandler",
                    (PrometheusHandler,),
                    {"traffic": self.cluster.traffic, "faults": self.cluster.faults},
                ),
                self._ports[1],
                self.host,
            )
            first = self.model.name if self.model else None
            for app, tags in tags_by_app.items():
                for key, behaviour in tags.items():
                    scoped = app != first and "/" not in key and ":" not in key
                    self.cluster.behaviours.set(f"{app}:{key}" if scoped else key, behaviour)
            registry = self.aws.registry if self.aws else f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com"
            if self.restore:
                from switchyard.localenv import snapshot

                self.restored_objects = snapshot.restore(self.cluster.store, self.state_dir)
            for model in self.models:
                # A restored cluster keeps its state; a model added since is seeded into it.
                if not self.restored_objects or not self._has_app(model.name):
                    seeded = seed_kubernetes(self.cluster, model, registry)
                    self.seed_report.created += seeded.created
                    self.seed_report.skipped.update(seeded.skipped)
                if self.aws:
                    self._seed_aws(model, tags_by_app.get(model.name, {}))
            self.cluster.controller.settle()  # the seeded system has been running for an hour
            for rule in faults:
                self.cluster.faults.add(rule)
            self.kube_server.start("localenv-kube-api")
            self.prometheus_server.start("localenv-prometheus")
            self.cluster.start()
            if self.restore:
                from switchyard.localenv import snapshot

                self.state_dir.mkdir(parents=True, exist_ok=True)
                self._saver = snapshot.Saver(self.cluster.store, self.state_dir)
                self._saver.start()
            namespace = (self.model.vars.get("namespace") if self.model else None) or "default"
            self.paths = write_files(self.state_dir, self.kube_url, namespace, self._conn_args(region))
            if self.aws:
                self.paths["aws_resources"] = self.state_dir / "aws-resources.json"
                self.paths["aws_resources"].write_text(json.dumps(self.aws.records(), indent=2) + "\n")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _has_app(self, app: str) -> bool:
        from switchyard.localenv.store import DEPLOYMENTS

        assert self.cluster is not None
        return any(
            (d["metadata"].get("labels") or {}).get("app") == app
            for d in self.cluster.store.list(DEPLOYMENTS)
        )

    def _behaviours_by_app(self) -> dict[str | None, dict[str, Any]]:
        """Each behaviours file's table under the model it describes (``app:``, else the first)."""
        first = self.model.name if self.model else None
        known = {m.name for m in self.models}
        by_app: dict[str | None, dict[str, Any]] = {}
        for path in self.behaviours_paths:
            app, table = load_app_behaviours(path)
            if app is not None and self.models and app not in known:
                raise ConfigError(
                    f"{path}: app {app!r} is not one of the models seeded ({', '.join(sorted(known))})"
                )
            by_app.setdefault(app or first, {}).update(table)
        return by_app

    def _seed_aws(self, model: Any, behaviours: dict[str, Any]) -> None:
        assert self.aws is not None
        components = model.components
        for component in components.values():
            bucket = next(
                (
                    components[d].resource or d
                    for d in component.depends_on
                    if d in components and components[d].type == "s3_bucket"
                ),
                None,
            )
            if self.aws.seed_component(component, model.name, bucket) is not None:
                self.seed_report.created.append(
                    f"aws {component.type} {component.resource or component.name}"
                )
        images = self.aws.seed_images(model.name, behaviours, [INITIAL_TAG])
        if model is self.model:
            self.images = images
        self.seed_report.created.append(f"aws ecr_repository {model.name} ({', '.join(images)})")

    def stop(self) -> None:
        if self._saver is not None:
            self._saver.stop()
            self._saver = None
        for server in (self.kube_server, self.prometheus_server):
            if server is not None:
                server.stop()
        if self.cluster:
            self.cluster.stop()
        if self.aws:
            self.aws.stop()

    def __enter__(self) -> LocalEnvironment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ what callers use
    @property
    def kube_url(self) -> str:
        assert self.kube_server is not None, "the environment is not started"
        return f"http://{self.public_host}:{self.kube_server.port}"

    @property
    def prometheus_url(self) -> str:
        assert self.prometheus_server is not None, "the environment is not started"
        return f"http://{self.public_host}:{self.prometheus_server.port}"

    @property
    def aws_endpoint(self) -> str | None:
        return f"http://{self.public_host}:{self.aws.port}" if self.aws else None

    @property
    def region(self) -> str:
        return self.aws.region if self.aws else DEFAULT_REGION

    @property
    def kubeconfig_path(self) -> Path:
        return self.paths["kubeconfig"]

    @property
    def connections_file(self) -> Path:
        return self.paths["connections"]

    @property
    def emulator(self) -> EmulatorClient:
        assert self.kube_server is not None, "the environment is not started"
        return EmulatorClient(self.kube_server.url)

    def connections(self) -> dict[str, dict[str, Any]]:
        namespace = (self.model.vars.get("namespace") if self.model else None) or "default"
        return airflow_connections(
            kubeconfig_path=str(self.kubeconfig_path), namespace=namespace, **self._conn_args(self.region)
        )

    def airflow_env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_*`` environment variables for every connection."""
        return env_vars(self.connections())

    def _conn_args(self, region: str) -> dict[str, Any]:
        return {"aws_endpoint": self.aws_endpoint, "region": region, "prometheus_url": self.prometheus_url}

    def status_lines(self) -> list[str]:
        cluster = self.cluster
        assert cluster is not None
        from switchyard.localenv.store import DEPLOYMENTS

        deployments = cluster.store.list(DEPLOYMENTS)
        ready = sum(
            1
            for d in deployments
            if (d.get("status") or {}).get("readyReplicas", 0) == d["spec"].get("replicas", 1)
        )
        lines = [
            f"model          {', '.join(m.name for m in self.models) or '(none)'}"
            + (f"  ({', '.join(str(p) for p in self.model_paths)})" if self.model_paths else ""),
            f"kubernetes     {self.kube_url}  ({len(deployments)} deployments, {ready} ready)",
            f"prometheus     {self.prometheus_url}/api/v1/query",
            f"aws (moto)     {self.aws_endpoint}  region {self.region}" if self.aws else "aws            off",
            f"time scale     x{cluster.clock.scale:g}  (control API {self.kube_url}/_emulator/status)",
            f"kubeconfig     {self.kubeconfig_path}",
            f"connections    {self.connections_file}  (env: {self.paths['env']})",
            f"behaviours     {len(cluster.behaviours.snapshot())} set"
            + (f" from {', '.join(str(p) for p in self.behaviours_paths)}" if self.behaviours_paths else "")
            + f"; faults {len(cluster.faults.snapshot())} active",
            f"started in     {self.startup_seconds:.1f} s",
        ]
        if self.host != "127.0.0.1" or self.public_host != local_host(self.host):
            lines.insert(-1, f"listening on   {self.host} (clients use {self.public_host})")
        if self.rbac is not None:
            lines.insert(-1, f"rbac           enforced for {self.rbac.user} from {self.rbac.source}")
        return lines


def _paths(value: str | Path | list[str | Path] | None) -> list[Path]:
    if not value:
        return []
    return [Path(v) for v in value] if isinstance(value, list | tuple) else [Path(value)]
