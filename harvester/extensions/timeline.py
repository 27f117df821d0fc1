"""Per-second counters of a crawl, kept in its final stats for ``scrapy report``.

Counts, per second since the spider opened: API answers per API (responses whose request
carries ``harvester_api``), items scraped, errors (dead letters and callback errors) and
back-offs (throttle answers and transient errors, signal ``api_backoff``). At close they
go into stats as one value, ``harvester/timeline`` (so into ``crawl_runs.stats``)::

    {"step": 1, "seconds": 42, "calls": {"pandapon": [8, 10, ...]}, "items": [...],
     "errors": [...], "backoffs": [...]}

A long crawl is folded into at most ``HARVESTER_TIMELINE_POINTS`` buckets of ``step``
seconds. Cost: one dict increment per event.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from harvester import signals as harvester_signals

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

STATS_KEY = "harvester/timeline"


def fold(counts: Counter[int], seconds: int, step: int) -> list[int]:
    """Per-second *counts* as a list of ``ceil(seconds / step)`` bucket sums."""
    buckets = [0] * max(1, math.ceil(seconds / step))
    for second, count in counts.items():
        buckets[min(second // step, len(buckets) - 1)] += count
    return buckets


class Timeline:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("HARVESTER_TIMELINE_ENABLED"):
            raise NotConfigured("HARVESTER_TIMELINE_ENABLED is off")
        self.crawler = crawler
        self.points = max(1, crawler.settings.getint("HARVESTER_TIMELINE_POINTS"))
        self.started = time.monotonic()
        self.calls: dict[str, Counter[int]] = {}
        self.items: Counter[int] = Counter()
        self.errors: Counter[int] = Counter()
        self.backoffs: Counter[int] = Counter()
        connect = crawler.signals.connect
        connect(self._opened, signal=signals.spider_opened)
        connect(self._response, signal=signals.response_received)
        connect(self._item, signal=signals.item_scraped)
        connect(self._error, signal=harvester_signals.dead_letter)
        connect(self._error, signal=signals.spider_error)
        connect(self._backoff, signal=harvester_signals.api_backoff)
        connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _second(self) -> int:
        return int(time.monotonic() - self.started)

    def _opened(self) -> None:
        self.started = time.monotonic()

    def _response(self, response: Response, request: Request) -> None:
        api = request.meta.get("harvester_api")
        if api:
            self.calls.setdefault(api, Counter())[self._second()] += 1

    def _item(self) -> None:
        self.items[self._second()] += 1

    def _error(self, **_: Any) -> None:
        self.errors[self._second()] += 1

    def _backoff(self, **_: Any) -> None:
        self.backoffs[self._second()] += 1

    def series(self) -> dict[str, Any]:
        seconds = max(1, math.ceil(time.monotonic() - self.started))
        step = max(1, math.ceil(seconds / self.points))
        return {
            "step": step,
            "seconds": seconds,
            "calls": {api: fold(counts, seconds, step) for api, counts in self.calls.items()},
            "items": fold(self.items, seconds, step),
            "errors": fold(self.errors, seconds, step),
            "backoffs": fold(self.backoffs, seconds, step),
        }

    def _closed(self) -> None:
        # before the storage pipeline copies the stats into crawl_runs (connected later)
        self.crawler.stats.set_value(STATS_KEY, self.series())
