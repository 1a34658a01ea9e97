"""A compressible simulated clock: simulated seconds = real seconds x scale, plus explicit jumps."""

from __future__ import annotations

import threading
import time


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
