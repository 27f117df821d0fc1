"""``vvtool_detail``: 1688 product detail (SKUs, price tiers, stock) through vv-tool.

    scrapy crawl vvtool_detail -a shop_id=<Wangwang login id> -a product_ids=584240750353,... [-a web_site=1688 -a scene=1688]

One call per product, never the same product twice in a run (every call is
billed), at most ``-a max_calls`` / ``HARVESTER_VVTOOL_MAX_CALLS`` calls per run.
The same requests enrich a store dump: ``scrapy crawl store -a seller_open_id=...
-a details=vvtool -a shop_id=<login id>`` (see :class:`DetailFetcher`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from harvester.apis import vvtool
from harvester.items import ApiRecord
from harvester.spiders.base import ApiSpider, ArgumentError, id_list, int_arg

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy import Request
    from scrapy.http import Response

logger = logging.getLogger(__name__)


class DetailFetcher:
    """Builds vv-tool detail requests for a spider: once per product, within the call cap."""

    def __init__(self, spider: ApiSpider, shop_id: str, web_site: str | None, scene: str | None,
                 max_calls: str | None) -> None:
        if web_site not in (None, *vvtool.WEB_SITES):
            raise ArgumentError(f"-a web_site must be one of {', '.join(vvtool.WEB_SITES)}")
        if scene not in (None, *vvtool.SCENES):
            raise ArgumentError(f"-a scene must be one of {', '.join(vvtool.SCENES)}")
        self.spider, self.shop_id, self.web_site, self.scene = spider, shop_id, web_site, scene
        #: ``-a max_calls``, else ``HARVESTER_VVTOOL_MAX_CALLS`` (read once the crawl runs).
        self.max_calls: int | None = int_arg(max_calls, "max_calls", default=0, minimum=1) if max_calls else None
        self.requested: set[str] = set()
        self.capped = False

    def request(self, product_id: str, context: dict[str, Any] | None = None) -> Request | None:
        if product_id in self.requested:
            return None
        if self.max_calls is None:
            self.max_calls = self.spider.settings.getint("HARVESTER_VVTOOL_MAX_CALLS")
        if len(self.requested) >= self.max_calls:
            if not self.capped:
                self.capped = True
                logger.warning("vv-tool call cap of %d reached: no more details this run", self.max_calls)
                self.spider.crawler.stats.set_value("harvester/vvtool/max_calls_reached", True)
            return None
        self.requested.add(product_id)
        return self.spider.api_request(
            vvtool.NAME, vvtool.PATH, vvtool.body(self.shop_id, product_id, self.web_site, self.scene),
            self.parse, cb_kwargs={"context": {"shop_id": self.shop_id, **(context or {})}},
        )

    def parse(self, response: Response, context: dict[str, Any]) -> Iterator[ApiRecord]:
        yield ApiRecord(vvtool.NAME, response.meta["harvester_data"], context, response.url)



class VvtoolDetailSpider(ApiSpider):
    name = "vvtool_detail"
    apis = (vvtool.NAME,)

    def parse_arguments(
        self, product_ids: str | None = None, shop_id: str | None = None, web_site: str | None = None,
        scene: str | None = None, max_calls: str | None = None, **_: Any,
    ) -> None:
        self.product_ids = id_list(product_ids, "product_ids", numeric=True)
        if not self.product_ids:
            raise ArgumentError("vvtool_detail needs products: -a product_ids=584240750353[,...] (or @file)")
        if not shop_id:
            raise ArgumentError("vvtool_detail needs the shop: -a shop_id=<the shop's Wangwang login id>")
        self.fetcher = DetailFetcher(self, shop_id, web_site, scene, max_calls)

    async def start(self) -> AsyncIterator[Any]:
        for product_id in self.product_ids:
            request = self.fetcher.request(product_id)
            if request is not None:
                yield request
