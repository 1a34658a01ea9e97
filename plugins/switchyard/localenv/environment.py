"""``LocalEnvironment``: the Kubernetes emulator, the Prometheus emulator and local AWS, seeded from a model.

    with LocalEnvironment(model="include/models/acme-shop.model.yaml", time_scale=30) as env:
        env.kubeconfig_path        # for kubectl / KubernetesHook(config_file=...)
        env.connections_file       # for dag.test(conn_file_path=...)
        env.airflow_env()          # AIRFLOW_CONN_* variables
        env.emulator               # EmulatorClient: behaviours, faults, clock, traffic

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
from switchyard.localenv.behaviours import load_behaviours_file, load_faults_file
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
        model: str | Path | None = DEFAULT_MODEL,
        *,
        behaviours: str | Path | None = None,
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
        self.model_path = Path(model) if model else None
        self.behaviours_path = Path(behaviours) if behaviours else None
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
        self.rbac_paths = [Path(p) for p in ([rbac] if isinstance(rbac, str | Path) else rbac or [])]
        self.rbac: RbacPolicy | None = None
        self.model: Any = None
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
        behaviours = load_behaviours_file(self.behaviours_path) if self.behaviours_path else {}
        faults = load_faults_file(self.faults_path) if self.faults_path else []
        self.rbac = RbacPolicy.load(self.rbac_paths) if self.rbac_paths else None
        if self.model_path:
            from switchyard.engine.model import load_model

            self.model = load_model(self.model_path)
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
            for key, behaviour in behaviours.items():
                self.cluster.behaviours.set(key, behaviour)
            registry = self.aws.registry if self.aws else f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com"
            if self.restore:
                from switchyard.localenv import snapshot

                self.restored_objects = snapshot.restore(self.cluster.store, self.state_dir)
            if self.model is not None:
                if not self.restored_objects:
                    self.seed_report = seed_kubernetes(self.cluster, self.model, registry)
                if self.aws:
                    self._seed_aws(behaviours)
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

    def _seed_aws(self, behaviours: dict[str, Any]) -> None:
        assert self.aws is not None and self.model is not None
        components = self.model.components
        for component in components.values():
            bucket = next(
                (
                    components[d].resource or d
                    for d in component.depends_on
                    if d in components and components[d].type == "s3_bucket"
                ),
                None,
            )
            if self.aws.seed_component(component, self.model.name, bucket) is not None:
                self.seed_report.created.append(
                    f"aws {component.type} {component.resource or component.name}"
                )
        self.images = self.aws.seed_images(self.model.name, behaviours, [INITIAL_TAG])
        self.seed_report.created.append(f"aws ecr_repository {self.model.name} ({', '.join(self.images)})")

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
            f"model          {self.model.name if self.model else '(none)'}"
            + (f"  ({self.model_path})" if self.model_path else ""),
            f"kubernetes     {self.kube_url}  ({len(deployments)} deployments, {ready} ready)",
            f"prometheus     {self.prometheus_url}/api/v1/query",
            f"aws (moto)     {self.aws_endpoint}  region {self.region}" if self.aws else "aws            off",
            f"time scale     x{cluster.clock.scale:g}  (control API {self.kube_url}/_emulator/status)",
            f"kubeconfig     {self.kubeconfig_path}",
            f"connections    {self.connections_file}  (env: {self.paths['env']})",
            f"behaviours     {len(cluster.behaviours.snapshot())} set"
            + (f" from {self.behaviours_path}" if self.behaviours_path else "")
            + f"; faults {len(cluster.faults.snapshot())} active",
            f"started in     {self.startup_seconds:.1f} s",
        ]
        if self.host != "127.0.0.1" or self.public_host != local_host(self.host):
            lines.insert(-1, f"listening on   {self.host} (clients use {self.public_host})")
        if self.rbac is not None:
            lines.insert(-1, f"rbac           enforced for {self.rbac.user} from {self.rbac.source}")
        return lines
