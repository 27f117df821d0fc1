"""vv-tool detail requests, shared by ``vvtool_detail`` and ``store -a details=vvtool``.

Every vv-tool call is billed, even for a missing item, so :class:`DetailFetcher`:

- asks for each product once per run (ids are deduplicated, and a product met
  again, e.g. in two price bands of a store walk, is not asked for again);
- stops asking once ``-a max_calls`` (else ``HARVESTER_VVTOOL_MAX_CALLS``) calls
  are committed: products asked for plus every repeated call that reached vv-tool
  (retries after error answers, timeouts or dropped connections), counted from
  Scrapy's ``request_reached_downloader`` signal; an answer "too many requests"
  (HTTP 429) refused the call and is not counted. The log and the stat
  ``harvester/vvtool/max_calls_reached`` say when the cap stops the run. In a shared
  crawl (``vvtool_detail`` workers with ``HARVESTER_REDIS_URL``) the cap is the crawl's:
  each call is reserved in Redis before it is made (:meth:`DetailFetcher.request_within`);
- stops asking for a shop refused as such (302 not authorized, 103 unknown
  Wangwang account): the log names the shop and, for 302, the authorization
  link; the failed products are dead letters.

Stats: ``harvester/vvtool/requested`` (products asked for), ``harvester/vvtool/calls``
(calls that reached vv-tool) and ``harvester/vvtool/withholding_money`` (what the
answers say the calls cost).
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field
from scrapy import signals as scrapy_signals

from harvester import ledger
from harvester.answers import api_data
from harvester.apis import vvtool
from harvester.apis.base import META_API, ApiError, ErrorClass
from harvester.idset import IdSet
from harvester.spiders.arguments import Blank, OptionalInt, SpiderArguments, choices

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scrapy import Request
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from harvester.frontier import FrontierWorker
    from harvester.spiders.base import ApiSpider

logger = logging.getLogger(__name__)

#: Answers after which the error middleware closes the crawl: ask for nothing more.
FATAL = (ErrorClass.QUOTA, ErrorClass.AUTH, ErrorClass.CLOCK)
#: Seconds ``vvtool_detail`` waits for an answer before it schedules more anyway (a safety
#: net: every request ends in its callback or errback, which free a place in the window).
WINDOW_TIMEOUT = 60.0
#: The shared crawl's budget of billed vv-tool calls (harvester/frontier/).
BUDGET = "vvtool_calls"
#: Details not asked for: fetched recently and the listing unchanged (calls saved).
RECRAWL_SKIPPED = "harvester/vvtool/recrawl_skipped"


def detail_unit(product_id: str) -> str:
    """The work-ledger key of one product's vv-tool detail."""
    return f"detail:{product_id}"


WebSite = choices("WebSite", vvtool.WEB_SITES)
Scene = choices("Scene", vvtool.SCENES)


class VvtoolOptions(SpiderArguments):
    """The vv-tool options of a run that fetches details."""

    shop_id: Annotated[str | None, Blank] = Field(
        None,
        title="Shop",
        description="the shop's Wangwang login id (the shop must have authorized vv-tool)",
    )
    web_site: Annotated[WebSite | None, Blank] = Field(  # type: ignore[valid-type]
        None, title="Site", description="which site the product ids belong to"
    )
    scene: Annotated[Scene | None, Blank] = Field(  # type: ignore[valid-type]
        None, title="Scene", description="vv-tool's scene parameter"
    )
    max_calls: OptionalInt = Field(
        None,
        ge=1,
        title="Call cap",
        description="most vv-tool calls this run may make, retries included (every call is "
        "billed); default HARVESTER_VVTOOL_MAX_CALLS",
    )

    def vvtool_options_given(self) -> bool:
        return any(
            value is not None for value in (self.shop_id, self.web_site, self.scene, self.max_calls)
        )


