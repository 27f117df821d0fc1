"""Per-credential rate limits, judged strictly: arrivals counted in a sliding window.

For each (API, credential) the sandbox keeps the times of the calls it accepted; a
call is refused with the provider's own throttle answer when ``n`` accepted calls
already arrived in the last ``window`` seconds (``n = floor(qps)`` per second; below
1 QPS, one call per ``1/qps`` s). No early arrival is tolerated and nothing is
smoothed: a client that ever puts more than the limit in any second is throttled.

Every arrival (accepted or not) is also recorded, so that tests and benchmarks can
ask ``GET /_sandbox/arrivals?api=...`` and compute the worst window themselves
(:func:`worst_window`).
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    qps: float

    @property
    def calls(self) -> int:
        """Calls allowed per :attr:`window`."""
        return max(1, math.floor(self.qps))

    @property
    def window(self) -> float:
        return 1.0 if self.qps >= 1 else 1.0 / self.qps


class RateLimiter:
    def __init__(self, limits: dict[str, Limit]) -> None:
        self.limits = limits
        self._accepted: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, api: str, credential: str, now: float | None = None) -> bool:
        limit = self.limits.get(api)
        if limit is None:
            return True
        now = time.monotonic() if now is None else now
        with self._lock:
            accepted = self._accepted.setdefault((api, credential), deque())
            while accepted and accepted[0] <= now - limit.window:
                accepted.popleft()
            if len(accepted) >= limit.calls:
                return False
            accepted.append(now)
            return True


def worst_window(times: list[float], width: float = 1.0) -> int:
    """The most of *times* in any half-open window ``[t, t + width)``."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + width) - i for i, t in enumerate(ordered)), default=0
    )
