"""``meta.k8s.io/v1 Table`` answers, so ``kubectl get`` prints the columns it prints on a real cluster."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]


def _age(obj: Obj) -> str:
    created = obj["metadata"].get("creationTimestamp")
    if not created:
        return "<unknown>"
    then = datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    seconds = int((datetime.datetime.now(datetime.UTC) - then).total_seconds())
    return human_duration(max(seconds, 0))


def human_duration(seconds: int) -> str:
    """kubectl's ``HumanDuration``."""
    if seconds < 120:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if days < 2:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def _selector(selector: Any) -> str:
    if not selector:
        return "<none>"
    labels = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if isinstance(v, str)) or "<none>"


def _containers(template: Obj) -> list[str]:
    containers = ((template.get("spec") or {}).get("containers")) or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


def _deployment(obj: Obj) -> list[Any]:
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    desired = spec.get("replicas", 1)
    return [
        obj["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{desired}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        _age(obj),
        *_containers(spec.get("template") or {}),
        _selector(spec.get("selector")),
    ]


def _replica_set(obj: Obj) -> list[Any]:
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    return [
        obj["metadata"]["name"],
        spec.get("replicas", 1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        _age(obj),
        *_containers(spec.get("template") or {}),
        _selector(spec.get("selector")),
    ]


def _pod_status(obj: Obj) -> str:
    status = obj.get("status") or {}
    phase = status.get("phase", "Pending")
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "waiting" in state:
            return state["waiting"].get("reason", phase)
        if "terminated" in state and phase not in ("Succeeded", "Failed"):
            return state["terminated"].get("reason", phase)
    return "Completed" if phase == "Succeeded" else "Error" if phase == "Failed" else phase


def _pod(obj: Obj) -> list[Any]:
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    containers = (obj.get("spec") or {}).get("containers") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in statuses)
    status = obj.get("status") or {}
    return [
        obj["metadata"]["name"],
        f"{ready}/{len(containers)}",
        _pod_status(obj),
        restarts,
        _age(obj),
        status.get("podIP", "<none>"),
        (obj.get("spec") or {}).get("nodeName", "<none>"),
        "<none>",
        "<none>",
    ]


def _service(obj: Obj) -> list[Any]:
    spec = obj.get("spec") or {}
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("hostname") or i.get("ip", "") for i in ingress) or "<none>"
    if not ingress and spec.get("type") == "LoadBalancer":
        external = "<pending>"
    ports = (
        ",".join(
            f"{p.get('port')}"
            + (f":{p['nodePort']}" if p.get("nodePort") else "")
            + f"/{p.get('protocol', 'TCP')}"
            for p in spec.get("ports") or []
        )
        or "<none>"
    )
    return [
        obj["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP", "<none>"),
        external,
        ports,
        _age(obj),
        _selector(spec.get("selector")),
    ]


def _endpoints(obj: Obj) -> list[Any]:
    addresses = [
        f"{a['ip']}:{p['port']}"
        for s in obj.get("subsets") or []
        for a in s.get("addresses") or []
        for p in s.get("ports") or [{"port": 0}]
    ]
    shown = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")
    return [obj["metadata"]["name"], shown or "<none>", _age(obj)]


def _job(obj: Obj) -> list[Any]:
    status = obj.get("status") or {}
    conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
    state = (
        "Complete"
        if conditions.get("Complete") == "True"
        else "Failed"
        if conditions.get("Failed") == "True"
        else "Running"
    )
    spec = obj.get("spec") or {}
    completions = f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}"
    return [
        obj["metadata"]["name"],
        state,
        completions,
        _duration(status),
        _age(obj),
        *_containers(spec.get("template") or {}),
        _selector(spec.get("selector")),
    ]


def _duration(status: Obj) -> str:
    if not status.get("startTime"):
        return ""
    end = (
        _parse(status["completionTime"])
        if status.get("completionTime")
        else datetime.datetime.now(datetime.UTC)
    )
    return human_duration(max(int((end - _parse(status["startTime"])).total_seconds()), 0))


def _parse(stamp: str) -> datetime.datetime:
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)


