"""The throughput baseline: a bare Scrapy spider making the store walk's requests.

Same signed POST/JSON page requests as ``store`` (signed with the project's pure
PandaPon functions), plain dicts out, no pipelines, no feed export, no project
middlewares. ``python -m bench.bare_spider SELLER PAGES STATS_JSON``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import JsonRequest

from harvester.apis import pandapon
from harvester.apis.base import setting_or_env


class BareStoreSpider(scrapy.Spider):
    name = "bare_store"

    def __init__(self, seller: str, pages: int, page_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seller, self.pages, self.page_size = seller, pages, page_size
        self.base = setting_or_env(None, "PANDAPON_BASE_URL")
        self.keys = {name: setting_or_env(None, name) for name in pandapon.CREDENTIAL_SETTINGS}

    def page(self, number: int) -> JsonRequest:
        headers = pandapon.sign_headers(
            access_key=self.keys["PANDAPON_ACCESS_KEY"],
            secret_key=self.keys["PANDAPON_SECRET_KEY"],
            user_id=self.keys["PANDAPON_USER_ID"],
            now=time.time(),
        )
        body = pandapon.StoreQuery(self.seller).body(number, self.page_size)
        return JsonRequest(
            f"{self.base}{pandapon.STORE_PATH}", data=body, headers=headers, callback=self.parse
        )

    async def start(self):  # type: ignore[no-untyped-def]
        yield self.page(1)

    def parse(self, response):  # type: ignore[no-untyped-def]
        data = json.loads(response.body)["data"]
        if data["currentPage"] == 1:
            for number in range(2, data["totalPage"] + 1):
                yield self.page(number)
        yield from data["data"]


def main(argv: list[str]) -> None:
    seller, pages, stats_path = argv[0], int(argv[1]), argv[2]
    process = CrawlerProcess(
        {
            "LOG_LEVEL": "ERROR",
            "TELNETCONSOLE_ENABLED": False,
            "ROBOTSTXT_OBEY": False,
            "COOKIES_ENABLED": False,
            "CONCURRENT_REQUESTS": 16,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        }
    )
    crawler = process.create_crawler(BareStoreSpider)
    process.crawl(crawler, seller=seller, pages=pages, page_size=50)
    process.start()
    with open(stats_path, "w") as handle:
        json.dump(crawler.stats.get_stats(), handle, default=str)


if __name__ == "__main__":
    main(sys.argv[1:])
