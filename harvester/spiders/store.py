"""``store``: dump the listing of one or more 1688 stores through PandaPon.

    scrapy crawl store -a seller_open_id=BBBwAN4GQ60zRPzBkv7BYPJRQ
    scrapy crawl store -a seller_open_ids=ID1,ID2   (or -a seller_open_ids=@data/stores.txt)
    optional: -a keyword= -a category_id= -a price_start= -a price_end= -a sort=price:asc
    enrichment: -a details=vvtool -a shop_id=<the store's Wangwang login id>

Each query walks ``beginPage`` from 1 to the response's ``totalPage``. A query
matching more offers than the search window (``HARVESTER_PANDAPON_SEARCH_WINDOW``)
is split into two price bands, recursively, until every band fits; offers are
deduplicated by ``offerId``. An answer claiming more offers than
``HARVESTER_PANDAPON_MAX_RECORDS``, or more pages than the window can hold, is a dead
letter, not a runaway crawl. With ``details=vvtool`` every offer found is also
fetched in detail through vv-tool (SKUs, price tiers, stock) into the same
products row; this needs one store per run and its ``shop_id``.

A store walked to its last page, every page answered and fully processed (no page or
record dead-lettered — by the spider or by a pipeline — no truncation, no filter), is
*complete*: once the crawl is idle (every item processed) the spider sends
:data:`harvester.signals.listing_complete`, and the storage pipeline marks the store's
products that the walk did not see delisted. A crawl closed early (e.g. by a vv-tool
quota answer) leaves pages unanswered, so its stores are not complete.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from scrapy import signals as scrapy_signals

from harvester import signals
from harvester.answers import api_data
from harvester.apis import pandapon, vvtool
from harvester.apis.base import ApiError, ErrorClass
from harvester.idset import IdSet
from harvester.items import ApiRecord
from harvester.spiders._detail import RECRAWL_SKIPPED, DetailFetcher
from harvester.spiders._store_arguments import DetailSource, StoreArguments
from harvester.spiders._store_resume import ResumedWalk, unit
from harvester.spiders.arguments import batch_size
from harvester.spiders.base import BAD_DATA, ApiSpider

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy import Request
    from scrapy.http import Response

logger = logging.getLogger(__name__)

#: Defaults of ``HARVESTER_PANDAPON_MAX_PRICE`` and ``HARVESTER_PANDAPON_MAX_RECORDS``.
MAX_PRICE = "1000000"
MAX_RECORDS = 1_000_000


class StoreSpider(ResumedWalk, ApiSpider):
    name = "store"
    apis = (pandapon.NAME,)
    Arguments = StoreArguments

    def configure(self, arguments: StoreArguments) -> None:
        self.sellers = arguments.sellers()
        self.query_template = {
            "keyword": arguments.keyword,
            "category_id": arguments.category_id,
            "price_start": arguments.price_start,
            "price_end": arguments.price_end,
            "sort": arguments.sort,
        }
        self.details = (
            DetailFetcher(self, arguments) if arguments.details is DetailSource.VVTOOL else None
        )
        #: Offer ids walked per store, ~8 bytes an id (:mod:`harvester.idset`).
        self.seen: dict[str, IdSet] = defaultdict(IdSet)
        self.incomplete: set[str] = set()
        #: Stores whose pages have all been answered, and those announced complete.
        self.walked_to_end: set[str] = set()
        self.complete: set[str] = set()
        #: Page requests per seller still without an answer: a crawl closed early (a vv-tool
        #: quota, a fatal error, a shutdown) leaves some, and its walk is not complete.
        self.pending: dict[str, int] = defaultdict(int)

    def read_settings(self, settings: Any) -> None:
        self.window = settings.getint("HARVESTER_PANDAPON_SEARCH_WINDOW", pandapon.SEARCH_WINDOW)
        self.page_size = self.arguments.page_size or batch_size(
            settings,
            "HARVESTER_PANDAPON_PAGE_SIZE",
            default=pandapon.DEFAULT_PAGE_SIZE,
            maximum=self.window,
        )
        self.max_price = Decimal(settings.get("HARVESTER_PANDAPON_MAX_PRICE") or MAX_PRICE)
        self.max_records = settings.getint("HARVESTER_PANDAPON_MAX_RECORDS", MAX_RECORDS)

    def connected(self, crawler: Any) -> None:
        if self.details is not None:
            self.details.connect()
        crawler.signals.connect(self._idle, signal=scrapy_signals.spider_idle)
        crawler.signals.connect(self._dropped, signal=scrapy_signals.item_dropped)
        crawler.signals.connect(self._dropped, signal=scrapy_signals.item_error)

    async def start(self) -> AsyncIterator[Any]:
        if self.details is not None:
            await self.details.load_recent(pandapon.SOURCE, self.sellers[0], pandapon.NAME)
        # a resumed run skips the pages its work ledger has done (_store_resume.py)
        queries = [pandapon.StoreQuery(seller, **self.query_template) for seller in self.sellers]
        for request in self.follow_all((query, 1) for query in queries):
            yield request
        for seller in self.sellers:
            self.walked(seller)  # a resumed run may find every page of a store done

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
        seller = query.seller_open_id
        self.unit_done(pandapon.NAME)
        try:
            listing = pandapon.parse_store_page(api_data(response))
            if page == 1:
                self.check_bounds(listing)
        except BAD_DATA as error:
            self.reject(response, error)  # and request_failed: the walk is not complete
            return
        self.pending[seller] -= 1
        #: what a resumed run needs to go on from this page without fetching it again
        outcome: dict[str, Any] = {"offers": []}
        if page == 1:
            yield from self.first_page(listing, query, outcome)
        for offer in listing.offers if "split" not in outcome else ():
            offer_id = offer.get("offerId") if isinstance(offer, dict) else None
            if not isinstance(offer_id, (str, int)) or isinstance(offer_id, bool) or offer_id == "":
                self.reject_record(pandapon.NAME, offer, "offer without an offerId", response)
                self.incomplete.add(seller)
                outcome["incomplete"] = True
                continue
            offer_id = str(offer_id)
            outcome["offers"].append(offer_id)
            if not self.seen[seller].add(offer_id):
                continue  # shown again on a later page
            yield self.record(pandapon.NAME, offer, {"seller_id": seller}, response)
            if self.details is not None and offer_id.isdigit():
                detail = self.details.request(offer_id, {"seller_id": seller}, listing=offer)
                if detail is not None:
                    self.plan(1, vvtool.NAME)
                    yield detail
        yield from self.ledger.mark(unit(query, page), outcome)
        self.walked(seller)

    def check_bounds(self, listing: pandapon.StorePage) -> None:
        """Refuse a first page whose totals would make a runaway crawl."""
        if listing.total_records > self.max_records:
            raise ApiError(
                pandapon.NAME,
                ErrorClass.PERMANENT,
                "bounds",
                f"totalRecords {listing.total_records} beyond HARVESTER_PANDAPON_MAX_RECORDS "
                f"({self.max_records})",
            )
        most = self.most_pages(listing)
        if listing.total_page > most and not pandapon.needs_split(listing, self.window):
            raise ApiError(
                pandapon.NAME,
                ErrorClass.PERMANENT,
                "bounds",
                f"totalPage {listing.total_page} beyond the {self.window}-offer search window "
                f"({most} pages)",
            )

    def most_pages(self, listing: pandapon.StorePage) -> int:
        """Pages one query may have: the search window over the page size served."""
        served = listing.page_size if 0 < listing.page_size <= self.page_size else self.page_size
        return max(1, math.ceil(self.window / served))

    def first_page(
        self, listing: pandapon.StorePage, query: pandapon.StoreQuery, outcome: dict[str, Any]
    ) -> Iterator[Any]:
        """Split the query in price bands, or ask for its other pages (noted in *outcome*)."""
        seller = query.seller_open_id
        if pandapon.needs_split(listing, self.window):
            halves = self.halves(query)
            if halves is not None:
                self.crawler.stats.inc_value("harvester/store/band_splits")
                outcome["split"] = [[str(low), str(high)] for low, high in halves]
                yield from self.follow_all((query.with_band(low, high), 1) for low, high in halves)
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
            outcome["truncated"] = True
        self.crawler.stats.inc_value("harvester/store/queries")
        outcome["pages"] = last = min(listing.total_page, self.most_pages(listing))
        yield from self.follow_all((query, page) for page in range(2, last + 1))

    def halves(self, query: pandapon.StoreQuery) -> tuple[tuple[Decimal, Decimal], ...] | None:
        start = query.price_start if query.price_start is not None else Decimal("0.00")
        end = query.price_end if query.price_end is not None else self.max_price
        return pandapon.split_band(start, end)

    def closed(self, reason: str) -> None:
        if saved := self.crawler.stats.get_value(RECRAWL_SKIPPED):
            logger.info(
                "vv-tool: %d detail calls saved (fetched less than %s h ago, listing unchanged; "
                "HARVESTER_VVTOOL_DETAIL_MAX_AGE)",
                saved,
                self.settings.getfloat("HARVESTER_VVTOOL_DETAIL_MAX_AGE"),
            )

    def required_apis(self) -> tuple[str, ...]:
        return (*self.apis, vvtool.NAME) if self.details is not None else self.apis

    def request_failed(self, request: Request | None, reason: str) -> None:
        query = request.cb_kwargs.get("query") if request is not None else None
        if query is not None:
            self.incomplete.add(query.seller_open_id)
            self.pending[query.seller_open_id] -= 1
            self.walked(query.seller_open_id)

    def walked(self, seller: str) -> None:
        """Note *seller* once its last page is processed (its walk may still be incomplete)."""
        if not self.pending.get(seller):
            self.walked_to_end.add(seller)

    def _dropped(self, item: Any, **kwargs: Any) -> None:
        # a listing record that normalization or storage refused: that product was not
        # seen, so the walk must not delist it
        if isinstance(item, ApiRecord) and item.api == pandapon.NAME:
            seller = item.context.get("seller_id")
            if seller is not None:
                self.incomplete.add(seller)

    def _idle(self) -> None:
        """Every page and record has been processed: announce the complete walks."""
        if any(self.query_template.values()):
            return  # a filtered query does not see the whole store
        for seller in self.sellers:
            if (
                seller in self.walked_to_end
                and not self.pending.get(seller)
                and seller not in self.incomplete
                and seller not in self.complete
            ):
                self.complete.add(seller)
                self.crawler.signals.send_catch_log(
                    signal=signals.listing_complete, source=pandapon.SOURCE, seller_id=seller
                )
