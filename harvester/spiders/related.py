"""``related``: walk the 1688 related-item graph breadth-first through PandaPon.

    scrapy crawl related -a offer_ids=586572607302,551815015124 -a max_depth=2 -a max_items=500

From each seed (depth 0) the spider pages through its related items (no totals:
a page shorter than ``pageSize`` is the last), records each edge (source offer,
related offer, rank), stores each related offer once, and expands the related
offers up to ``max_depth``. A node is never fetched twice. ``max_items`` caps
the distinct products stored; once reached, no new nodes are expanded. An entry
without a numeric ``offerId`` is a dead letter; the rest of its page goes on.

The walk goes level by level: the nodes found at depth d+1 are requested when every
page of depth d is done (at ``spider_idle``), so each node is walked from its
shortest path and the walk is the same whatever order the answers come back in (a
priority alone would not do: a node reached first by a longer path, while a shorter
one's page was still in flight, would be walked at the wrong depth and its children
left out).

With ``HARVESTER_REDIS_URL`` set, several ``scrapy crawl related`` processes with the
same arguments share the walk (:mod:`harvester.frontier`): each claims nodes from the
shared frontier, walks their pages and queues the nodes it finds; the walk goes level
by level, so N workers store exactly the edges and products of one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field
from redis.exceptions import RedisError
from scrapy import signals as scrapy_signals
from scrapy.exceptions import DontCloseSpider

from harvester.answers import api_data, received_at
from harvester.apis import pandapon
from harvester.items import RelatedEdge
from harvester.spiders.arguments import NumericIds, SpiderArguments
from harvester.spiders.base import BAD_DATA, ApiSpider

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

#: A related offer read from a page: (position on the page, offer id, payload).
Entry = tuple[int, str, dict[str, Any]]

#: Related pages walked per node at most (the API gives no totals: a sanity bound).
MAX_PAGES_PER_NODE = 100


class RelatedArguments(SpiderArguments):
    required = (
        (("offer_ids",), "related needs seed offers: -a offer_ids=586572607302[,...] (or @file)"),
    )

    offer_ids: NumericIds = Field(
        [], title="Seeds", description="1688 offer ids to start from: ID1,ID2 or @file"
    )
    max_depth: int = Field(1, ge=0, title="Depth", description="hops from the seeds to expand")
    max_items: int = Field(
        10_000, ge=1, title="Product cap", description="distinct products stored at most"
    )
    page_size: int = Field(20, ge=1, title="Page size", description="related items per page")
    language: str = Field("en", title="Language", description="answer language")


def unit(offer_id: str, page: int) -> str:
    """The work-ledger key of one page of *offer_id*'s related items."""
    return f"related:{offer_id}:{page}"


