"""A crawler with a fake engine and downloader, for unit tests of rate-limit components."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.core.downloader import Slot
from scrapy.http import JsonRequest
from scrapy.utils.test import get_crawler

from harvester import settings as project_settings

PROJECT = {
    name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()
}


class FakeDownloader:
    def __init__(self) -> None:
        self.per_slot_settings: dict[str, dict[str, Any]] = {}
        self.slots: dict[str, Slot] = {}
        self._delay = 0.0


class FakeEngine:
    def __init__(self) -> None:
        self.downloader = FakeDownloader()
        self.closed: list[str] = []

    async def close_spider_async(self, reason: str) -> None:
        self.closed.append(reason)


def make_crawler(**settings: Any) -> scrapy.crawler.Crawler:
    crawler = get_crawler(settings_dict={**PROJECT, **settings})
    crawler.engine = FakeEngine()
    crawler.spider = scrapy.Spider.from_crawler(crawler, name="test")
    return crawler


def api_request(api: str = "pandapon", **meta: Any) -> JsonRequest:
    return JsonRequest("http://sandbox/x", data={}, meta={"harvester_api": api, **meta})
