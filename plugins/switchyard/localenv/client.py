"""``EmulatorClient``: the control API from Python (tests, the demo, DAG test helpers)."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote


class EmulatorError(RuntimeError):
    """The control API refused a request; the message is its explanation."""


class EmulatorClient:
    """Talks to ``/_emulator/`` on the Kubernetes emulator (see ``switchyard.localenv.control``)."""

    def __init__(self, kube_url: str, timeout: float = 10.0) -> None:
        self.base = kube_url.rstrip("/") + "/_emulator"
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("error", detail)
            raise EmulatorError(f"{method} {path}: {exc.code}: {detail}") from None

    # behaviours ------------------------------------------------------------------------
    def set_behaviour(
        self, image_or_tag: str, kind: str = "healthy", *, after_seconds: float | None = None, **fields: Any
    ) -> Any:
        """E.g. ``set_behaviour("v3", "crash_loop")``, ``set_behaviour("v2", "http_5xx", rate=0.2)``;
        with ``after_seconds`` the change happens that many simulated seconds from now."""
        query = f"?after_seconds={after_seconds}" if after_seconds is not None else ""
        return self._call(
            "PUT", f"/behaviours/{quote(image_or_tag, safe='')}{query}", {"kind": kind, **fields}
        )

    def clear_behaviour(self, image_or_tag: str) -> None:
        self._call("DELETE", f"/behaviours/{quote(image_or_tag, safe='')}")

    def behaviours(self) -> dict[str, dict[str, Any]]:
        return self._call("GET", "/behaviours")

    def replace_behaviours(self, table: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return self._call("PUT", "/behaviours", {"behaviours": table})

    # faults ------------------------------------------------------------------------------
    def add_fault(self, kind: str, path: str = "*", verb: str = "*", **fields: Any) -> str:
        """Returns the rule id. ``kind``: forbidden | error | latency | timeout."""
        return self._call("POST", "/faults", {"kind": kind, "path": path, "verb": verb, **fields})["id"]

    def remove_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"/faults/{quote(fault_id, safe='')}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")

    @contextlib.contextmanager
    def fault(self, kind: str, path: str = "*", verb: str = "*", **fields: Any) -> Iterator[str]:
        fault_id = self.add_fault(kind, path, verb, **fields)
        try:
            yield fault_id
        finally:
            with contextlib.suppress(EmulatorError):  # a "times"-limited rule may be gone already
                self.remove_fault(fault_id)

    # clock, traffic, log -------------------------------------------------------------------
    def advance(self, seconds: float) -> float:
        """Jump the simulated clock forward (reconciling each second); returns the new time."""
        return self._call("POST", "/clock/advance", {"seconds": seconds})["now"]

    def set_time_scale(self, scale: float) -> None:
        self._call("PUT", "/clock", {"scale": scale})

    def clock(self) -> dict[str, float]:
        return self._call("GET", "/clock")

    def reconcile(self) -> None:
        self._call("POST", "/reconcile")

    def set_traffic(self, app: str, rps: float, namespace: str = "default") -> None:
        self._call("PUT", f"/traffic/{quote(namespace, safe='')}/{quote(app, safe='')}", {"rps": rps})

    def log(self, category: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "/log" + (f"?category={quote(category)}" if category else ""))

    def status(self) -> dict[str, Any]:
        return self._call("GET", "/status")

    def set_aws_metric(self, namespace: str, metric: str, dimensions: dict[str, str], value: float) -> None:
        """Publish a CloudWatch value now and keep re-publishing it (e.g. RDS connections)."""
        self._call(
            "PUT",
            "/aws/metrics",
            {"namespace": namespace, "metric": metric, "dimensions": dimensions, "value": value},
        )
