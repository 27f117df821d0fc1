"""``store``: dump the listing of one or more 1688 stores through PandaPon.

    scrapy crawl store -a seller_open_id=BBBwAN4GQ60zRPzBkv7BYPJRQ
    scrapy crawl store -a seller_open_ids=ID1,ID2   (or -a seller_open_ids=@data/stores.txt)
    optional: -a keyword= -a category_id= -a price_start= -a price_end= -a sort=price:asc
    enrichment: -a details=vvtool -a shop_id=<the store's Wangwang login id>

Each query walks ``beginPage`` from 1 to the response's ``totalPage``. A query
matching more offers than the search window (``HARVESTER_PANDAPON_SEARCH_WINDOW``)
is split into two price bands, recursively, until every band fits; offers are
deduplicated by ``offerId``. With ``details=vvtool`` every offer found is also
fetched in detail through vv-tool (SKUs, price tiers, stock) into the same
products row; this needs one store per run and its ``shop_id``. A store walked to
its last page without any failure or truncation is *complete*: its products that the
walk did not see are marked delisted. A crawl closed early (e.g. by a vv-tool quota
answer) leaves pages unanswered, so its stores are not complete.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from harvester.apis import pandapon, vvtool
from harvester.spiders.base import ApiSpider, ArgumentError, id_list, int_arg
from harvester.spiders.vvtool_detail import DetailFetcher

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy import Request
    from scrapy.http import Response

logger = logging.getLogger(__name__)


def _price(value: str | None, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise ArgumentError(f"-a {name}={value!r}: must be a decimal number") from None
    if price < 0:
        raise ArgumentError(f"-a {name}={value!r}: must not be negative")
    return price


class StoreSpider(ApiSpider):
    name = "store"
    apis = (pandapon.NAME,)

    def parse_arguments(
        self,
        seller_open_id: str | None = None,
        seller_open_ids: str | None = None,
        keyword: str | None = None,
        category_id: str | None = None,
        price_start: str | None = None,
        price_end: str | None = None,
        sort: str | None = None,
        page_size: str | None = None,
        details: str | None = None,
        shop_id: str | None = None,
        web_site: str | None = None,
        scene: str | None = None,
        max_calls: str | None = None,
        **_: Any,
    ) -> None:
        sellers = id_list(seller_open_id, "seller_open_id") + id_list(
            seller_open_ids, "seller_open_ids"
        )
        if not sellers:
            raise ArgumentError(
                "store needs a store: -a seller_open_id=<sellerOpenId> "
                "(or -a seller_open_ids=ID1,ID2 or -a seller_open_ids=@file)"
            )
        self.sellers = list(dict.fromkeys(sellers))
        start, end = _price(price_start, "price_start"), _price(price_end, "price_end")
        if start is not None and end is not None and start > end:
            raise ArgumentError("-a price_start must not exceed -a price_end")
        try:
            sort_spec = pandapon.sort_param(sort) if sort else None
        except ValueError as exc:
            raise ArgumentError(f"-a sort: {exc}") from None
        self.query_template = {
            "keyword": keyword or None,
            "category_id": int_arg(category_id, "category_id", default=0, minimum=1)
            if category_id
            else None,
            "price_start": start,
            "price_end": end,
            "sort": sort_spec,
        }
        self.page_size_arg = page_size
        self.details: DetailFetcher | None = None
        if details not in (None, "", "vvtool"):
            raise ArgumentError(f"-a details={details!r}: the only detail source is 'vvtool'")
        if details == "vvtool":
            if not shop_id or len(self.sellers) != 1:
                raise ArgumentError(
                    "-a details=vvtool needs one store and its Wangwang login id: "
                    "-a shop_id=<login id>"
                )
            self.details = DetailFetcher(self, shop_id, web_site, scene, max_calls)
        elif shop_id or web_site or scene or max_calls:
            raise ArgumentError(
                "-a shop_id, web_site, scene and max_calls are options of -a details=vvtool"
            )
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.incomplete: set[str] = set()
        #: Page requests per seller still without an answer: a crawl closed early (a vv-tool
        #: quota, a fatal error, a shutdown) leaves some, and its walk is not complete.
        self.pending: dict[str, int] = defaultdict(int)

    async def start(self) -> AsyncIterator[Any]:
        settings = self.crawler.settings
        self.page_size = int_arg(
            self.page_size_arg,
            "page_size",
            default=settings.getint("HARVESTER_PANDAPON_PAGE_SIZE"),
            minimum=1,
        )
        self.window = settings.getint("HARVESTER_PANDAPON_SEARCH_WINDOW")
        self.max_price = Decimal(settings.get("HARVESTER_PANDAPON_MAX_PRICE"))
        for seller in self.sellers:
            yield self.page_request(pandapon.StoreQuery(seller, **self.query_template), 1)

    def page_request(self, query: pandapon.StoreQuery, page: int) -> Request:
        self.pending[query.seller_open_id] += 1
        return self.api_request(
            pandapon.NAME,
            pandapon.STORE_PATH,
            query.body(page, self.page_size),
            self.parse_page,
            cb_kwargs={"query": query, "page": page},
        )

    def parse_page(
        self, response: Response, query: pandapon.StoreQuery, page: int
    ) -> Iterator[Any]:
        listing = pandapon.parse_store_page(response.meta["harvester_data"])
        seller = query.seller_open_id
        self.pending[seller] -= 1
        if page == 1:
            if pandapon.needs_split(listing, self.window):
                halves = self.halves(query)
                if halves is not None:
                    self.crawler.stats.inc_value("harvester/store/band_splits")
                    for low, high in halves:
                        yield self.page_request(query.with_band(low, high), 1)
                    return
                # One price point holds more offers than the window: take what it shows.
                logger.warning(
                    "Store %s: %d offers in price band %s-%s exceed the %d-offer search window; "
                    "the dump is truncated",
                    seller,
                    listing.total_records,
                    query.price_start,
                    query.price_end,
                    self.window,
                )
                self.crawler.stats.inc_value("harvester/store/truncated")
                self.incomplete.add(seller)
            self.crawler.stats.inc_value("harvester/store/queries")
            for next_page in range(2, listing.total_page + 1):
                yield self.page_request(query, next_page)
        for offer in listing.offers:
            offer_id = str(offer.get("offerId"))
            if offer_id in self.seen[seller]:
                continue
            self.seen[seller].add(offer_id)
            yield self.record(pandapon.NAME, offer, {"seller_id": seller}, response)
            if self.details is not None and offer_id.isdigit():
                detail = self.details.request(offer_id, {"seller_id": seller})
                if detail is not None:
                    yield detail

    def halves(self, query: pandapon.StoreQuery) -> tuple[tuple[Decimal, Decimal], ...] | None:
        start = query.price_start if query.price_start is not None else Decimal("0.00")
        end = query.price_end if query.price_end is not None else self.max_price
        return pandapon.split_band(start, end)

    def required_apis(self) -> tuple[str, ...]:
        return (*self.apis, vvtool.NAME) if self.details is not None else self.apis

    def request_failed(self, request: Request, reason: str) -> None:
        query = request.cb_kwargs.get("query")
        if query is not None:
            self.incomplete.add(query.seller_open_id)
            self.pending[query.seller_open_id] -= 1

    def complete_listings(self) -> list[tuple[str, str]]:
        """(source, seller) of every store walked completely, for delisting."""
        if any(self.query_template.values()):
            return []  # a filtered query does not see the whole store
        return [
            (pandapon.SOURCE, seller)
            for seller in self.sellers
            if seller not in self.incomplete and self.pending.get(seller) == 0  # walked to the end
        ]
