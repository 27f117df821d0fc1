"""Fault injection: the next N calls of an API fail in a chosen way.

Faults (``POST /_sandbox/faults`` with ``{"api", "fault", "count", ...}``):

- ``http500`` / ``http503``: that status with a bare JSON error body;
- ``http429``: status 429 with ``Retry-After: <retry_after>`` (default 1 s);
- ``error``: the provider's own error envelope for ``code`` (and ``message``),
  exactly as its endpoint would answer it (e.g. a TOP ``error_response``);
- ``malformed``: HTTP 200 with a body that is not JSON;
- ``slow``: the real answer, ``delay`` seconds late;
- ``drop``: the connection is closed without an answer.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harvester.sandbox.server import Handler, SandboxApp, SandboxRequest, SandboxResponse

FAULT_NAMES = ("http500", "http503", "http429", "error", "malformed", "slow", "drop")


@dataclass
class Fault:
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def response(
        self, app: SandboxApp, request: SandboxRequest, handler: Handler
    ) -> SandboxResponse:
        from harvester.sandbox.server import SandboxResponse

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
        self._lock = threading.Lock()

    def add(self, api: str, name: str, count: int = 1, **params: Any) -> None:
        if name not in FAULT_NAMES:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
        with self._lock:
            for _ in range(count):
                self._queues[api].append(Fault(name, {"api": api, **params}))

    def take(self, api: str) -> Fault | None:
        with self._lock:
            queue = self._queues.get(api)
            return queue.popleft() if queue else None

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
