"""Spider middleware: says when a callback's output has ended, and with which marker.

A worker of a shared crawl (:mod:`harvester.frontier`) acknowledges the unit an answer
belongs to (an id batch, a detail) only once that unit's items are stored: the unit's
callback ends its output with a work-ledger marker (:class:`~harvester.items.UnitDone`)
that the storage pipeline commits with or after the items. When the output ends, this
middleware sends :data:`harvester.signals.answer_processed` with the request and the
last marker (None: the callback stored nothing to wait for, e.g. a rejected page, or
storage is off); the spider then acknowledges at once or when the marker is stored
(:data:`harvester.signals.units_stored`). It is sent even if the callback raised, so a
unit is never left claimed by a live worker. Off (``NotConfigured``) unless a shared
crawl is possible: ``HARVESTER_REDIS_URL`` set and ``HARVESTER_FRONTIER_ENABLED`` on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import NotConfigured

from harvester import signals
from harvester.apis.base import setting_or_env
from harvester.items import UnitDone

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy.crawler import Crawler
    from scrapy.http import Response


class UnitOutput:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not (
            setting_or_env(settings, "HARVESTER_REDIS_URL")
            and settings.getbool("HARVESTER_FRONTIER_ENABLED")
        ):
            # no reason given: Scrapy logs a reason as a warning, and this is the usual case
            # (a run on its own), not a switch the user turned off
            raise NotConfigured
        return cls(crawler)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        marker: UnitDone | None = None
        try:
            async for output in result:
                if isinstance(output, UnitDone):
                    marker = output
                yield output
        finally:
            self.crawler.signals.send_catch_log(
                signal=signals.answer_processed, request=response.request, marker=marker
            )
