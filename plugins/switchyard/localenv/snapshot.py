"""Keeping the simulated cluster across restarts (``up --restore``): what users and releases wrote
(Deployments, Services, ConfigMaps with the release records, Leases, Jobs, ...) is saved to
``cluster.json`` in the state dir while the environment runs and when it stops; a restart with the
same state dir creates those objects again instead of seeding from the model, and the controller
brings up their pods as on a cluster that kept running. Derived objects (pods, endpoints, events)
are not saved: the controller makes them again from what was."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from switchyard.localenv.resources import RESOURCE_TYPES
from switchyard.localenv.store import ObjectStore

DERIVED_KINDS = {"Pod", "Endpoints", "EndpointSlice", "Event", "ReplicaSet"}
FILE_NAME = "cluster.json"


def saved_objects(store: ObjectStore) -> list[dict[str, Any]]:
    by_plural = {(rt.group, rt.plural): rt for rt in RESOURCE_TYPES}
    with store.lock:
        saved = []
        for (group, plural, _namespace, _name), obj in store._objects.items():
            rt = by_plural.get((group, plural))
            if rt is None or rt.kind in DERIVED_KINDS:
                continue
            meta = {
                k: v
                for k, v in obj["metadata"].items()
                if k not in ("resourceVersion", "uid", "managedFields")
            }
            saved.append(
                {"kind": rt.kind, "group": group, "plural": plural, "object": {**obj, "metadata": meta}}
            )
        return json.loads(json.dumps(saved))


def save(store: ObjectStore, state_dir: Path) -> None:
    path = state_dir / FILE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(saved_objects(store)))
    tmp.replace(path)  # atomic: a crash mid-write leaves the previous snapshot


def restore(store: ObjectStore, state_dir: Path) -> int:
    """Create the saved objects (namespaces first); returns how many. 0 when there is no snapshot."""
    path = state_dir / FILE_NAME
    if not path.exists():
        return 0
    by_plural = {(rt.group, rt.plural): rt for rt in RESOURCE_TYPES}
    entries = json.loads(path.read_text())
    entries.sort(key=lambda e: e["kind"] != "Namespace")
    count = 0
    for entry in entries:
        rt = by_plural.get((entry["group"], entry["plural"]))
        if rt is None:
            continue
        obj = entry["object"]
        namespace = obj["metadata"].get("namespace") if rt.namespaced else None
        if store.find(rt, namespace, obj["metadata"]["name"]) is not None:
            store.remove_quietly(rt, namespace, obj["metadata"]["name"])
        store.create(rt, namespace, obj)
        count += 1
    return count


class Saver:
    """Saves the cluster every ``period`` seconds when something changed, and once at stop."""

    def __init__(self, store: ObjectStore, state_dir: Path, period: float = 2.0) -> None:
        self.store, self.state_dir, self.period = store, state_dir, period
        self._stop = threading.Event()
        self._saved_rv = ""
        self._thread = threading.Thread(target=self._loop, name="localenv-snapshot", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            self.save_if_changed()

    def save_if_changed(self) -> None:
        rv = self.store.resource_version
        if rv != self._saved_rv:
            save(self.store, self.state_dir)
            self._saved_rv = rv

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.save_if_changed()
