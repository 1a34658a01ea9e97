"""Triggers: waiting without a worker slot (run by Airflow's triggerer, importable from plugins/).

``ColourMetricsTrigger`` waits for one checkpoint of the watch or the bake and samples the new
colour's error ratio and p99 on the way, so a breach ends the wait at once instead of at the next
checkpoint. Its kwargs are primitives and absolute times: after a triggerer restart it resumes the
same checkpoint with the same deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class ColourMetricsTrigger(BaseTrigger):
    def __init__(
        self,
        *,
        app: str,
        namespace: str,
        colour: str,
        until: float,
        sample_seconds: float,
        max_error_ratio: float,
        max_p99_seconds: float,
        prometheus_conn_id: str = "prometheus_default",
        index: int = 0,
    ) -> None:
        super().__init__()
        self.app, self.namespace, self.colour = app, namespace, colour
        self.until, self.sample_seconds = until, sample_seconds
        self.max_error_ratio, self.max_p99_seconds = max_error_ratio, max_p99_seconds
        self.prometheus_conn_id, self.index = prometheus_conn_id, index

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "app": self.app,
                "namespace": self.namespace,
                "colour": self.colour,
                "until": self.until,
                "sample_seconds": self.sample_seconds,
                "max_error_ratio": self.max_error_ratio,
                "max_p99_seconds": self.max_p99_seconds,
                "prometheus_conn_id": self.prometheus_conn_id,
                "index": self.index,
            },
        )

    def _sample(self) -> dict[str, Any]:
        from switchyard.probes.errors import ReadFailed
        from switchyard.probes.metrics import colour_metrics

        try:
            m = colour_metrics(
                self.app, self.namespace, self.colour, prometheus_conn_id=self.prometheus_conn_id
            )
        except ReadFailed as exc:
            return {"status": exc.status, "detail": exc.detail}
        return {
            "status": "ok",
            "request_rate": m.request_rate,
            "error_ratio": m.error_ratio,
            "p99_seconds": m.p99_seconds,
        }

    def breach(self, sample: dict[str, Any]) -> str:
        """Why a sample breaks the thresholds ('' when it does not; no data is not a breach here —
        the checkpoint itself refuses to pass without data)."""
        ratio, p99 = sample.get("error_ratio"), sample.get("p99_seconds")
        if ratio is not None and ratio >= self.max_error_ratio:
            return f"error ratio {ratio:.2%} ≥ {self.max_error_ratio:.2%} on {self.colour}"
        if p99 is not None and p99 >= self.max_p99_seconds:
            return f"p99 latency {p99:.2f}s ≥ {self.max_p99_seconds:.2f}s on {self.colour}"
        return ""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        samples = 0
        last: dict[str, Any] = {}
        while True:
            last = await asyncio.to_thread(self._sample)
            samples += 1
            why = self.breach(last)
            if why:
                yield TriggerEvent(
                    {
                        "status": "breach",
                        "reason": why,
                        "sample": last,
                        "index": self.index,
                        "samples": samples,
                        "at": time.time(),
                    }
                )
                return
            remaining = self.until - time.time()
            if remaining <= 0:
                break
            await asyncio.sleep(min(self.sample_seconds, remaining))
        yield TriggerEvent(
            {"status": "reached", "sample": last, "index": self.index, "samples": samples, "at": time.time()}
        )