class RelatedSpider(ApiSpider):
    name = "related"
    apis = (pandapon.NAME,)
    Arguments = RelatedArguments
    shareable = True

    def configure(self, arguments: RelatedArguments) -> None:
        self.seeds = arguments.offer_ids
        self.max_depth = arguments.max_depth
        self.max_items = arguments.max_items
        self.page_size = arguments.page_size
        self.language = arguments.language
        #: nodes walked or queued to be (a node is walked once, at its first depth)
        self.expanded: set[str] = set()
        self.stored: set[str] = set()
        #: the next level's nodes, requested when the current level is done
        self.next_level: list[str] = []
        self.depth = 0

    def connected(self, crawler: Crawler) -> None:
        if self.shared is None:
            crawler.signals.connect(self.level_done, signal=scrapy_signals.spider_idle)

    async def start(self) -> AsyncIterator[Any]:
        if self.shared is not None:
            # nodes claimed from the shared frontier (harvester/frontier/): this worker
            # walks their pages; new nodes go back to the frontier (parse_shared)
            async for offer_id, depth in self.shared.claims(self.seeds):
                yield self.node_request(offer_id, depth, 1)
            return
        seeds = list(dict.fromkeys(self.seeds))
        self.expanded.update(seeds)
        for seed in seeds:
            for request in self.node_requests(seed, 0):
                yield request

    def level_done(self) -> None:
        """``spider_idle``: every page of the current level is done; walk the next one."""
        level, self.next_level = self.next_level, []
        if not level:
            return  # the walk is over: the spider closes
        self.depth += 1
        for offer_id in level:
            for request in self.node_requests(offer_id, self.depth):
                self.crawler.engine.crawl(request)
        raise DontCloseSpider

    def queue_node(self, offer_id: str) -> None:
        """Walk *offer_id* with the next level, unless it is walked or queued already."""
        if offer_id not in self.expanded:
            self.expanded.add(offer_id)
            self.next_level.append(offer_id)

    def node_requests(self, offer_id: str, depth: int, page: int = 1) -> Iterator[Request]:
        """The call for *page* of *offer_id*'s related items, or, when the work ledger has
        it done (a resumed run), the calls its stored outcome leads to."""
        if page > MAX_PAGES_PER_NODE:
            self.crawler.stats.inc_value("harvester/related/max_pages_reached")
            return
        if not self.ledger.is_done(unit(offer_id, page)):
            yield self.node_request(offer_id, depth, page)
            return
        outcome = self.ledger.outcome(unit(offer_id, page))
        for related_id in outcome["related"]:
            if self.keep(related_id) and depth < self.max_depth:
                self.queue_node(related_id)
        if not outcome["last"]:
            yield from self.node_requests(offer_id, depth, page + 1)

    def keep(self, related_id: str) -> bool:
        """Count *related_id* as stored (within ``max_items``); whether to walk on from it."""
        if related_id not in self.stored:
            if len(self.stored) >= self.max_items:
                self.crawler.stats.set_value("harvester/related/max_items_reached", True)
                return False
            self.stored.add(related_id)
        return len(self.stored) < self.max_items

    def node_request(self, offer_id: str, depth: int, page: int) -> Request:
        body = pandapon.related_body(int(offer_id), page, self.page_size, self.language)
        self.plan(1, pandapon.NAME)  # the graph has no totals: one call at a time
        return self.api_request(
            pandapon.NAME,
            pandapon.RELATED_PATH,
            body,
            self.parse_related if self.shared is None else self.parse_shared,
            cb_kwargs={"offer_id": offer_id, "depth": depth, "page": page},
            priority=-depth,
        )

    def read_page(self, response: Response) -> tuple[list[Entry], bool] | None:
        """The page's related offers with a numeric ``offerId`` (the others are dead letters)
        and whether it is the node's last page; None when the answer cannot be read."""
        self.unit_done(pandapon.NAME)
        try:
            offers = pandapon.parse_related_page(api_data(response))
        except BAD_DATA as error:
            self.reject(response, error)
            return None
        self.crawler.stats.inc_value("harvester/related/pages")
        entries: list[Entry] = []
        for position, offer in enumerate(offers, start=1):
            related_id = offer.get("offerId") if isinstance(offer, dict) else None
            related_id = str(related_id) if isinstance(related_id, (str, int)) else ""
            if not related_id.isdigit():
                self.reject_record(
                    pandapon.NAME, offer, "entry without a numeric offerId", response
                )
                continue
            entries.append((position, related_id, offer))
        return entries, pandapon.is_last_related_page(offers, self.page_size)

    def edge(self, offer_id: str, related_id: str, rank: int, response: Response) -> RelatedEdge:
        return RelatedEdge(pandapon.SOURCE, offer_id, related_id, rank, received_at(response))

    def parse_related(
        self, response: Response, offer_id: str, depth: int, page: int
    ) -> Iterator[Any]:
        read = self.read_page(response)
        if read is None:
            return
        entries, last = read
        related: list[str] = []  # the work ledger's outcome: a resumed run walks on from it
        for position, related_id, offer in entries:
            if related_id not in self.stored:
                if len(self.stored) >= self.max_items:
                    self.crawler.stats.set_value("harvester/related/max_items_reached", True)
                    continue
                self.stored.add(related_id)
                yield self.record(pandapon.NAME, offer, {}, response)
            related.append(related_id)
            yield self.edge(offer_id, related_id, (page - 1) * self.page_size + position, response)
            if depth < self.max_depth and len(self.stored) < self.max_items:
                self.queue_node(related_id)
        if not last:
            yield from self.node_requests(offer_id, depth, page + 1)
        yield from self.ledger.mark(unit(offer_id, page), {"related": related, "last": last})

    async def parse_shared(
        self, response: Response, offer_id: str, depth: int, page: int
    ) -> AsyncIterator[Any]:
        """``parse_related`` of a worker of a shared crawl: the product cap is counted and
        new nodes are queued in the shared frontier (one script call per page)."""
        assert self.shared is not None
        read = self.read_page(response)
        if read is None:
            return  # request_failed acknowledged the node
        entries, last = read
        child = depth + 1 if depth < self.max_depth else None
        ids = [related_id for _, related_id, _ in entries]
        try:
            codes = await self.shared.frontier.page(offer_id, ids, self.max_items, child)
        except RedisError as exc:  # the node stays leased: another worker walks it again
            self.shared.lost(exc)
            return
        related: list[str] = []
        for (position, related_id, offer), code in zip(entries, codes, strict=True):
            if code == 0:
                self.crawler.stats.set_value("harvester/related/max_items_reached", True)
                continue
            if code == 2:  # stored by this node (first, or again after a crash)
                yield self.record(pandapon.NAME, offer, {}, response)
            related.append(related_id)
            yield self.edge(offer_id, related_id, (page - 1) * self.page_size + position, response)
        markers = list(self.ledger.mark(unit(offer_id, page), {"related": related, "last": last}))
        if last or page >= MAX_PAGES_PER_NODE:
            if not last:
                self.crawler.stats.inc_value("harvester/related/max_pages_reached")
            # its follow-ups are queued: acknowledged once its items are stored
            self.shared.done(offer_id, markers[-1].unit if markers else None)
        else:
            yield self.node_request(offer_id, depth, page + 1)
        for marker in markers:
            yield marker

    def request_failed(self, request: Request | None, reason: str) -> None:
        super().request_failed(request, reason)
        if self.shared is not None and request is not None:
            self.shared.done(str(request.cb_kwargs.get("offer_id")))
