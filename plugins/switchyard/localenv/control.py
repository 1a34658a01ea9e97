"""The emulator's control API, under ``/_emulator/`` on the Kubernetes API port.

=======  ====================================  ==============================================
method   path                                  body / answer
=======  ====================================  ==============================================
GET      /_emulator/status                     clock, behaviours, faults, traffic
GET      /_emulator/behaviours                 ``{key: behaviour}``
PUT      /_emulator/behaviours                 ``{"behaviours": {key: behaviour}}`` replaces all
PUT      /_emulator/behaviours/KEY             behaviour (``"crash_loop"`` or ``{"kind": ...}``);
                                               ``?after_seconds=N`` schedules it N simulated s ahead
DELETE   /_emulator/behaviours/KEY             back to the default (healthy)
GET      /_emulator/faults                     list of rules
POST     /_emulator/faults                     a rule (``{"kind": "forbidden", "path": ..., ...}``)
DELETE   /_emulator/faults/ID                  remove one rule
DELETE   /_emulator/faults                     remove all rules
GET      /_emulator/clock                      ``{"now": simulated s, "scale": x}``
PUT      /_emulator/clock                      ``{"scale": x}``
POST     /_emulator/clock/advance              ``{"seconds": n}``: jump, reconciling at each change
POST     /_emulator/reconcile                  run one controller pass now
PUT      /_emulator/traffic/NAMESPACE/APP      ``{"rps": n}`` live requests per second
GET      /_emulator/log                        ``?category=fault|behaviour``: the emulator's log
PUT      /_emulator/aws/metrics                ``{"namespace", "metric", "dimensions", "value"}``:
                                               a CloudWatch value, re-published periodically
=======  ====================================  ==============================================

KEY is an image (URL-encoded: ``registry%2Frepo%3Av2``) or a tag (``v2``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from switchyard.localenv.behaviours import ConfigError
from switchyard.localenv.httpbase import Response

if TYPE_CHECKING:
    from switchyard.localenv.cluster import Cluster
    from switchyard.localenv.httpbase import JsonHandler


def _error(code: int, message: str) -> Response:
    return Response(code, {"error": message})


def handle(handler: JsonHandler, cluster: Cluster, method: str, path: str) -> None:
    """Answer a control request (always raises ``Response``)."""
    parts = [unquote(p) for p in path.split("/")[2:]]
    try:
        _route(handler, cluster, method, parts)
    except (ConfigError, ValueError, TypeError, KeyError) as exc:
        raise _error(400, str(exc)) from exc
    raise _error(404, f"no control route {method} {path}; see switchyard.localenv.control")


def _route(handler: JsonHandler, cluster: Cluster, method: str, parts: list[str]) -> None:
    body: Any = handler.json_body() if method in ("POST", "PUT") else None
    head = parts[0] if parts else ""
    if head == "status" and method == "GET":
        raise Response(
            200,
            {
                "clock": {"now": cluster.clock.now(), "scale": cluster.clock.scale},
                "behaviours": cluster.behaviours.snapshot(),
                "faults": cluster.faults.snapshot(),
                "traffic": cluster.traffic.snapshot(),
            },
        )
    if head == "behaviours":
        key = "/".join(parts[1:])
        if method == "GET" and not key:
            raise Response(200, cluster.behaviours.snapshot())
        if method == "PUT" and not key:
            if not isinstance(body, dict) or not isinstance(body.get("behaviours"), dict):
                raise _error(400, 'expected {"behaviours": {image-or-tag: behaviour}}')
            cluster.behaviours.replace_all(body["behaviours"])
            raise Response(200, cluster.behaviours.snapshot())
        if method == "PUT":
            after = handler.query.get("after_seconds")
            if after:
                cluster.behaviours.schedule(cluster.clock.now() + float(after), key, body)
                raise Response(202, {"scheduled": key, "at": cluster.clock.now() + float(after)})
            raise Response(200, cluster.behaviours.set(key, body).to_dict())
        if method == "DELETE" and key:
            if not cluster.behaviours.remove(key):
                raise _error(404, f"no behaviour set for {key!r}")
            raise Response(200, {"removed": key})
    if head == "faults":
        if method == "GET" and len(parts) == 1:
            raise Response(200, cluster.faults.snapshot())
        if method == "POST" and len(parts) == 1:
            raise Response(201, cluster.faults.add(body).to_dict())
        if method == "DELETE" and len(parts) == 1:
            cluster.faults.clear()
            raise Response(200, [])
        if method == "DELETE":
            if not cluster.faults.remove(parts[1]):
                raise _error(404, f"no fault {parts[1]!r}")
            raise Response(200, {"removed": parts[1]})
    if head == "clock":
        if method == "GET" and len(parts) == 1:
            raise Response(200, {"now": cluster.clock.now(), "scale": cluster.clock.scale})
        if method == "PUT" and len(parts) == 1:
            cluster.clock.set_scale(float((body or {}).get("scale")))
            raise Response(200, {"now": cluster.clock.now(), "scale": cluster.clock.scale})
        if method == "POST" and parts[1:] == ["advance"]:
            cluster.controller.advance(float((body or {}).get("seconds", 0)))
            raise Response(200, {"now": cluster.clock.now(), "scale": cluster.clock.scale})
    if head == "reconcile" and method == "POST":
        cluster.controller.tick()
        raise Response(200, {"now": cluster.clock.now()})
    if head == "traffic" and method == "PUT" and len(parts) == 3:
        cluster.traffic.set_rps(parts[1], parts[2], float((body or {}).get("rps")))
        raise Response(200, cluster.traffic.snapshot())
    if head == "aws" and parts[1:] == ["metrics"] and method == "PUT":
        aws = getattr(handler, "aws", None)
        if aws is None or aws.feeder is None:
            raise _error(404, "local AWS is not running in this environment")
        aws.feeder.set(
            body["namespace"], body["metric"], dict(body.get("dimensions") or {}), float(body["value"])
        )
        raise Response(200, {"set": body["metric"]})
    if head == "log" and method == "GET":
        raise Response(200, cluster.events.entries(handler.query.get("category")))
