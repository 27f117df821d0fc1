"""Monitors of every crawl, run by Spidermon at ``spider_closed``.

:class:`HarvesterMonitors` is Spidermon's extension behind ``HARVESTER_MONITORS_ENABLED``;
the suite (:mod:`harvester.monitors.suite`) checks the minimum items, the error and
dead-letter rates, the finish reason and the field coverage of products, with thresholds
from the ``HARVESTER_MONITOR_*`` settings. Its result goes into stats before the run's
outcome is decided (the extension is built before the outcome component, so its
``spider_closed`` handler runs first): ``harvester/monitors/passed``,
``harvester/monitors/failed`` (a count; > 0 fails the run) and
``harvester/monitors/failed/<monitor>`` (the reason).
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured, ScrapyDeprecationWarning
from spidermon.contrib.scrapy.extensions import Spidermon

from harvester.items import Product

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

# Spidermon 1.27 writes its report through Spider.log (deprecated in Scrapy 2.19)
warnings.filterwarnings(
    "ignore", message=r"Spider\.log\(\) is deprecated", category=ScrapyDeprecationWarning
)

PASSED = "harvester/monitors/passed"
FAILED = "harvester/monitors/failed"
#: ``<COVERAGE>/products`` products scraped, ``<COVERAGE>/<field>`` those with a value.
COVERAGE = "harvester/monitors/coverage"


class HarvesterMonitors(Spidermon):
    """Spidermon, switched by ``HARVESTER_MONITORS_ENABLED``."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Spidermon:
        if not crawler.settings.getbool("HARVESTER_MONITORS_ENABLED"):
            raise NotConfigured("HARVESTER_MONITORS_ENABLED is off")
        fields = list(crawler.settings.getdict("HARVESTER_MONITOR_FIELD_COVERAGE"))
        if fields:
            # connected before Spidermon's own handlers: its counts are in stats when the
            # suite runs at spider_closed
            counter = CoverageCounter(crawler, fields)
            crawler.signals.connect(counter.item_scraped, signal=signals.item_scraped, weak=False)
            crawler.signals.connect(counter.spider_closed, signal=signals.spider_closed, weak=False)
        extension = super().from_crawler(crawler)
        crawler.signals.connect(_quiet_report, signal=signals.spider_opened)
        return extension


class CoverageCounter:
    """Counts, per product, the checked fields that hold a value, as the product is
    serialized (its field values), and puts the counts in stats at close. (Spidermon's
    own SPIDERMON_ADD_FIELD_COVERAGE reads the settings and walks every field for every
    item, ~100x slower, and skips 0 unless told otherwise.)"""

    def __init__(self, crawler: Crawler, fields: list[str]) -> None:
        self.stats = crawler.stats
        self.fields = fields
        self.products = 0
        self.counts = dict.fromkeys(fields, 0)

    def item_scraped(self, item: Any) -> None:
        if not isinstance(item, Product):
            return
        self.products += 1
        counts = self.counts
        for field in self.fields:
            if has_value(getattr(item, field, None)):
                counts[field] += 1

    def spider_closed(self) -> None:
        self.stats.set_value(f"{COVERAGE}/products", self.products)
        for field, count in self.counts.items():
            self.stats.set_value(f"{COVERAGE}/{field}", count)


def has_value(value: Any) -> bool:
    """``0`` and ``False`` are values; ``None`` and empty strings, lists, dicts are not."""
    if value is None:
        return False
    return not (isinstance(value, (str, list, tuple, dict)) and not value)


class _DemoteReport(logging.Filter):
    """Spidermon's own 30-line report goes to DEBUG: failed monitors are logged as
    errors (``Monitor <name> failed: <reason>``) and summed up in the run summary."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("[Spidermon]"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def _quiet_report(spider: Spider, **_: Any) -> None:
    spider_logger = logging.getLogger(spider.name)
    if not any(isinstance(f, _DemoteReport) for f in spider_logger.filters):
        spider_logger.addFilter(_DemoteReport())
