"""``vvtool_detail``: 1688 product detail (SKUs, price tiers, stock) through vv-tool.

    scrapy crawl vvtool_detail -a shop_id=<Wangwang login id> -a product_ids=584240750353,...
    options: -a web_site=1688|alibaba -a scene=1688|lst -a max_calls=500
    ids from a file, one per line: -a product_ids=@ids.txt

Every call is billed, even for a missing item: the requests come from
:class:`~harvester.spiders._detail.DetailFetcher` (once per product, within the call
cap ``-a max_calls`` / ``HARVESTER_VVTOOL_MAX_CALLS``, retries included; no more
calls for a shop vv-tool refuses). The same fetcher enriches a store dump:
``scrapy crawl store -a seller_open_id=... -a details=vvtool -a shop_id=<login id>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from harvester.apis import vvtool
from harvester.spiders._detail import DetailFetcher, VvtoolOptions
from harvester.spiders.arguments import NumericIds
from harvester.spiders.base import ApiSpider

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy.crawler import Crawler


class VvtoolDetailArguments(VvtoolOptions):
    required = (
        (
            ("product_ids",),
            "vvtool_detail needs products: -a product_ids=584240750353[,...] (or @file)",
        ),
        (("shop_id",), "vvtool_detail needs the shop: -a shop_id=<the shop's Wangwang login id>"),
    )

    product_ids: NumericIds = Field(
        [], title="Products", description="1688 offer ids: 584240750353,... or @file"
    )


class VvtoolDetailSpider(ApiSpider):
    name = "vvtool_detail"
    apis = (vvtool.NAME,)
    Arguments = VvtoolDetailArguments
    shareable = True

    def configure(self, arguments: VvtoolDetailArguments) -> None:
        self.product_ids = arguments.product_ids
        self.fetcher = DetailFetcher(self, arguments)

    def connected(self, crawler: Crawler) -> None:
        self.fetcher.connect()
        if self.shared is not None:  # the call cap is the shared crawl's
            self.fetcher.share(self.shared)

    async def start(self) -> AsyncIterator[Any]:
        # at most CONCURRENT_REQUESTS calls unanswered: a 302, the cap or a quota answer
        # stops the run before the rest of the ids are queued (and billed)
        window = max(1, self.settings.getint("CONCURRENT_REQUESTS"))
        self.plan(len(self.product_ids), vvtool.NAME)
        # a worker of a shared crawl (HARVESTER_REDIS_URL) asks for the products it claims
        async for product_id in self.shared_units(self.product_ids):
            await self.fetcher.wait_below(window)
            request = await self.fetcher.request_within(product_id)
            if self.fetcher.stopped:
                return
            if request is None:
                self.unit_skipped(product_id)
            else:
                yield self.tag(request, product_id)
