"""Progress of a bounded crawl: done / planned calls, %, items, rate and an ETA.

Spiders say how many calls a bounded piece of work needs (signal
:data:`harvester.signals.units_planned`, ``count=``, ``api=``) and when one call is done
(:data:`harvester.signals.unit_finished`, ``api=``). Every
``HARVESTER_PROGRESS_INTERVAL`` seconds this extension logs one INFO line (read under
Scrapyd and cron as well as on a terminal)::

    Progress: 75/150 calls (50%), 3400 items (410/min), pandapon 75/150 at 8.0/s, ETA 0:00:09

and keeps ``harvester/progress/{planned,done,percent,eta_seconds}`` (and per API
``harvester/progress/<api>/{planned,done}``) in stats.

The ETA is the remaining calls of each API over the rate that API is allowed (the stat
``harvester/ratelimit/<api>/qps`` of the rate limiter once set, else its
``HARVESTER_RATE_LIMITS`` entry or the provider's ``DEFAULT_QPS``:
:func:`harvester.reporting.stats.applied_qps`),
or over the rate it actually achieved in the last minute when that is lower (a slow API,
a busy machine); APIs run side by side, so the slowest one sets the ETA. The total grows
while the walk discovers work (a first page announces the others), so early ETAs are low.

On a terminal (stderr is a TTY, ``HARVESTER_PROGRESS_BAR``) a live bar is drawn as well
(:mod:`harvester.extensions.progress_bar`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from harvester import signals as harvester_signals
from harvester.extensions.progress_bar import clock, live_bar
from harvester.reporting.stats import applied_qps

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

PREFIX = "harvester/progress"
#: Seconds of history behind the measured call rate of an API.
RATE_WINDOW = 60.0


class ApiProgress:
    """Planned and finished calls of one API, with a window of finish times."""

    def __init__(self, qps: float | None) -> None:
        self.qps = qps
        self.planned = 0
        self.done = 0
        self.recent: deque[float] = deque()

    def finish(self, now: float) -> None:
        self.done += 1
        self.recent.append(now)

    def measured_rate(self, now: float, started: float) -> float | None:
        """Calls per second over the last :data:`RATE_WINDOW` seconds (``None`` early on)."""
        while self.recent and self.recent[0] < now - RATE_WINDOW:
            self.recent.popleft()
        span = min(RATE_WINDOW, now - started)
        if span < 5.0:
            return None
        return len(self.recent) / span

    def eta(self, now: float, started: float) -> float | None:
        """Seconds for the remaining calls: at the limit, or the measured rate if lower."""
        remaining = max(0, self.planned - self.done)
        if not remaining:
            return 0.0
        rate = self.qps
        measured = self.measured_rate(now, started)
        if measured is not None and (rate is None or measured < rate):
            rate = measured
        return remaining / rate if rate else None


class Progress:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("HARVESTER_PROGRESS_ENABLED"):
            raise NotConfigured("HARVESTER_PROGRESS_ENABLED is off")
        self.interval = settings.getfloat("HARVESTER_PROGRESS_INTERVAL")
        if self.interval <= 0:
            raise NotConfigured("HARVESTER_PROGRESS_INTERVAL is 0")
        self.crawler = crawler
        self.apis: dict[str, ApiProgress] = {}
        self.started = time.monotonic()
        self._task: task.LoopingCall | None = None
        self._bar: Any = None
        crawler.signals.connect(self._planned, signal=harvester_signals.units_planned)
        crawler.signals.connect(self._finished, signal=harvester_signals.unit_finished)
        crawler.signals.connect(self._spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _api(self, api: str) -> ApiProgress:
        if api not in self.apis:
            self.apis[api] = ApiProgress(self._qps(api))
        return self.apis[api]

    def _qps(self, api: str) -> float | None:
        return applied_qps(self.crawler.stats.get_stats(), api, self.crawler.settings)

    def _planned(self, count: int, api: str) -> None:
        self._api(api).planned += count
        self._draw()

    def _finished(self, api: str) -> None:
        self._api(api).finish(time.monotonic())
        self._draw()

    def _draw(self) -> None:
        if self._bar is not None:
            self._bar.update(self.snapshot())

    def _spider_opened(self) -> None:
        self.started = time.monotonic()
        self._bar = live_bar(self.crawler.settings)
        self._task = task.LoopingCall(self.log)
        self._task.start(self.interval, now=False)

    def _spider_closed(self) -> None:
        if self._task is not None and self._task.running:
            self._task.stop()
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        self.record(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """Figures of the moment: planned, done, percent, items, rates, ETA seconds."""
        now = time.monotonic()
        elapsed = now - self.started
        for name, api in self.apis.items():
            api.qps = self._qps(name)  # the rate limiter's, once it has said
        planned = sum(a.planned for a in self.apis.values())
        done = sum(a.done for a in self.apis.values())
        etas = [a.eta(now, self.started) for a in self.apis.values()]
        known = [e for e in etas if e is not None]
        items = self.crawler.stats.get_value("item_scraped_count", 0)
        return {
            "planned": planned,
            "done": done,
            "percent": round(100.0 * done / planned, 1) if planned else None,
            "items": items,
            "items_per_minute": round(60.0 * items / elapsed) if elapsed > 0 else 0,
            "elapsed": round(elapsed, 1),
            "eta_seconds": round(max(known), 1) if known and len(known) == len(etas) else None,
            "apis": {
                name: (a.done, a.planned, a.measured_rate(now, self.started))
                for name, a in self.apis.items()
            },
        }

    def record(self, figures: dict[str, Any]) -> None:
        stats = self.crawler.stats
        for key in ("planned", "done", "percent", "eta_seconds"):
            if figures[key] is not None:
                stats.set_value(f"{PREFIX}/{key}", figures[key])
        for name, (done, planned, _rate) in figures["apis"].items():
            stats.set_value(f"{PREFIX}/{name}/planned", planned)
            stats.set_value(f"{PREFIX}/{name}/done", done)

    def log(self) -> None:
        figures = self.snapshot()
        self.record(figures)
        if not figures["planned"]:
            logger.info(
                "Progress: %d items (%d/min), no bounded work announced yet, elapsed %s",
                figures["items"],
                figures["items_per_minute"],
                clock(figures["elapsed"]),
            )
            return
        apis = ", ".join(
            f"{name} {done}/{planned}" + (f" at {rate:.1f}/s" if rate is not None else "")
            for name, (done, planned, rate) in figures["apis"].items()
        )
        logger.info(
            "Progress: %d/%d calls (%.0f%%), %d items (%d/min), %s, elapsed %.1fs, ETA %s",
            figures["done"],
            figures["planned"],
            figures["percent"],
            figures["items"],
            figures["items_per_minute"],
            apis,
            figures["elapsed"],
            clock(figures["eta_seconds"]),
        )
