"""Per-credential rate limits, enforced like the real gateways.

A GCRA (generic cell rate algorithm, the token bucket's exact equivalent) per
(API, credential): a bucket of ``burst`` tokens (default 2) refilled at ``qps``
per second — calls are spaced ``1/qps`` apart on average and the long-run rate
never exceeds ``qps``; ``burst`` calls may come back to back (a hiccup on the
way in compresses two gaps into one), and an arrival up to ``tolerance`` × one interval early
still passes (default 10 %: connection set-up and thread scheduling jitter on
the way in; the long-run rate can never exceed ``qps``). Real gateways count
calls per one-second window, which is more lenient than this. Over-limit calls
get the provider's own throttle answer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    qps: float
    burst: int = 2
    #: Fraction of one interval an arrival may be early.
    tolerance: float = 0.1


class RateLimiter:
    def __init__(self, limits: dict[str, Limit]) -> None:
        self.limits = limits
        self._tat: dict[tuple[str, str], float] = {}  # theoretical arrival time per key
        self._lock = threading.Lock()

    def allow(self, api: str, credential: str, now: float | None = None) -> bool:
        limit = self.limits.get(api)
        if limit is None:
            return True
        now = time.monotonic() if now is None else now
        interval = 1.0 / limit.qps
        slack = (limit.burst - 1 + limit.tolerance) * interval
        key = (api, credential)
        with self._lock:
            tat = max(self._tat.get(key, now), now)
            if tat - now > slack:
                return False
            self._tat[key] = tat + interval
            return True
