"""Store products, related edges and dead letters in SQL, in batches, off the reactor thread.

Items are buffered; a batch is handed to the storage writer
(:class:`~harvester.storage.worker.StorageWorker`) when it reaches
``HARVESTER_STORAGE_BATCH_SIZE`` items or is ``HARVESTER_STORAGE_MAX_LATENCY``
seconds old. The writer runs in a separate process by default, or on a thread
(``HARVESTER_STORAGE_WRITER``); one writer keeps writes ordered.

No record is lost: a record the database refuses for a data reason becomes a dead
letter and the rest of its batch lands; a batch the database will not take is
retried ``HARVESTER_STORAGE_RETRY_TIMES`` times with exponential backoff, then
spooled to ``HARVESTER_STORAGE_SPOOL_DIR`` (see :mod:`harvester.storage.spool`) and
the crawl goes on; the run says so at close (stats ``harvester/storage/spooled``,
a warning naming the replay command). Batches spooled earlier for the same
database are replayed at spider open (``HARVESTER_STORAGE_REPLAY_AT_OPEN``),
before this run writes anything, so that scheduled crawls write their batches in
the order they were crawled.

``process_item`` only waits when ``HARVESTER_STORAGE_MAX_PENDING`` batches are
already queued (back-pressure). The run is recorded in ``crawl_runs`` at open and
finished with the final stats when the spider closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from harvester import signals as harvester_signals
from harvester.config import database_url, project_path
from harvester.gc_setting import thresholds_setting
from harvester.items import DeadLetter, Product, RelatedEdge, UnitDone
from harvester.ledger import UnitStored
from harvester.storage.repository import Batch
from harvester.storage.worker import StorageWorker, WriterOptions, redact

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import Settings

    from harvester.storage.writer import WriteResult

logger = logging.getLogger(__name__)

#: The items this pipeline stores (others pass through).
_STORED = (Product, RelatedEdge, DeadLetter, UnitDone)


def writer_options(settings: Settings) -> WriterOptions:
    """The ``HARVESTER_STORAGE_*`` settings of the writer."""
    try:
        gc_thresholds = thresholds_setting(settings.get("HARVESTER_GC_THRESHOLDS"))
    except ValueError:
        gc_thresholds = None  # the GC extension says why
    return WriterOptions(
        url=database_url(settings),
        spool_dir=project_path(settings.get("HARVESTER_STORAGE_SPOOL_DIR")),
        retry_times=settings.getint("HARVESTER_STORAGE_RETRY_TIMES"),
        retry_backoff=settings.getfloat("HARVESTER_STORAGE_RETRY_BACKOFF"),
        mode=settings.get("HARVESTER_STORAGE_WRITER"),
        auto_migrate=settings.getbool("HARVESTER_STORAGE_AUTO_MIGRATE"),
        replay_at_open=settings.getbool("HARVESTER_STORAGE_REPLAY_AT_OPEN"),
        nice=settings.getint("HARVESTER_STORAGE_WRITER_NICE"),
        gc_thresholds=gc_thresholds,
        resume=settings.getbool("HARVESTER_RESUME"),
        stale_after=settings.getfloat("HARVESTER_HEARTBEAT_STALE_AFTER"),
    )


class SqlStoragePipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("HARVESTER_STORAGE_ENABLED"):
            raise NotConfigured("HARVESTER_STORAGE_ENABLED is off")
        self.crawler = crawler
        self.options = writer_options(settings)
        try:
            self.writer = StorageWorker(self.options)
        except ValueError as exc:
            raise NotConfigured(str(exc)) from None
        self.batch_size = settings.getint("HARVESTER_STORAGE_BATCH_SIZE")
        self.max_latency = settings.getfloat("HARVESTER_STORAGE_MAX_LATENCY")
        self.unit_latency = min(self.max_latency, settings.getfloat("HARVESTER_LEDGER_MAX_LATENCY"))
        self.max_pending = settings.getint("HARVESTER_STORAGE_MAX_PENDING")
        self.run_id: int | None = None
        self._buffer = Batch()
        self._pending: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._waiting, self._waiting_since = 0, 0.0
        #: (source, seller_id) of every listing walked completely (``listing_complete``).
        self._complete: list[tuple[str, str]] = []
        # dead letters come counted and redacted from the dead-letter extension
        crawler.signals.connect(self._dead_letter, signal=harvester_signals.dead_letter_kept)
        crawler.signals.connect(self._listing_complete, signal=harvester_signals.listing_complete)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _listing_complete(self, source: str, seller_id: str) -> None:
        self._complete.append((source, seller_id))

    # -- buffering ---------------------------------------------------------------------

    async def open_spider(self) -> None:
        started = await self.writer.open(
            self.crawler.spider.name, harvester_signals.run_arguments_of(self.crawler)
        )
        self.run_id = started.run_id
        if started.resumes is not None:
            logger.info(
                "Storing into %s (crawl run %s, resuming run %s: %d units done)",
                redact(self.options.url),
                self.run_id,
                started.resumes,
                len(started.done),
            )
        else:
            logger.info("Storing into %s (crawl run %s)", redact(self.options.url), self.run_id)
        await self.crawler.signals.send_catch_log_async(
            signal=harvester_signals.run_started,
            run_id=started.run_id,
            resumes=started.resumes,
            done=started.done,
        )

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, _STORED):
            return item
        # wait before buffering too, not only after flushing: items processed concurrently
        # then cannot fill batch after batch while the writer is behind (bounded memory)
        await self._backpressure()
        if isinstance(item, Product):
            self._buffer.products.append(item)
        elif isinstance(item, RelatedEdge):
            self._buffer.edges.append(item)
        elif isinstance(item, DeadLetter):
            self._buffer.dead_letters.append(item)
        elif isinstance(item, UnitDone):
            # after its unit's items: committed with them (or after them) by the ordered writer
            self._buffer.units.append(item)
            self._flush_within(self.unit_latency)
            # not an item: no feed export, no item_scraped_count (ledger.UnitStored says why)
            raise UnitStored(item.unit)
        if len(self._buffer) >= self.batch_size:
            self._flush()
            await self._backpressure()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_latency, self._flush)
        return item

    def _flush_within(self, seconds: float) -> None:
        """Write the buffer within *seconds* (sooner than planned, if need be)."""
        loop = asyncio.get_running_loop()
        if self._timer is not None and self._timer.when() <= loop.time() + seconds:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(seconds, self._flush)

    def _dead_letter(self, dead_letter: DeadLetter) -> None:
        self._buffer.dead_letters.append(dead_letter)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_latency, self._flush)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not len(self._buffer):
            return
        batch, self._buffer = self._buffer, Batch()
        task = asyncio.ensure_future(self._store(batch))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _store(self, batch: Batch) -> None:
        result = await self.writer.write(batch)
        self._account(result, len(batch))
        if batch.units:  # a shared crawl's worker acknowledges these units now
            self.crawler.signals.send_catch_log(
                signal=harvester_signals.units_stored,
                units=[unit.unit for unit in batch.units],
                durable=not result.lost,
            )

    def _account(self, result: WriteResult, count: int) -> None:
        stats = self.crawler.stats
        if result.writer_restarted:
            stats.inc_value("harvester/storage/writer_restarts")
        if result.attempts > 1:
            stats.inc_value("harvester/storage/retries", result.attempts - 1)
        if result.lost:
            stats.inc_value("harvester/storage/lost", count)
            return
        if result.spooled is not None:
            stats.inc_value("harvester/storage/spooled_batches")
            stats.inc_value("harvester/storage/spooled", count)
            logger.error(
                "Batch of %d items spooled to %s after %d failed writes (%s)",
                count,
                result.spooled,
                result.attempts,
                result.error,
            )
            return
        if result.refused:
            stats.inc_value("harvester/storage/refused", result.refused)
        stats.inc_value("harvester/storage/batches")
        stats.inc_value("harvester/storage/items", count)
        # the writer's own time: close to the crawl's elapsed time, it is the bottleneck
        stats.inc_value("harvester/storage/write_seconds", round(result.seconds, 3), start=0.0)

    async def _backpressure(self) -> None:
        if len(self._pending) <= self.max_pending:
            return
        # wall time during which items waited for the writer (a writer slower than the crawl)
        if not self._waiting:
            self._waiting_since = time.monotonic()
        self._waiting += 1
        try:
            while len(self._pending) > self.max_pending:
                await asyncio.wait(list(self._pending), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waiting -= 1
            if not self._waiting:
                self.crawler.stats.inc_value(
                    "harvester/storage/backpressure_seconds",
                    round(time.monotonic() - self._waiting_since, 3),
                    start=0.0,
                )

    async def close_spider(self) -> None:
        self._flush()
        if self._pending:
            started = time.monotonic()
            await asyncio.wait(list(self._pending))
            self.crawler.stats.set_value(
                "harvester/storage/close_wait_seconds", round(time.monotonic() - started, 3)
            )
        spooled = self.crawler.stats.get_value("harvester/storage/spooled")
        if spooled:
            logger.warning(
                "%d items could not be written and are spooled in %s: run `scrapy replay_spool` "
                "once the database is back, or the next crawl replays them at open "
                "(nothing is lost; no delisting was inferred)",
                spooled,
                self.options.spool_dir,
            )
        lost = self.crawler.stats.get_value("harvester/storage/lost")
        if lost:
            logger.error("%d items could neither be written nor spooled: they are lost", lost)

    async def _spider_closed(self, spider: Any, reason: str) -> None:
        if self.run_id is None:
            return
        stats = dict(self.crawler.stats.get_stats())
        # rows are missing until the spool is replayed, or were refused (dead letters): do
        # not infer delistings then (a refused product is still listed)
        partial = any(
            stats.get(f"harvester/storage/{key}") for key in ("spooled", "lost", "refused")
        )
        complete = [] if partial else list(self._complete)
        delisted = await self.writer.finish(reason, stats, complete)
        if delisted is not None:
            self.crawler.stats.set_value("harvester/storage/delisted", delisted)
        if delisted:
            logger.info("Marked %d products delisted", delisted)
        await self.writer.close()
