"""Fault injection: the next N calls of an API fail in a chosen way, or a share of them.

Faults (``POST /_sandbox/faults`` with ``{"api", "fault", "count", ...}``):

- ``http500`` / ``http503``: that status with a bare JSON error body;
- ``http429``: status 429 with ``Retry-After: <retry_after>`` (default 1 s);
- ``error``: the provider's own error envelope for ``code`` (and ``message``),
  exactly as its endpoint would answer it (e.g. a TOP ``error_response``);
- ``malformed``: HTTP 200 with a body that is not JSON;
- ``slow``: the real answer, ``delay`` seconds late;
- ``drop``: the connection is closed without an answer.

Random mode (``{"api", "rate": 0.1, "mix": [{"fault": "http500"}, {"fault": "error",
"code": "500"}, ...], "seed": 1}``): each call of that API not served by a queued fault
fails with probability ``rate``, in a way drawn from ``mix`` (each entry a fault and its
parameters); the draws come from ``random.Random(seed)``, so a run is repeatable for
the same sequence of calls. ``{"api", "rate": 0}`` ends it.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harvester.sandbox.messages import SandboxResponse

if TYPE_CHECKING:
    from harvester.sandbox.messages import Handler, SandboxRequest
    from harvester.sandbox.server import SandboxApp

FAULT_NAMES = ("http500", "http503", "http429", "error", "malformed", "slow", "drop")


@dataclass
class Fault:
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def response(
        self, app: SandboxApp, request: SandboxRequest, handler: Handler
    ) -> SandboxResponse:
        if self.name in ("http500", "http503"):
            status = int(self.name[4:])
            return SandboxResponse(status, {"error": "injected fault", "status": status})
        if self.name == "http429":
            retry_after = self.params.get("retry_after", 1)
            return SandboxResponse(
                429, {"error": "too many requests"}, {"Retry-After": str(retry_after)}
            )
        if self.name == "error":
            builder = app.error_builders[self.params["api"]]
            return builder(str(self.params.get("code")), self.params.get("message"), request)
        if self.name == "malformed":
            return SandboxResponse(200, raw=b'{"code": 200, "data": [truncated')
        if self.name == "drop":
            return SandboxResponse(drop=True)
        if self.name == "slow":
            response = handler(app, request)
            response.delay = float(self.params.get("delay", 1.0))
            return response
        raise ValueError(f"unknown fault {self.name!r}")


class Faults:
    """Per-API queues of pending faults (thread-safe)."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = defaultdict(deque)
        #: api → (rate, faults to draw from, random source) of the random mode.
        self._random: dict[str, tuple[float, list[Fault], random.Random]] = {}
        self._lock = threading.Lock()

    def set_random(
        self, api: str, rate: float, mix: list[dict[str, Any]], seed: int | None = None
    ) -> None:
        """Make a share *rate* of *api*'s calls fail, each in a way drawn from *mix*."""
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be between 0 and 1, got {rate}")
        faults = []
        for entry in mix:
            params = {k: v for k, v in entry.items() if k != "fault"}
            if entry.get("fault") not in FAULT_NAMES:
                raise ValueError(
                    f"unknown fault {entry.get('fault')!r}; known: {', '.join(FAULT_NAMES)}"
                )
            faults.append(Fault(entry["fault"], {"api": api, **params}))
        with self._lock:
            if rate == 0 or not faults:
                self._random.pop(api, None)
            else:
                self._random[api] = (rate, faults, random.Random(seed))

    def add(self, api: str, name: str, count: int = 1, **params: Any) -> None:
        if name not in FAULT_NAMES:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
        with self._lock:
            for _ in range(count):
                self._queues[api].append(Fault(name, {"api": api, **params}))

    def take(self, api: str) -> Fault | None:
        with self._lock:
            queue = self._queues.get(api)
            if queue:
                return queue.popleft()
            if api in self._random:
                rate, faults, draw = self._random[api]
                if draw.random() < rate:
                    return draw.choice(faults)
            return None

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self._random.clear()
