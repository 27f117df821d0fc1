"""Decide how a crawl ended (:mod:`harvester.outcome`) and say so, once, at close.

At ``spider_closed`` the extension classifies Scrapy's finish reason and the final
stats (monitors, which run on the same signal, must be built before it: its
``EXTENSIONS`` order is high), puts the result in stats (``harvester/run/status``,
``harvester/run/exit_code``, ``harvester/run/reason``: the storage pipeline writes
that status into ``crawl_runs``) and sends :data:`harvester.signals.run_finished`
(``scrapy crawl`` takes its exit code from it; the end-of-run summary shows it).
The one-line reason is logged at ``engine_stopped``, after Scrapy's own closing
lines and the stats dump, so that it is the last line of the log.

"Nothing reachable" is told apart from other failures by the responses: none came
back, and calls failed with network errors; the reason names the first API URL
called and its base-URL setting.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured

from harvester import outcome
from harvester import signals as harvester_signals
from harvester.apis import get_provider

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

STATUS = "harvester/run/status"
EXIT_CODE = "harvester/run/exit_code"
REASON = "harvester/run/reason"


class RunOutcome:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("HARVESTER_OUTCOME_ENABLED"):
            raise NotConfigured("HARVESTER_OUTCOME_ENABLED is off")
        self.crawler = crawler
        #: (base URL, setting) of the first API call, for "nothing reachable".
        self._first_call: tuple[str, str] | None = None
        self.outcome: outcome.Outcome | None = None
        crawler.signals.connect(self._request_reached, signal=signals.request_reached_downloader)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self._engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _request_reached(self, request: Request, spider: Spider) -> None:
        if self._first_call is not None:
            return
        api = request.meta.get("harvester_api")
        setting = get_provider(api).BASE_URL_SETTING if api else "the spider's URL"
        parts = urlsplit(request.url)
        self._first_call = (f"{parts.scheme}://{parts.netloc}", setting)

    def _unreachable(self, stats: dict[str, Any]) -> tuple[str, str] | None:
        """The first call's (URL, setting) if nothing was answered and calls failed."""
        if stats.get("downloader/response_count") or not stats.get("downloader/exception_count"):
            return None
        return self._first_call or ("the API", "its base URL")

    def _spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats
        final = dict(stats.get_stats())
        self.outcome = decided = outcome.classify(reason, final, self._unreachable(final))
        stats.set_value(STATUS, decided.status)
        stats.set_value(EXIT_CODE, decided.exit_code)
        stats.set_value(REASON, decided.reason)
        self.crawler.signals.send_catch_log(
            signal=harvester_signals.run_finished,
            status=decided.status,
            exit_code=decided.exit_code,
            reason=decided.reason,
        )

    def _engine_stopped(self) -> None:
        decided = self.outcome
        if decided is None:
            return
        level = logging.INFO if decided.status == outcome.COMPLETE else logging.ERROR
        logger.log(
            level, "Run %s (exit code %d): %s", decided.status, decided.exit_code, decided.reason
        )
