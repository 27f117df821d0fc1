"""The store walk as work-ledger units: a resumed run goes on from the pages done.

Each page of a store query (seller and price band) is a unit, keyed by :func:`unit`.
When its items are stored, the page's *outcome* goes with it: page 1's band split
or its number of pages (and truncation), and every page's offer ids. A run resuming a
crashed or interrupted walk (:mod:`harvester.ledger`) starts from page 1 of each store
as a fresh one does, but :meth:`ResumedWalk.follow` replaces every page found done by
what its outcome calls for — the halves' first pages, the other pages, the details of
its offers — so that only the pages not done are fetched again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from harvester.apis import pandapon, vvtool

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from scrapy import Request


def unit(query: pandapon.StoreQuery, page: int) -> str:
    """The work-ledger key of one page of *query* (seller and price band)."""
    low, high = query.price_start, query.price_end
    return f"page:{query.seller_open_id}|{low or ''}|{high or ''}:{page}"


class ResumedWalk:
    """Mixed into :class:`~harvester.spiders.store.StoreSpider`."""

    def follow_all(self: Any, pages: Iterable[tuple[pandapon.StoreQuery, int]]) -> list[Request]:
        """:meth:`follow` for each (query, page), the page calls planned at once (progress)."""
        requests = [request for query, page in pages for request in self.follow(query, page)]
        self.plan(sum(1 for r in requests if r.callback == self.parse_page), pandapon.NAME)
        return requests

    def follow(self: Any, query: pandapon.StoreQuery, page: int) -> Iterator[Request]:
        """The request for *page* of *query*, or, when the work ledger has it done, the
        requests its stored outcome calls for (bands, pages, details)."""
        key = unit(query, page)
        if not self.ledger.is_done(key):
            yield self.page_request(query, page)
            return
        outcome: dict[str, Any] = self.ledger.take(key) or {}
        seller = query.seller_open_id
        if "split" in outcome:
            self.crawler.stats.inc_value("harvester/store/band_splits")
            for low, high in outcome["split"]:
                yield from self.follow(query.with_band(Decimal(low), Decimal(high)), 1)
            return
        if outcome.get("incomplete"):
            self.incomplete.add(seller)
        if page == 1:
            if outcome.get("truncated"):
                self.crawler.stats.inc_value("harvester/store/truncated")
                self.incomplete.add(seller)
            self.crawler.stats.inc_value("harvester/store/queries")
            for next_page in range(2, outcome.get("pages", 1) + 1):
                yield from self.follow(query, next_page)
        for offer_id in outcome.get("offers", ()):
            self.seen[seller].add(offer_id)
            if self.details is not None and offer_id.isdigit():
                detail = self.details.request(offer_id, {"seller_id": seller})
                if detail is not None:
                    self.plan(1, vvtool.NAME)
                    yield detail
