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
  throttle answer, HTTP 429 or in-body, a transient error or a network error)
  multiplies the slot's delay (``HARVESTER_BACKOFF_FACTOR``, capped by
  ``AUTOTHROTTLE_MAX_DELAY``) and, when the provider said how long to wait
  (``Retry-After``, a ban duration), holds the whole slot that long: the
  downloader sends a slot's next request at ``lastseen + delay``, so a hold moves
  ``lastseen`` into the future, and is kept while the delay changes.
  Successful answers bring the delay back down towards the floor.

Non-API slots keep the stock behaviour.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy.extensions.throttle import AutoThrottle

from harvester import signals
from harvester.apis.base import META_API

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
        #: slot key → ``time.monotonic()`` until which the provider asked us to wait
        self._held_until: dict[str, float] = {}
        crawler.signals.connect(self._backoff, signal=signals.api_backoff)
        crawler.signals.connect(self._answer, signal=signals.api_answer)

    def floor(self, key: str) -> float:
        """A slot's minimum delay: its ``DOWNLOAD_SLOTS`` delay (``1/QPS``), at least
        ``DOWNLOAD_DELAY``."""
        per_slot = self.crawler.engine.downloader.per_slot_settings.get(key, {})
        return max(float(per_slot.get("delay", self.mindelay)), self.mindelay)

    def _response_downloaded(self, response: Response, request: Request, spider: Any) -> None:
        # API answers are judged by their body, not their status: they arrive classified
        # through the api_answer signal instead.
        if request.meta.get(META_API):
            return
        super()._response_downloaded(response, request, spider)

    def _answer(self, request: Request, response: Response) -> None:
        """A successful API answer: AutoThrottle's policy, above this slot's own floor."""
        key, slot = self._get_slot(request, self.crawler.spider)
        latency = request.meta.get("download_latency")
        if (
            key is None
            or slot is None
            or latency is None
            or request.meta.get("autothrottle_dont_adjust_delay")
        ):
            return
        old = slot.delay
        # 1. the stock policy: towards latency / AUTOTHROTTLE_TARGET_CONCURRENCY, floored at
        #    DOWNLOAD_DELAY
        self._adjust_delay(slot, latency, response)
        # 2. never below the API's own limit
        slot.delay = max(slot.delay, self.floor(key))
        # 3. a delay change must not shorten a hold the provider asked for
        self._keep_hold(key, slot)
        if self.debug:
            logger.info(
                "slot %s: delay %.3f s (%+.3f), latency %.3f s",
                key,
                slot.delay,
                slot.delay - old,
                latency,
            )

    def _backoff(self, request: Request, error: ApiError, factor: float | None = None) -> None:
        key, slot = self._get_slot(request, self.crawler.spider)
        if key is None or slot is None:
            return
        floor = self.floor(key)
        # 1. slow the slot down: never below its floor, never above the max delay
        slot.delay = min(
            max(slot.delay, floor) * (factor or self.factor), max(self.maxdelay, floor)
        )
        # 2. if the provider said how long to wait, hold every request of the slot that long
        if error.retry_after:
            until = time.monotonic() + error.retry_after
            self._held_until[key] = max(self._held_until.get(key, 0.0), until)
            self.crawler.stats.inc_value(f"harvester/throttle/{error.api}/held")
        self._keep_hold(key, slot)
        self.crawler.stats.inc_value(f"harvester/throttle/{error.api}/backoff")
        logger.info(
            "%s: %s — slot %s delay now %.3f s%s",
            error.api,
            error.code,
            key,
            slot.delay,
            f", held {error.retry_after:.1f} s" if error.retry_after else "",
        )

    def _keep_hold(self, key: str, slot: Slot) -> None:
        """Make the downloader's next send (``lastseen + delay``) no earlier than the hold's end."""
        until = self._held_until.get(key)
        if until is None:
            return
        if until <= time.monotonic():
            del self._held_until[key]
            return
        slot.lastseen = max(slot.lastseen, until - slot.delay)
