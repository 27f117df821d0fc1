"""The sandbox's request and response: what handlers take and return.

Kept apart from :mod:`.server` so that handlers, faults and control endpoints depend on
these plain types, never on the server (no import cycle).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from harvester.sandbox.server import SandboxApp


@dataclass
class SandboxRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    #: ``time.monotonic()`` when the request line was read (rate limits judge arrivals by it).
    received_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


@dataclass
class SandboxResponse:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Raw bytes to send instead of JSON-encoding ``body`` (malformed-body faults).
    raw: bytes | None = None
    #: Seconds to sleep before answering (slow-response faults).
    delay: float = 0.0
    #: Close the connection without answering (dropped-connection faults).
    drop: bool = False

    def encoded(self) -> bytes:
        if self.raw is not None:
            return self.raw
        text = json.dumps(self.body, ensure_ascii=False, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (a poisoned record): escaped, as JSON allows
            return json.dumps(self.body, separators=(",", ":")).encode("ascii")


Handler = Callable[["SandboxApp", SandboxRequest], SandboxResponse]