class DetailFetcher:
    """Builds a spider's vv-tool detail requests: once per product, within the call cap."""

    def __init__(self, spider: ApiSpider, options: VvtoolOptions) -> None:
        assert options.shop_id is not None
        self.spider, self.shop_id = spider, options.shop_id
        self.web_site = options.web_site.value if options.web_site else None
        self.scene = options.scene.value if options.scene else None
        #: ``-a max_calls``, else ``HARVESTER_VVTOOL_MAX_CALLS`` (read once the crawl runs).
        self.max_calls: int | None = options.max_calls
        #: Products asked for (a compact set: ~8 bytes a numeric id).
        self.requested = IdSet()
        #: Calls that reached vv-tool, and the distinct requests among them (fingerprints).
        self.calls = 0
        self._sent: set[bytes] = set()
        self.capped = False
        #: Set by an answer refusing the shop (302 not authorized, 103 unknown account).
        self.shop_refused = False
        #: Set by a fatal answer (quota, token): the crawl is closing.
        self.halted = False
        #: Requests made whose outcome (answer or failure) has not come back yet.
        self.in_flight = 0
        self._settled = asyncio.Event()
        #: Products whose detail is fresh: id → hash of the listing record it was fetched with.
        self.recent: dict[str, str] = {}
        #: Products not asked for: done in the work ledger, or fresh (recrawl policy).
        self.skipped = IdSet()
        #: The shared crawl's worker whose budget holds the cap (:meth:`share`), or None.
        self.budget: FrontierWorker | None = None
        self._spending: set[asyncio.Future[bool]] = set()

    def share(self, worker: FrontierWorker) -> None:
        """Count the cap across the shared crawl's workers, in *worker*'s Redis."""
        self.budget = worker

    def _spend(self, count: int) -> None:
        """Spend *count* of the shared budget (calls made, or given back) in the background."""
        if self.budget is not None:
            task = asyncio.ensure_future(self.budget.spend(BUDGET, self.cap, count, force=True))
            self._spending.add(task)
            task.add_done_callback(self._spending.discard)

    @property
    def cap(self) -> int:
        if self.max_calls is None:
            self.max_calls = self.spider.settings.getint("HARVESTER_VVTOOL_MAX_CALLS")
        return self.max_calls

    def _reach_cap(self) -> None:
        if not self.capped:
            self.capped = True
            logger.warning(
                "vv-tool call cap of %d reached (max_calls / HARVESTER_VVTOOL_MAX_CALLS): "
                "no more details are requested this run",
                self.cap,
            )
            self.spider.crawler.stats.set_value("harvester/vvtool/max_calls_reached", True)

    async def request_within(self, product_id: str) -> Request | None:
        """:meth:`request`, in a shared crawl only once the call is reserved in its budget."""
        if self.budget is None or self.stopped:
            return self.request(product_id)
        if not await self.budget.spend(BUDGET, self.cap):
            self._reach_cap()
            return None
        request = self.request(product_id)
        if request is None:
            self._spend(-1)  # not asked for after all: given back
        return request

    async def load_recent(self, source: str, seller_id: str, listing_api: str) -> None:
        """Load the recrawl policy's fresh details (``HARVESTER_VVTOOL_DETAIL_MAX_AGE``)."""
        max_age = self.spider.settings.getfloat("HARVESTER_VVTOOL_DETAIL_MAX_AGE")
        if max_age > 0:
            self.recent = await ledger.recent_details(
                self.spider.settings, source, seller_id, vvtool.NAME, listing_api, max_age
            )

    def _skip(self, product_id: str, listing: dict[str, Any] | None) -> bool:
        """Done in the work ledger, or fresh with an unchanged *listing* record: no call."""
        if product_id in self.skipped:
            return True
        if self.spider.ledger.is_done(detail_unit(product_id)):
            self.skipped.add(product_id)
            return True
        fresh = self.recent.get(product_id)
        if fresh is not None and listing is not None and fresh == ledger.record_hash(listing):
            self.skipped.add(product_id)
            self.spider.crawler.stats.inc_value(RECRAWL_SKIPPED)
            return True
        return False

    def connect(self) -> None:
        """Count calls as they reach the downloader (call once the spider has a crawler)."""
        crawler = self.spider.crawler
        crawler.signals.connect(self._reached, signal=scrapy_signals.request_reached_downloader)
        crawler.signals.connect(self._received, signal=scrapy_signals.response_received)

    def _reached(self, request: Request, spider: Any = None) -> None:
        if request.meta.get(META_API) != vvtool.NAME:
            return
        self.calls += 1
        fingerprint = self.spider.crawler.request_fingerprinter.fingerprint(request)
        if fingerprint in self._sent:
            self._spend(1)  # a repeated call: billed too (its first was reserved)
        self._sent.add(fingerprint)
        self.spider.crawler.stats.inc_value("harvester/vvtool/calls")

    def _received(self, response: Response, request: Request, spider: Any = None) -> None:
        if response.status == 429 and request.meta.get(META_API) == vvtool.NAME:
            self.calls -= 1  # refused, not billed
            self._spend(-1)

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
        """Products asked for plus the repeated calls made so far: what this run pays for."""
        return len(self.requested) + max(0, self.calls - len(self._sent))

    def request(
        self,
        product_id: str,
        context: dict[str, Any] | None = None,
        listing: dict[str, Any] | None = None,
    ) -> Request | None:
        """The request for *product_id*, or ``None`` (already asked or done, fresh enough for
        the *listing* record it was found with, capped, shop refused)."""
        if product_id in self.requested or self.halted or self.shop_refused:
            return None
        if self._skip(product_id, listing):
            return None
        if self.calls_committed() >= self.cap:
            self._reach_cap()
            return None
        self.requested.add(product_id)
        self.in_flight += 1
        self.spider.crawler.stats.inc_value("harvester/vvtool/requested")
        request = self.spider.api_request(
            vvtool.NAME,
            vvtool.PATH,
            vvtool.body(self.shop_id, product_id, self.web_site, self.scene),
            self.parse,
            cb_kwargs={
                "context": {"shop_id": self.shop_id, **(context or {})},
                "product_id": product_id,
            },
        )
        return request.replace(errback=self.on_error)

    def parse(self, response: Response, context: dict[str, Any], product_id: str) -> Iterator[Any]:
        self._settle()
        self.spider.unit_done(vvtool.NAME)
        try:
            data = api_data(response)
            if not isinstance(data, dict):
                raise ApiError(vvtool.NAME, ErrorClass.PERMANENT, "shape", "data is not an object")
        except ApiError as error:
            self.spider.reject(response, error)
            return
        cost = data.get("withholding_money")
        if cost not in (None, ""):
            try:
                self.spider.crawler.stats.inc_value(
                    "harvester/vvtool/withholding_money", Decimal(str(cost)), start=Decimal(0)
                )
            except InvalidOperation:
                pass  # the record keeps it; normalization judges it
        yield self.spider.record(vvtool.NAME, data, context, response)
        yield from self.spider.ledger.mark(detail_unit(product_id))

    def on_error(self, failure: Failure) -> None:
        """Dead letter (the spider's errback); an answer refusing the shop (302, 103) or a
        fatal one (quota, token) also stops asking."""
        self._settle()
        error = self.spider.rejection(failure)
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
