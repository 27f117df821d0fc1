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

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

# Spidermon 1.27 writes its report through Spider.log (deprecated in Scrapy 2.19)
warnings.filterwarnings(
    "ignore", message=r"Spider\.log\(\) is deprecated", category=ScrapyDeprecationWarning
)

PASSED = "harvester/monitors/passed"
FAILED = "harvester/monitors/failed"


class HarvesterMonitors(Spidermon):
    """Spidermon, switched by ``HARVESTER_MONITORS_ENABLED``."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Spidermon:
        if not crawler.settings.getbool("HARVESTER_MONITORS_ENABLED"):
            raise NotConfigured("HARVESTER_MONITORS_ENABLED is off")
        extension = super().from_crawler(crawler)
        crawler.signals.connect(_quiet_report, signal=signals.spider_opened)
        return extension


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
