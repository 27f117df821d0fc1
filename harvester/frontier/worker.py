"""One worker's side of a shared frontier: claim, buffer locally, acknowledge, renew, stop.

:meth:`FrontierWorker.claims` is meant to be iterated from a spider's ``start()``: it
yields ``(item, depth)`` pairs as the worker has room (at most ``buffer`` items claimed
and not yet :meth:`done`), waits while other workers hold the rest, and ends only when
the shared crawl has ended: nothing pending and nothing leased by any worker (the
Redis scripts count the leases). While it runs, the spider stays open; acknowledgements
and lease renewals ride on the next step (one script call each time).

With storage on, an item is acknowledged only once its items are stored: :meth:`done`
takes the key of the work-ledger marker that ends the item's output, and the ack waits
for :data:`harvester.signals.units_stored` to report it committed (or spooled). A worker
killed before that leaves the item leased: its lease expires and another worker walks
it again, so a crash costs only the work in flight. A batch that could be neither
written nor spooled releases its items unacknowledged (``harvester/frontier/released``).

Stats: ``harvester/frontier/claimed``, ``harvester/frontier/acked``,
``harvester/frontier/reclaimed`` (expired leases of other workers handed back),
``harvester/frontier/lost`` (the Redis server became unreachable: the worker stops,
its claimed items go back to the others when their leases expire).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from harvester import signals

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from harvester.frontier.shared import SharedFrontier

logger = logging.getLogger(__name__)

CLAIMED, ACKED = "harvester/frontier/claimed", "harvester/frontier/acked"
RELEASED = "harvester/frontier/released"
RECLAIMED, LOST = "harvester/frontier/reclaimed", "harvester/frontier/lost"


class FrontierWorker:
    def __init__(
        self,
        frontier: SharedFrontier,
        crawler: Crawler,
        buffer: int = 16,
        poll: float = 0.2,
    ) -> None:
        self.frontier = frontier
        self.crawler = crawler
        self.buffer = max(1, buffer)
        self.poll = poll
        #: Items claimed by this worker and not done yet.
        self.local: set[str] = set()
        self._acks: list[str] = []
        #: Work-ledger unit → item acknowledged once that unit's marker is stored.
        self._after: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._renewer: asyncio.Future[None] | None = None
        crawler.signals.connect(self._units_stored, signal=signals.units_stored)

    async def close(self) -> None:
        """At the spider's close: stop renewing (leases left expire) and disconnect."""
        if self._renewer is not None:
            self._renewer.cancel()
        await self.frontier.close()

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None  # set once the crawl starts
        return self.crawler.stats

    def done(self, item: str, after: str | None = None) -> None:
        """*item* is finished here (its follow-ups queued): acknowledged on the next step,
        or, given *after* (the key of the work-ledger marker its output ended with), once
        that marker is stored."""
        if item not in self.local:
            return
        if after is not None:
            self._after[after] = item
            return
        self.local.discard(item)
        self._acks.append(item)
        self._wake.set()

    def _units_stored(self, units: list[str], durable: bool) -> None:
        for unit in units:
            item = self._after.pop(unit, None)
            if item is None:
                continue
            if durable:
                self.done(item)
            else:  # its items are lost: not acknowledged, its lease expires, walked again
                self.local.discard(item)
                self.stats.inc_value(RELEASED)
                self._wake.set()

    async def claims(self, seeds: list[str]) -> AsyncIterator[tuple[str, int]]:
        """Claimed ``(item, depth)`` pairs until the shared crawl ends (*seeds* at depth 0)."""
        try:
            added, ended = await self.frontier.join(seeds)
        except RedisError as exc:
            self.lost(exc)
            return
        logger.info(
            "Shared frontier %s, generation %s: %d new seed(s) queued%s",
            self.frontier.root,
            self.frontier.generation,
            added,
            " (this crawl has just ended: nothing left to do)" if ended else "",
        )
        self._renewer = asyncio.ensure_future(self._renew())
        try:
            async for claimed in self._claim():
                yield claimed
        finally:
            self._renewer.cancel()

    async def _claim(self) -> AsyncIterator[tuple[str, int]]:
        while True:
            acks, self._acks = self._acks, []
            self._wake.clear()
            try:
                step = await self.frontier.step(self.buffer - len(self.local), acks, [])
            except RedisError as exc:
                self.lost(exc)
                return
            self.stats.inc_value(ACKED, len(acks))
            if step.reclaimed:
                self.stats.inc_value(RECLAIMED, step.reclaimed)
            for item in step.items:
                self.local.add(item)
                self.stats.inc_value(CLAIMED)
                yield item, step.depth
            if step.state == "done" and not self.local and not self._acks:
                logger.info("Shared frontier %s: the crawl has ended", self.frontier.root)
                return
            if not step.items:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll)
                except TimeoutError:
                    pass

    async def _renew(self) -> None:
        """Renew this worker's leases every third of the lease, on its own: also while the
        engine does not ask the spider's ``start()`` for more (claims not yet requested)."""
        while True:
            await asyncio.sleep(self.frontier.lease_ms / 3000)
            try:
                await self.frontier.renew(sorted(self.local))
            except RedisError as exc:
                self.lost(exc)
                return

    async def spend(self, budget: str, cap: int, count: int = 1, force: bool = False) -> bool:
        """Spend *count* of the shared crawl's *budget* within *cap* (see
        :meth:`SharedFrontier.spend`); False when over the cap or Redis is lost."""
        try:
            return await self.frontier.spend(budget, cap, count, force)
        except RedisError as exc:
            self.lost(exc)
            return False

    def lost(self, error: Exception) -> None:
        """Redis is unreachable: stop claiming (logged once; the run is not complete)."""
        if self.stats.get_value(LOST):
            return
        self.stats.set_value(LOST, 1)
        logger.error(
            "The shared frontier's Redis server is unreachable (%s: %s): this worker stops; "
            "run the same command again to rejoin the crawl",
            type(error).__name__,
            error,
        )
