"""A compressible simulated clock: simulated seconds = real seconds x scale, plus explicit jumps."""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("switchyard.localenv")


class SimClock:
    """``now()`` is in simulated seconds since the environment started.

    ``scale`` compresses time (60 → one real second is a simulated minute); ``advance()`` jumps
    forward instantly, which is how tests reach "two minutes later" without sleeping.
    """

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"time scale must be positive, got {scale}")
        self._lock = threading.Lock()
        self._scale = float(scale)
        self._base_real = time.monotonic()
        self._base_sim = 0.0
        self.epoch = time.time()  # wall-clock time of simulated second 0 (log timestamps, sinceTime)

    def wall_iso(self, sim: float) -> str:
        """RFC 3339 (nanosecond form, as the kubelet writes log timestamps) of a simulated time."""
        moment = datetime.datetime.fromtimestamp(self.epoch + sim, datetime.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"

    def from_wall_iso(self, text: str) -> float:
        """The simulated time of an RFC 3339 wall-clock time (``sinceTime``)."""
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment.timestamp() - self.epoch

    def now(self) -> float:
        with self._lock:
            return self._base_sim + (time.monotonic() - self._base_real) * self._scale

    @property
    def scale(self) -> float:
        return self._scale

    def set_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError(f"time scale must be positive, got {scale}")
        with self._lock:
            real = time.monotonic()
            self._base_sim += (real - self._base_real) * self._scale
            self._base_real = real
            self._scale = float(scale)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._base_sim += seconds


class Periodic:
    """Runs ``work`` every ``interval`` real seconds on a daemon thread until ``stop()``.

    A failing run is logged and the next one still happens (one bad tick must not stop the
    simulated cluster); failures while stopping are expected (servers going away) and stay quiet.
    """

    def __init__(self, name: str, interval: float, work: Callable[[], None]) -> None:
        self.name, self.interval, self.work = name, interval, work
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.work()
            except Exception:
                if not self._stop.is_set():
                    log.exception("%s failed", self.name)