def _ingress(obj: Obj) -> list[Any]:
    spec = obj.get("spec") or {}
    hosts = ",".join(r.get("host", "*") for r in spec.get("rules") or []) or "*"
    lb = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    address = ",".join(i.get("hostname") or i.get("ip", "") for i in lb)
    return [obj["metadata"]["name"], spec.get("ingressClassName", "<none>"), hosts, address, "80", _age(obj)]


def _namespace(obj: Obj) -> list[Any]:
    return [obj["metadata"]["name"], (obj.get("status") or {}).get("phase", "Active"), _age(obj)]


def _lease(obj: Obj) -> list[Any]:
    return [obj["metadata"]["name"], (obj.get("spec") or {}).get("holderIdentity", ""), _age(obj)]


def _event(obj: Obj) -> list[Any]:
    involved = obj.get("involvedObject") or {}
    return [
        _age(obj),
        obj.get("type", ""),
        obj.get("reason", ""),
        f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
        obj.get("message", ""),
    ]


def _node(obj: Obj) -> list[Any]:
    version = ((obj.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")
    info = (obj.get("status") or {}).get("nodeInfo") or {}
    return [
        obj["metadata"]["name"],
        "Ready",
        "<none>",
        _age(obj),
        version,
        "192.168.0.10",
        "<none>",
        info.get("osImage", "Amazon Linux 2023"),
        info.get("kernelVersion", "6.1.0"),
        info.get("containerRuntimeVersion", "containerd://1.7.0"),
    ]


def _configmap(obj: Obj) -> list[Any]:
    return [obj["metadata"]["name"], len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _age(obj)]


def _secret(obj: Obj) -> list[Any]:
    return [obj["metadata"]["name"], obj.get("type", "Opaque"), len(obj.get("data") or {}), _age(obj)]


def _default(obj: Obj) -> list[Any]:
    return [obj["metadata"]["name"], _age(obj)]


# Columns after "|" have priority 1: kubectl shows them with ``-o wide`` only.
_COLUMNS: dict[str, tuple[list[str], Callable[[Obj], list[Any]]]] = {
    "Deployment": (
        ["Name", "Ready", "Up-to-date", "Available", "Age", "|Containers", "|Images", "|Selector"],
        _deployment,
    ),
    "ReplicaSet": (
        ["Name", "Desired", "Current", "Ready", "Age", "|Containers", "|Images", "|Selector"],
        _replica_set,
    ),
    "Pod": (
        ["Name", "Ready", "Status", "Restarts", "Age", "|IP", "|Node", "|Nominated Node", "|Readiness Gates"],
        _pod,
    ),
    "Service": (["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "|Selector"], _service),
    "Endpoints": (["Name", "Endpoints", "Age"], _endpoints),
    "Job": (
        ["Name", "Status", "Completions", "Duration", "Age", "|Containers", "|Images", "|Selector"],
        _job,
    ),
    "Ingress": (["Name", "Class", "Hosts", "Address", "Ports", "Age"], _ingress),
    "Namespace": (["Name", "Status", "Age"], _namespace),
    "Lease": (["Name", "Holder", "Age"], _lease),
    "Event": (["Last Seen", "Type", "Reason", "Object", "Message"], _event),
    "Node": (
        [
            "Name",
            "Status",
            "Roles",
            "Age",
            "Version",
            "|Internal-IP",
            "|External-IP",
            "|OS-Image",
            "|Kernel-Version",
            "|Container-Runtime",
        ],
        _node,
    ),
    "ConfigMap": (["Name", "Data", "Age"], _configmap),
    "Secret": (["Name", "Type", "Data", "Age"], _secret),
}


def wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in accept  # type: ignore[operator]


def table(kind: str, items: list[Obj], resource_version: str, include_object: str | None) -> Obj:
    names, row = _COLUMNS.get(kind, (["Name", "Age"], _default))
    columns = [
        {
            "name": n.lstrip("|"),
            "type": "integer"
            if n in ("Restarts", "Up-to-date", "Available", "Data", "Desired", "Current")
            else "string",
            "format": "name" if n == "Name" else "",
            "description": n.lstrip("|"),
            "priority": 1 if n.startswith("|") else 0,
        }
        for n in names
    ]
    rows = []
    for obj in items:
        entry: Obj = {"cells": row(obj)}
        if include_object != "None":
            entry["object"] = (
                obj
                if include_object == "Object"
                else {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                }
            )
        rows.append(entry)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns,
        "rows": rows,
    }
