"""Garbage-collector thresholds for a crawl process (``HARVESTER_GC_THRESHOLDS``).

A crawl allocates a handful of containers per item (the parsed record, the
normalized product, its lists) and the storage pipeline keeps a batch of them
alive until the writer takes it. With CPython's default thresholds (700, 10, 10)
the collector then runs every few dozen items and walks every buffered item
again each time: on the throughput benchmark that was a quarter of the crawl
process's time (``bench/README.md``). Reference counting still frees items as
soon as they are released; the thresholds only decide how often the collector
looks for reference cycles.

At engine start the extension collects once, moves the objects of the start-up
(modules, classes, settings) out of the collector's reach (``gc.freeze``) and
sets the thresholds; at engine stop it restores both. The storage writer process
uses the same thresholds (:func:`harvester.storage.writer.init_process`).
``HARVESTER_GC_THRESHOLDS = None`` leaves the collector alone.
"""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured

from harvester.gc_setting import thresholds_setting

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class GcThresholds:
    def __init__(self, thresholds: tuple[int, int, int]) -> None:
        self.thresholds = thresholds
        self.previous: tuple[int, int, int] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        try:
            thresholds = thresholds_setting(crawler.settings.get("HARVESTER_GC_THRESHOLDS"))
        except ValueError as exc:
            raise NotConfigured(str(exc)) from None
        if thresholds is None:
            raise NotConfigured("HARVESTER_GC_THRESHOLDS is not set")
        extension = cls(thresholds)
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_started(self) -> None:
        self.previous = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(*self.thresholds)
        logger.debug("GC thresholds %s (were %s)", self.thresholds, self.previous)

    def engine_stopped(self) -> None:
        if self.previous is not None:
            gc.set_threshold(*self.previous)
            gc.unfreeze()
            self.previous = None
