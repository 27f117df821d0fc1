"""The sandbox's HTTP server: a threaded stdlib server with a small router.

Provider modules register handlers with :meth:`SandboxApp.route`; a handler
takes a :class:`SandboxRequest` and returns a :class:`SandboxResponse`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harvester.sandbox import control
from harvester.sandbox.catalog import Catalog
from harvester.sandbox.faults import Faults
from harvester.sandbox.messages import Handler, SandboxRequest, SandboxResponse
from harvester.sandbox.providers import PROVIDER_MODULES
from harvester.sandbox.ratelimit import Limit, RateLimiter

logger = logging.getLogger(__name__)


@dataclass
class SandboxConfig:
    seed: int = 1688
    #: Sizes of the 1688 stores; ``None`` means the catalog's default mix.
    store_sizes: list[int] | None = None
    #: The most offers a store listing returns per page, whatever ``pageSize`` asks.
    max_page_size: int = 50
    #: Offers a single store query can page through (1688's search window).
    search_window: int = 2000
    #: Per-API QPS limits enforced per credential by the sandbox (``{}``: none).
    rate_limits: dict[str, float] = field(default_factory=dict)


class SandboxApp:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.catalog = Catalog(config.seed, config.store_sizes)
        self.faults = Faults()
        self.limiter = RateLimiter({api: Limit(qps) for api, qps in config.rate_limits.items()})
        #: api → (arrival time, credential, the client's admission time if it sent one in
        #: ``X-Harvester-Admitted``) of every call, in ``time.monotonic()`` seconds
        self.arrivals: dict[str, list[tuple[float, str, str | None]]] = {}
        #: api → builder of that provider's error answer for a code (used by ``error`` faults).
        self.error_builders: dict[
            str, Callable[[str, str | None, SandboxRequest], SandboxResponse]
        ] = {}
        #: api → builder of that provider's own over-the-rate-limit answer.
        self.throttle_builders: dict[str, Callable[[SandboxRequest], SandboxResponse]] = {}
        #: api → the credential a request is made with (rate limits are per credential).
        self.credential_of: dict[str, Callable[[SandboxRequest], str]] = {}
        self.routes: dict[tuple[str, str], tuple[str, Handler]] = {}
        self.stats: Counter[str] = Counter()
        #: api → wall-clock time of its first and latest call (rate measurements).
        self.first_call: dict[str, float] = {}
        self.last_call: dict[str, float] = {}
        self.lock = threading.Lock()
        self.started = time.time()

    def route(self, method: str, path: str, api: str, handler: Handler) -> None:
        self.routes[(method.upper(), path)] = (api, handler)

    def count(self, key: str) -> None:
        with self.lock:
            self.stats[key] += 1

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        entry = self.routes.get((request.method, request.path))
        if entry is None:
            known = {path for _, path in self.routes}
            status = 405 if request.path in known else 404
            return SandboxResponse(
                status, {"error": f"no route for {request.method} {request.path}"}
            )
        api, handler = entry
        now = time.time()
        with self.lock:  # one lock: a stats snapshot sees a call's count and time together
            self.stats[f"{api}/calls"] += 1
            self.first_call.setdefault(api, now)
            self.last_call[api] = now
        credential_of = self.credential_of.get(api)
        credential = credential_of(request) if credential_of is not None else ""
        with self.lock:
            self.arrivals.setdefault(api, []).append(
                (request.received_at, credential, request.headers.get("x-harvester-admitted"))
            )
        if credential_of is not None and not self.limiter.allow(
            api, credential, request.received_at
        ):
            self.count(f"{api}/throttled")
            return self.throttle_builders[api](request)
        fault = self.faults.take(api)
        if fault is not None:
            self.count(f"{api}/fault/{fault.name}")
            response = fault.response(self, request, handler)
        else:
            response = handler(self, request)
        self.count(f"{api}/status/{response.status}")
        return response


def _make_handler_class(app: SandboxApp) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "harvester-sandbox/1"

        def _serve(self) -> None:
            received_at = time.monotonic()
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = SandboxRequest(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                received_at=received_at,
            )
            try:
                response = app.handle(request)
            except Exception:  # a sandbox bug must show, not hang the client
                logger.exception("sandbox handler failed for %s %s", self.command, parts.path)
                response = SandboxResponse(500, {"error": "sandbox handler failed"})
            if response.delay:
                time.sleep(response.delay)
            if response.drop:
                self.close_connection = True
                return
            payload = response.encoded()
            self.send_response(response.status)
            self.send_header(
                "Content-Type",
                response.headers.pop("Content-Type", "application/json;charset=UTF-8"),
            )
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            logger.debug("%s - %s", self.address_string(), format % args)

    return RequestHandler


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        super().__init__((host, port), _make_handler_class(app))

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def build_app(config: SandboxConfig) -> SandboxApp:
    app = SandboxApp(config)
    control.register(app)
    for module in PROVIDER_MODULES:
        module.register(app)
    return app
