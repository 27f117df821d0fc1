"""The webhook action: POST the failed monitors as JSON without blocking the reactor.

Spidermon runs actions synchronously inside its ``spider_closed`` handler, so the POST
is only *started* there, with Twisted's HTTP client (no thread, the reactor keeps
serving the close), and bounded by ``HARVESTER_MONITOR_WEBHOOK_TIMEOUT`` seconds (connect
and answer together; then it is cancelled). The reactor waits for it before shutting
down (a ``before shutdown`` trigger), so ``scrapy crawl`` never exits with the POST half
sent. Outcome in stats: ``harvester/monitors/webhook/sent`` or
``harvester/monitors/webhook/failed``; a failure is logged as a warning, never raised.
"""

from __future__ import annotations

import json
import logging
from io import BytesIO
from typing import TYPE_CHECKING, Any

from spidermon.core.actions import Action
from spidermon.exceptions import SkipAction
from twisted.internet.defer import TimeoutError
from twisted.python.failure import Failure
from twisted.web.client import Agent, FileBodyProducer, PartialDownloadError, readBody
from twisted.web.http_headers import Headers

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector
    from twisted.internet.defer import Deferred
    from twisted.web.iweb import IResponse

logger = logging.getLogger(__name__)

STATS = "harvester/monitors/webhook"


def post_json(url: str, payload: Any, timeout: float) -> Deferred[int]:
    """POST *payload* as JSON to *url*; fires with the HTTP status once the answer is
    read, or fails (``TimeoutError`` after *timeout* seconds, network errors)."""
    from twisted.internet import reactor

    agent = Agent(reactor, connectTimeout=timeout)
    sent = agent.request(
        b"POST",
        url.encode("ascii"),
        Headers({b"Content-Type": [b"application/json"]}),
        FileBodyProducer(BytesIO(json.dumps(payload).encode())),
    )
    sent.addCallback(_status)
    return sent.addTimeout(timeout, reactor, onTimeoutCancel=_timed_out)


def _timed_out(result: Any, timeout: float) -> Failure:
    """Whatever the cancelled request failed with (the client wraps it): a timeout."""
    return Failure(TimeoutError(f"no answer within {timeout:g} s"))


def _status(response: IResponse) -> Deferred[int]:
    """The answer's status once its body is read (an HTTP/1.0 body ended by closing the
    connection counts as read)."""
    body = readBody(response)
    body.addErrback(lambda failure: failure.trap(PartialDownloadError))
    return body.addCallback(lambda _: response.code)


class Webhook(Action):
    """POSTs the failed monitors as JSON to ``HARVESTER_MONITOR_WEBHOOK_URL`` (off when empty)."""

    def run_action(self) -> None:
        from twisted.internet import reactor

        crawler = self.data.crawler
        url = crawler.settings.get("HARVESTER_MONITOR_WEBHOOK_URL")
        if not url:
            raise SkipAction("HARVESTER_MONITOR_WEBHOOK_URL is empty")
        body = {
            "spider": self.data.spider.name,
            "failed": {
                r.monitor.name: failure_reason(r) for r in self.result.monitors_failed_results
            },
        }
        timeout = crawler.settings.getfloat("HARVESTER_MONITOR_WEBHOOK_TIMEOUT")
        delivery = post_json(url, body, timeout)
        delivery.addCallbacks(
            _answered, _failed, (crawler.stats,), None, (crawler.stats, url, timeout)
        )
        reactor.addSystemEventTrigger("before", "shutdown", lambda: delivery)


def failure_reason(result: Any) -> str:
    """The assertion message of a failed monitor (the last line of its error)."""
    text = str(result.error or result.reason or "failed").strip().splitlines()[-1]
    return text.removeprefix("AssertionError: ").split(" : ", 1)[-1]


def _answered(status: int, stats: StatsCollector) -> None:
    outcome = "sent" if 200 <= status < 300 else "failed"
    stats.inc_value(f"{STATS}/{outcome}")
    if outcome == "failed":
        logger.warning("Monitor webhook: the URL answered HTTP %d", status)


def _failed(failure: Failure, stats: StatsCollector, url: str, timeout: float) -> None:
    stats.inc_value(f"{STATS}/failed")
    why = failure.getErrorMessage() or str(failure.type)
    if failure.check(TimeoutError):
        why += " (HARVESTER_MONITOR_WEBHOOK_TIMEOUT)"
    logger.warning("Monitor webhook: POST to %s failed: %s", url, why)
