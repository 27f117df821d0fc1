"""``vvtool_detail``: 1688 product detail (SKUs, price tiers, stock) through vv-tool.

    scrapy crawl vvtool_detail -a shop_id=<Wangwang login id> -a product_ids=584240750353,...
    options: -a web_site=1688|alibaba -a scene=1688|lst -a max_calls=500
    ids from a file, one per line: -a product_ids=@ids.txt

Every call is billed, even for a missing item, so :class:`DetailFetcher`:

- asks for each product once per run (ids are deduplicated, and a product met
  again, e.g. in two price bands of a store walk, is not asked for again);
- stops asking once ``-a max_calls`` (else ``HARVESTER_VVTOOL_MAX_CALLS``) calls
  are committed, retries included, and says so in the log and in the stat
  ``harvester/vvtool/max_calls_reached``;
- stops asking for a shop refused as such (302 not authorized, 103 unknown
  Wangwang account): the log names the shop and, for 302, the authorization
  link; the failed products are dead letters.

The same fetcher enriches a store dump: ``scrapy crawl store -a seller_open_id=...
-a details=vvtool -a shop_id=<login id>`` (see :mod:`harvester.spiders.store`).
Stats: ``harvester/vvtool/requested`` (products asked for) and
``harvester/vvtool/withholding_money`` (what the answers say the calls cost).
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from harvester.apis import vvtool
from harvester.apis.base import ErrorClass
from harvester.items import ApiRecord
from harvester.middlewares.errors import ApiRejected
from harvester.spiders.base import ApiSpider, ArgumentError, id_list, int_arg

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy import Request
    from scrapy.http import Response
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

#: Answers after which the error middleware closes the crawl: ask for nothing more.
FATAL = (ErrorClass.QUOTA, ErrorClass.AUTH, ErrorClass.CLOCK)
#: Seconds ``vvtool_detail`` waits for an answer before it schedules more anyway (a safety
#: net: every request ends in its callback or errback, which free a place in the window).
WINDOW_TIMEOUT = 60.0
#: Stats of the retries of vv-tool calls: each retry after an error answer is one more
#: call vv-tool may bill. Throttled answers (HTTP 429) are not counted: the call was refused.
RETRY_STATS = ("harvester/retry/vvtool/count",)


class DetailFetcher:
    """Builds a spider's vv-tool detail requests: once per product, within the call cap."""

    def __init__(
        self,
        spider: ApiSpider,
        shop_id: str,
        web_site: str | None = None,
        scene: str | None = None,
        max_calls: str | None = None,
    ) -> None:
        try:
            vvtool.body(shop_id, 0, web_site or None, scene or None)
        except ValueError as exc:
            raise ArgumentError(f"-a {exc}") from None
        self.spider, self.shop_id = spider, shop_id
        self.web_site, self.scene = web_site or None, scene or None
        #: ``-a max_calls``, else ``HARVESTER_VVTOOL_MAX_CALLS`` (read once the crawl runs).
        self.max_calls: int | None = (
            int_arg(max_calls, "max_calls", default=0, minimum=1) if max_calls else None
        )
        self.requested: set[str] = set()
        self.capped = False
        #: Set by an answer refusing the shop (302 not authorized, 103 unknown account).
        self.shop_refused = False
        #: Set by a fatal answer (quota, token): the crawl is closing.
        self.halted = False
        #: Requests made whose outcome (answer or failure) has not come back yet.
        self.in_flight = 0
        self._settled = asyncio.Event()

    @property
    def stopped(self) -> bool:
        """True once the cap is reached, the shop refused or the crawl is closing."""
        return self.capped or self.halted or self.shop_refused

    async def wait_below(self, window: int) -> None:
        """Wait until fewer than *window* requests are in flight, so that a refusal or the
        cap stops the run before the rest of a long id list is queued and billed."""
        while self.in_flight >= window and not self.stopped:
            self._settled.clear()
            try:
                await asyncio.wait_for(self._settled.wait(), WINDOW_TIMEOUT)
            except TimeoutError:
                logger.warning(
                    "No vv-tool answer for %.0f s with %d calls in flight; scheduling more",
                    WINDOW_TIMEOUT,
                    self.in_flight,
                )
                return

    def _settle(self) -> None:
        self.in_flight -= 1
        self._settled.set()

    def calls_committed(self) -> int:
        """Products asked for plus the retries made so far: the calls this run pays for."""
        stats = self.spider.crawler.stats
        return len(self.requested) + sum(stats.get_value(key, 0) for key in RETRY_STATS)

    def request(self, product_id: str, context: dict[str, Any] | None = None) -> Request | None:
        """The request for *product_id*, or ``None`` (already asked, capped, shop refused)."""
        if product_id in self.requested or self.halted or self.shop_refused:
            return None
        if self.max_calls is None:
            self.max_calls = self.spider.settings.getint("HARVESTER_VVTOOL_MAX_CALLS")
        if self.calls_committed() >= self.max_calls:
            if not self.capped:
                self.capped = True
                logger.warning(
                    "vv-tool call cap of %d reached (max_calls / HARVESTER_VVTOOL_MAX_CALLS): "
                    "no more details are requested this run",
                    self.max_calls,
                )
                self.spider.crawler.stats.set_value("harvester/vvtool/max_calls_reached", True)
            return None
        self.requested.add(product_id)
        self.in_flight += 1
        self.spider.crawler.stats.inc_value("harvester/vvtool/requested")
        request = self.spider.api_request(
            vvtool.NAME,
            vvtool.PATH,
            vvtool.body(self.shop_id, product_id, self.web_site, self.scene),
            self.parse,
            cb_kwargs={"context": {"shop_id": self.shop_id, **(context or {})}},
        )
        return request.replace(errback=self.on_error)

    def parse(self, response: Response, context: dict[str, Any]) -> Iterator[ApiRecord]:
        self._settle()
        data = response.meta["harvester_data"]
        cost = data.get("withholding_money")
        if cost not in (None, ""):
            self.spider.crawler.stats.inc_value(
                "harvester/vvtool/withholding_money", Decimal(str(cost)), start=Decimal(0)
            )
        yield self.spider.record(vvtool.NAME, data, context, response)

    def on_error(self, failure: Failure) -> None:
        """Dead letter (the spider's errback); an answer refusing the shop (302, 103) or a
        fatal one (quota, token) also stops asking."""
        self._settle()
        error = failure.value.error if isinstance(failure.value, ApiRejected) else None
        if error is not None and error.error_class in FATAL:
            self.halted = True
        if error is not None and error.code in vvtool.SHOP_REFUSED and not self.shop_refused:
            self.shop_refused = True
            self.spider.crawler.stats.inc_value(f"harvester/vvtool/shop_refused/{error.code}")
            logger.error(
                "vv-tool: shop %r %s (code %s). No more details are requested for it this run. %s",
                self.shop_id,
                vvtool.SHOP_REFUSED[error.code],
                error.code,
                error.message,
            )
        self.spider.on_error(failure)


