"""A failed monitor's webhook: posted beside the closing crawl, never blocking it, and
bounded by ``HARVESTER_MONITOR_WEBHOOK_TIMEOUT``."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


class SlowHook(BaseHTTPRequestHandler):
    """Reads the POST, keeps it, then holds the answer back for ``server.hold`` seconds."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        self.server.bodies.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        time.sleep(self.server.hold)  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def crawl_with_webhook(run_crawl: Any, sandbox: Any, hold: float) -> tuple[Any, list[Any]]:
    """A 7-item store walk whose monitor fails, its webhook answered after *hold* s."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHook)
    server.daemon_threads = True
    server.bodies, server.hold = [], hold  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = run_crawl(
            "store",
            sandbox,
            args={"seller_open_id": sandbox.store(7)},
            settings={
                "HARVESTER_MONITOR_MIN_ITEMS": 1000,
                "HARVESTER_MONITOR_WEBHOOK_URL": f"http://127.0.0.1:{server.server_port}/hook",
                "HARVESTER_MONITOR_WEBHOOK_TIMEOUT": 1,
            },
            timeout=60,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1, result.log[-3000:]  # a failed monitor fails the run
    assert server.bodies == [  # type: ignore[attr-defined]
        {
            "spider": "store",
            "failed": {"items/minimum": "7 items, fewer than HARVESTER_MONITOR_MIN_ITEMS=1000"},
        }
    ]
    return result, result.log.splitlines()


def test_webhook_posts_the_failed_monitors(sandbox, run_crawl):
    result, _ = crawl_with_webhook(run_crawl, sandbox, hold=0)
    assert result.stats["harvester/monitors/webhook/sent"] == 1
    assert "Monitor webhook" not in result.log


def test_webhook_runs_beside_the_close_and_gives_up_after_its_timeout(sandbox, run_crawl):
    result, lines = crawl_with_webhook(run_crawl, sandbox, hold=6)
    # the close went on while the POST was pending (a blocking call would hold the
    # reactor until the answer came, 6 s later, and log no failure)...
    closed = next(i for i, line in enumerate(lines) if "Spider closed (finished)" in line)
    gave_up = next(i for i, line in enumerate(lines) if "Monitor webhook: POST to" in line)
    assert closed < gave_up
    assert "no answer within 1 s" in lines[gave_up]
    # ...and the process waited for it no longer than the timeout (1 s; the log's clock
    # counts whole seconds)
    stamp = [datetime.strptime(lines[i][:19], "%Y-%m-%d %H:%M:%S") for i in (closed, gave_up)]
    assert (stamp[1] - stamp[0]).total_seconds() <= 2
    assert result.stats["harvester/monitors/webhook/failed"] == 1
    assert "harvester/monitors/webhook/sent" not in result.stats
