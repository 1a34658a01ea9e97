"""The simulated cluster: object store, clock, behaviours, faults, controller and traffic in one place."""

from __future__ import annotations

from switchyard.localenv.behaviours import BehaviourTable, EmulatorLog, FaultTable
from switchyard.localenv.clock import SimClock
from switchyard.localenv.controller import WorkloadController
from switchyard.localenv.store import NAMESPACES, SERVICES, ObjectStore
from switchyard.localenv.traffic import DEFAULT_RPS, TrafficModel

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Cluster:
    def __init__(
        self, time_scale: float = 1.0, region: str = "eu-central-1", default_rps: float = DEFAULT_RPS
    ) -> None:
        self.events = EmulatorLog()
        self.clock = SimClock(time_scale)
        self.store = ObjectStore()
        self.behaviours = BehaviourTable(self.events)
        self.faults = FaultTable(self.events)
        self.controller = WorkloadController(self.store, self.behaviours, self.clock, region=region)
        self.traffic = TrafficModel(self.store, self.behaviours, default_rps)
        for namespace in SYSTEM_NAMESPACES:
            self.ensure_namespace(namespace)
        self.store.create(
            SERVICES,
            "default",
            {
                "metadata": {
                    "name": "kubernetes",
                    "labels": {"component": "apiserver", "provider": "kubernetes"},
                },
                "spec": {
                    "clusterIP": "10.96.0.1",
                    "ports": [{"name": "https", "port": 443, "targetPort": 6443}],
                },
            },
        )

    def ensure_namespace(self, name: str) -> None:
        if self.store.find(NAMESPACES, None, name) is None:
            self.store.create(
                NAMESPACES,
                None,
                {"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}},
            )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
