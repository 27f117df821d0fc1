"""AutoThrottle that respects each API slot's rate limit and backs off on throttle answers.

Scrapy's stock AutoThrottle uses the global ``DOWNLOAD_DELAY`` as its floor and
only sees HTTP statuses. This one:

- adapts API slots on answers the error middleware judged successful
  (:data:`harvester.signals.api_answer`), since a throttle error may arrive in
  an HTTP 200 body;
- floors every slot at its own delay from ``DOWNLOAD_SLOTS`` (``1/QPS`` for API
  slots, set by :mod:`harvester.middlewares.ratelimit`): it adapts above the
  limit, never below;
- on :data:`harvester.signals.api_backoff` (sent by the error middleware for a
  throttle answer, HTTP 429 or in-body, or a transient error) multiplies the
  slot's delay (``HARVESTER_BACKOFF_FACTOR``, capped by ``AUTOTHROTTLE_MAX_DELAY``)
  and, when the provider said how long to wait (``Retry-After``, a ban
  duration), holds the whole slot that long. Successful answers bring the delay
  back down towards the floor.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy.extensions.throttle import AutoThrottle

from harvester import signals

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from harvester.apis.base import ApiError

logger = logging.getLogger(__name__)


class ApiAutoThrottle(AutoThrottle):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.factor = crawler.settings.getfloat("HARVESTER_BACKOFF_FACTOR")
        self._floors: dict[int, float] = {}
        crawler.signals.connect(self._backoff, signal=signals.api_backoff)
        crawler.signals.connect(self._answer, signal=signals.api_answer)

    def _floor(self, request: Request, slot: Slot) -> float:
        key = request.meta.get("download_slot")
        per_slot = self.crawler.engine.downloader.per_slot_settings.get(key, {})
        return float(per_slot.get("delay", self.mindelay))

    def _response_downloaded(self, response: Response, request: Request, spider: Any) -> None:
        # API answers are judged by their body, not their status: they arrive classified
        # through the api_answer signal instead.
        if request.meta.get("harvester_api"):
            return
        super()._response_downloaded(response, request, spider)

    def _answer(self, request: Request, response: Response) -> None:
        """A successful API answer: AutoThrottle's policy, with this slot's own floor."""
        key, slot = self._get_slot(request, self.crawler.spider)
        if slot is None:
            return
        self.mindelay = self._floor(request, slot)
        super()._response_downloaded(response, request, self.crawler.spider)

    def _backoff(self, request: Request, error: ApiError, factor: float | None = None) -> None:
        key, slot = self._get_slot(request, self.crawler.spider)
        if slot is None:
            return
        floor = self._floor(request, slot)
        # 1. slow the slot down: never below its floor, never above the max delay
        slot.delay = min(max(slot.delay, floor) * (factor or self.factor), max(self.maxdelay, floor))
        # 2. if the provider said how long to wait, hold every request of the slot that long
        if error.retry_after:
            slot.lastseen = max(slot.lastseen, time.monotonic() + error.retry_after - slot.delay)
        self.crawler.stats.inc_value(f"harvester/throttle/{error.api}/backoff")
        logger.info(
            "%s: %s — slot %s delay now %.3f s%s", error.api, error.code, key, slot.delay,
            f", held {error.retry_after:.1f} s" if error.retry_after else "",
        )
