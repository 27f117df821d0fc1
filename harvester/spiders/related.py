"""``related``: walk the 1688 related-item graph breadth-first through PandaPon.

    scrapy crawl related -a offer_ids=586572607302,551815015124 -a max_depth=2 -a max_items=500

From each seed (depth 0) the spider pages through its related items (no totals:
a page shorter than ``pageSize`` is the last), records each edge (source offer,
related offer, rank), stores each related offer once, and expands the related
offers up to ``max_depth``. A node is never fetched twice. ``max_items`` caps
the distinct products stored; once reached, no new nodes are expanded.
Scheduling priority ``-depth`` keeps the walk breadth-first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harvester.apis import pandapon
from harvester.items import RelatedEdge
from harvester.spiders.base import ApiSpider, ArgumentError, id_list, int_arg, received_at

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy import Request
    from scrapy.http import Response


class RelatedSpider(ApiSpider):
    name = "related"
    apis = (pandapon.NAME,)

    def parse_arguments(
        self,
        offer_ids: str | None = None,
        max_depth: str | None = None,
        max_items: str | None = None,
        page_size: str | None = None,
        language: str = "en",
        **_: Any,
    ) -> None:
        self.seeds = id_list(offer_ids, "offer_ids", numeric=True)
        if not self.seeds:
            raise ArgumentError(
                "related needs seed offers: -a offer_ids=586572607302[,...] (or @file)"
            )
        self.max_depth = int_arg(max_depth, "max_depth", default=1, minimum=0)
        self.max_items = int_arg(max_items, "max_items", default=10_000, minimum=1)
        self.page_size = int_arg(page_size, "page_size", default=20, minimum=1)
        self.language = language
        self.expanded: set[str] = set()
        self.stored: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        for seed in self.seeds:
            request = self.node_request(seed, 0)
            if request is not None:
                yield request

    def node_request(self, offer_id: str, depth: int, page: int = 1) -> Request | None:
        if page == 1:
            if offer_id in self.expanded:
                return None
            self.expanded.add(offer_id)
        body = pandapon.related_body(int(offer_id), page, self.page_size, self.language)
        return self.api_request(
            pandapon.NAME,
            pandapon.RELATED_PATH,
            body,
            self.parse_related,
            cb_kwargs={"offer_id": offer_id, "depth": depth, "page": page},
            priority=-depth,
        )

    def parse_related(
        self, response: Response, offer_id: str, depth: int, page: int
    ) -> Iterator[Any]:
        offers = pandapon.parse_related_page(response.meta["harvester_data"])
        self.crawler.stats.inc_value("harvester/related/pages")
        received = received_at(response)
        for position, offer in enumerate(offers, start=1):
            related_id = str(offer.get("offerId"))
            if related_id not in self.stored:
                if len(self.stored) >= self.max_items:
                    self.crawler.stats.set_value("harvester/related/max_items_reached", True)
                    continue
                self.stored.add(related_id)
                yield self.record(pandapon.NAME, offer, {}, response)
            yield RelatedEdge(
                pandapon.SOURCE,
                offer_id,
                related_id,
                rank=(page - 1) * self.page_size + position,
                fetched_at=received,
            )
            if depth < self.max_depth and len(self.stored) < self.max_items:
                request = self.node_request(related_id, depth + 1)
                if request is not None:
                    yield request
        if not pandapon.is_last_related_page(offers, self.page_size):
            request = self.node_request(offer_id, depth, page + 1)
            if request is not None:
                yield request