class VvtoolDetailSpider(ApiSpider):
    name = "vvtool_detail"
    apis = (vvtool.NAME,)

    def parse_arguments(
        self,
        product_ids: str | None = None,
        shop_id: str | None = None,
        web_site: str | None = None,
        scene: str | None = None,
        max_calls: str | None = None,
        **_: Any,
    ) -> None:
        self.product_ids = id_list(product_ids, "product_ids", numeric=True)
        if not self.product_ids:
            raise ArgumentError(
                "vvtool_detail needs products: -a product_ids=584240750353[,...] (or @file)"
            )
        if not shop_id:
            raise ArgumentError(
                "vvtool_detail needs the shop: -a shop_id=<the shop's Wangwang login id>"
            )
        self.fetcher = DetailFetcher(self, shop_id, web_site, scene, max_calls)

    async def start(self) -> AsyncIterator[Any]:
        # at most CONCURRENT_REQUESTS calls unanswered: a 302, the cap or a quota answer
        # stops the run before the rest of the ids are queued (and billed)
        window = max(1, self.settings.getint("CONCURRENT_REQUESTS"))
        for product_id in self.product_ids:
            await self.fetcher.wait_below(window)
            request = self.fetcher.request(product_id)
            if self.fetcher.stopped:
                return
            if request is not None:
                yield request
