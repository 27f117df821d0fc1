"""Scrapy's log messages, without building the per-item ones no handler would print.

Scrapy logs every scraped item at ``DEBUG`` ("Scraped from <response>") and lets
the root handler drop it when ``LOG_LEVEL`` is higher: the log record is still
built (caller lookup included) for every item. This formatter returns ``None`` for
those messages — Scrapy's documented way to skip one — unless ``LOG_LEVEL`` shows
``DEBUG``. Everything else (dropped items, errors) is Scrapy's own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.logformatter import LogFormatter, LogFormatterResult

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure


class HarvesterLogFormatter(LogFormatter):
    def __init__(self, log_level: int | str = logging.DEBUG) -> None:
        super().__init__()
        level = logging.getLevelName(log_level) if isinstance(log_level, str) else log_level
        self.items_logged = not isinstance(level, int) or level <= logging.DEBUG

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings.get("LOG_LEVEL", "DEBUG"))

    def scraped(
        self, item: Any, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult | None:
        if not self.items_logged:
            return None
        return super().scraped(item, response, spider)
