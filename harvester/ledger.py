"""The work ledger as a spider sees it: which units of this job are done, with their outcome.

A *unit* is one call whose items land together: a store query page, an id batch, a
vv-tool detail, a related node page. A spider names each unit with a key, skips
units done (``ledger.is_done(key)``) and, at the end of a unit's callback, yields
``ledger.mark(key, outcome)`` (``yield from``): a :class:`~harvester.items.UnitDone` item that the
storage pipeline writes in the same transaction as the unit's items (or after them),
so a unit is done only once its items are committed. ``outcome`` keeps what
follow-up requests need (page 1's ``totalPage``, a band split, a page's offer ids)
so that a resumed run regenerates the rest of the walk without refetching.

The ledger is filled from :data:`harvester.signals.run_started` (sent by the storage
pipeline at open, before the spider's ``start()`` runs): empty for a fresh run, the
job's done units when the run resumes a crashed or interrupted one. Stats:
``harvester/ledger/skipped`` (units not fetched again), ``harvester/ledger/marked``
(markers yielded). The storage pipeline ends a marker's way through the item pipelines
with :class:`UnitStored` (a ``DropItem`` logged at DEBUG), so that markers are neither
exported by feeds nor counted in ``item_scraped_count``
(``item_dropped_reasons_count/UnitStored`` counts them).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem
from sqlalchemy.orm import Session

from harvester import signals
from harvester.config import database_url
from harvester.items import UnitDone
from harvester.storage import ledger as stored
from harvester.storage.db import make_engine
from harvester.storage.migrate import current

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class UnitStored(DropItem):
    """A work-ledger marker handed to the storage writer: it goes no further."""

    def __init__(self, unit: str) -> None:
        super().__init__(f"work unit {unit} handed to the storage writer", log_level="DEBUG")


SKIPPED, MARKED = "harvester/ledger/skipped", "harvester/ledger/marked"
record_hash = stored.record_hash


class Ledger:
    def __init__(self) -> None:
        self.done: dict[str, Any] = {}
        #: The job's first run when this run resumes it.
        self.resumes: int | None = None
        self.run_id: int | None = None
        self._crawler: Crawler | None = None

    def connect(self, crawler: Crawler) -> None:
        self._crawler = crawler
        crawler.signals.connect(self._run_started, signal=signals.run_started)

    def _run_started(self, run_id: int, resumes: int | None, done: dict[str, Any]) -> None:
        self.run_id, self.resumes, self.done = run_id, resumes, dict(done)

    @property
    def resuming(self) -> bool:
        return self.resumes is not None

    def is_done(self, unit: str) -> bool:
        """True when *unit* is done (counted as skipped: the caller does not fetch it)."""
        if unit not in self.done:
            return False
        self._inc(SKIPPED)
        return True

    def outcome(self, unit: str) -> Any:
        return self.done.get(unit)

    def take(self, unit: str) -> Any:
        """:meth:`outcome`, then forgotten (the unit stays done): for a caller that reads
        each outcome once, as a resumed store walk does (a page's outcome lists its
        offer ids: a million of them need not stay in memory once followed)."""
        outcome = self.done.get(unit)
        if outcome is not None:
            self.done[unit] = None
        return outcome

    def mark(self, unit: str, outcome: Any = None) -> Iterator[UnitDone]:
        """The item that marks *unit* done once stored (``yield from`` it after the unit's
        items); nothing when no run is stored (``HARVESTER_STORAGE_ENABLED`` off)."""
        if self.run_id is None:
            return
        self._inc(MARKED)
        yield UnitDone(unit, outcome)

    def _inc(self, key: str) -> None:
        if self._crawler is not None and self._crawler.stats is not None:
            self._crawler.stats.inc_value(key)


def batch_unit(ids: list[str]) -> str:
    """The work-ledger key of one id batch (the same ids in the same order: the same key)."""
    return "batch:" + hashlib.sha256(",".join(ids).encode()).hexdigest()[:32]


async def recent_details(
    settings: Any, source: str, seller_id: str, api: str, listing_api: str, max_age: float
) -> dict[str, str]:
    """Products of *seller_id* whose *api* detail is less than *max_age* hours old: id → hash
    of their stored *listing_api* record (read on a worker thread; empty if the database
    cannot tell: then every detail is fetched)."""

    def load() -> dict[str, str]:
        engine = make_engine(database_url(settings))
        try:
            if current(engine) is None:
                return {}
            with Session(engine) as session:
                return stored.recent_details(session, source, seller_id, api, listing_api, max_age)
        finally:
            engine.dispose()

    try:
        return await asyncio.to_thread(load)
    except Exception as exc:  # noqa: BLE001 - the policy only saves calls; fetch them all
        logger.warning("Recrawl policy off for this run: could not read past details (%s)", exc)
        return {}
