"""Store products, related edges and dead letters in SQL, in batches, off the reactor thread.

Items are buffered; a batch is written when it reaches
``HARVESTER_STORAGE_BATCH_SIZE`` items or is ``HARVESTER_STORAGE_MAX_LATENCY``
seconds old, by one writer — a separate process by default, so that SQL work does
not compete with the reactor for the GIL, or a thread (``HARVESTER_STORAGE_WRITER``);
either way one writer keeps writes ordered (SQLite has one writer).

No record is lost: a failing batch is retried ``HARVESTER_STORAGE_RETRY_TIMES``
times with exponential backoff, then spooled to ``HARVESTER_STORAGE_SPOOL_DIR``
(see :mod:`harvester.storage.spool`) and the crawl goes on; the run says so at
close (stats ``harvester/storage/spooled``, a warning naming the replay command).
A batch whose writer died (a killed writer process) is spooled from here. Batches
spooled earlier for the same database are replayed at spider open
(``HARVESTER_STORAGE_REPLAY_AT_OPEN``), before this run writes anything, so that
scheduled crawls write their batches in the order they were crawled (a stale batch
replayed after a newer crawl would overwrite its current rows).

``process_item`` only waits when ``HARVESTER_STORAGE_MAX_PENDING`` batches are
already queued (back-pressure). The run is recorded in ``crawl_runs`` at open and
finished with the final stats when the spider closes.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from sqlalchemy.orm import Session

from harvester import signals as harvester_signals
from harvester.config import database_url
from harvester.extensions.gc import thresholds_setting
from harvester.items import DeadLetter, Product, RelatedEdge
from harvester.storage import repository, spool, writer
from harvester.storage.db import ensure_schema, make_engine
from harvester.storage.migrate import current
from harvester.storage.writer import BatchWriter, WriteResult

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)


class SqlStoragePipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("HARVESTER_STORAGE_ENABLED"):
            raise NotConfigured("HARVESTER_STORAGE_ENABLED is off")
        self.crawler = crawler
        self.url = database_url(settings)
        self.batch_size = settings.getint("HARVESTER_STORAGE_BATCH_SIZE")
        self.max_latency = settings.getfloat("HARVESTER_STORAGE_MAX_LATENCY")
        self.max_pending = settings.getint("HARVESTER_STORAGE_MAX_PENDING")
        self.retry_times = settings.getint("HARVESTER_STORAGE_RETRY_TIMES")
        self.retry_backoff = settings.getfloat("HARVESTER_STORAGE_RETRY_BACKOFF")
        self.spool_dir = Path(settings.get("HARVESTER_STORAGE_SPOOL_DIR"))
        self.auto_migrate = settings.getbool("HARVESTER_STORAGE_AUTO_MIGRATE")
        self.replay_at_open = settings.getbool("HARVESTER_STORAGE_REPLAY_AT_OPEN")
        self.nice = settings.getint("HARVESTER_STORAGE_WRITER_NICE")
        try:
            self.gc_thresholds = thresholds_setting(settings.get("HARVESTER_GC_THRESHOLDS"))
        except ValueError:
            self.gc_thresholds = None  # the GC extension says why
        self.engine: Engine | None = None
        self.run_id: int | None = None
        self._buffer = repository.Batch()
        self._pending: set[asyncio.Task[None]] = set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="harvester-sql")
        mode = settings.get("HARVESTER_STORAGE_WRITER")
        if mode not in ("process", "thread"):
            raise NotConfigured(
                f"HARVESTER_STORAGE_WRITER must be 'process' or 'thread', not {mode!r}"
            )
        self._processes = self._writer_process() if mode == "process" else None
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

    def _writer_process(self) -> ProcessPoolExecutor:
        """One writer process (spawned at the first batch), with its own engine."""
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=writer.init_process,
            initargs=(
                self.url,
                self.retry_times,
                self.retry_backoff,
                str(self.spool_dir),
                self.nice,
                self.gc_thresholds,
            ),
        )

    # -- worker-thread side ----------------------------------------------------

    def _open_db(self, spider_name: str, arguments: dict[str, Any]) -> int:
        self.engine = make_engine(self.url)
        if self.auto_migrate:
            ensure_schema(self.engine)
        elif current(self.engine) is None:
            raise RuntimeError(
                f"{_redact(self.url)} has no harvester schema: run `scrapy dbupgrade` first"
            )
        if self.replay_at_open and spool.pending(self.spool_dir, self.url):
            replayed = spool.replay(self.engine, self.spool_dir, self.url)
            logger.warning(
                "Replayed %d spooled batches (%d items) from %s%s",
                replayed.files,
                replayed.items,
                self.spool_dir,
                f"; {len(replayed.failed)} failed again" if replayed.failed else "",
            )
        with Session(self.engine) as session, session.begin():
            return repository.start_run(session, spider_name, arguments)

    def _write(self, batch: repository.Batch) -> WriteResult:
        """Write *batch* on this thread (``HARVESTER_STORAGE_WRITER = "thread"``)."""
        assert self.engine is not None
        return BatchWriter(self.engine, self.retry_times, self.retry_backoff, self.spool_dir).write(
            batch, self.run_id
        )

    def _finish(
        self, status: str, stats: dict[str, Any], complete_sellers: list[tuple[str, str]]
    ) -> int | None:
        """Mark delistings and finish the run row; None if the database stayed down."""
        assert self.engine is not None and self.run_id is not None
        if stats.get("harvester/storage/spooled") or stats.get("harvester/storage/lost"):
            # rows are missing until the spool is replayed: do not infer delistings
            complete_sellers = []
        try:
            for attempt in range(1, self.retry_times + 2):
                try:
                    delisted = 0
                    with Session(self.engine) as session, session.begin():
                        for source, seller_id in complete_sellers:
                            delisted += repository.mark_delisted(
                                session, self.run_id, source, seller_id
                            )
                        stats = {**stats, "harvester/storage/delisted": delisted}
                        repository.finish_run(
                            session, self.run_id, status, stats, complete=bool(complete_sellers)
                        )
                    return delisted
                except Exception:
                    if attempt > self.retry_times:
                        logger.exception(
                            "Could not finish crawl run %s in the database", self.run_id
                        )
                        return None
                    time.sleep(self.retry_backoff * 2 ** (attempt - 1))
            return None
        finally:
            self.engine.dispose()

    async def _in_thread(self, func: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    # -- reactor side ------------------------------------------------------------

    async def open_spider(self) -> None:
        spider = self.crawler.spider
        arguments = harvester_signals.run_arguments_of(self.crawler)
        # start the writer process (imports, engine) while the schema is checked, rather
        # than when the first batch is ready, in the middle of the crawl
        warm_up = (
            asyncio.get_running_loop().run_in_executor(self._processes, writer.ready)
            if self._processes is not None
            else None
        )
        self.run_id = await self._in_thread(self._open_db, spider.name, arguments)
        logger.info("Storing into %s (crawl run %s)", _redact(self.url), self.run_id)
        if warm_up is not None:
            try:
                await warm_up
            except Exception as exc:  # noqa: BLE001 - the first batch starts a new writer
                logger.warning("The storage writer process did not start (%r)", exc)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, Product):
            self._buffer.products.append(item)
        elif isinstance(item, RelatedEdge):
            self._buffer.edges.append(item)
        elif isinstance(item, DeadLetter):
            self._buffer.dead_letters.append(item)
        else:
            return item
        if len(self._buffer) >= self.batch_size:
            self._flush()
            await self._backpressure()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_latency, self._flush)
        return item

    def _dead_letter(self, dead_letter: DeadLetter) -> None:
        self._buffer.dead_letters.append(dead_letter)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_latency, self._flush)

    def _listing_complete(self, source: str, seller_id: str) -> None:
        self._complete.append((source, seller_id))

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not len(self._buffer):
            return
        batch, self._buffer = self._buffer, repository.Batch()
        task = asyncio.ensure_future(self._store(batch))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _store(self, batch: repository.Batch) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self._processes is not None:
                # packed here, in one go, rather than pickled by the pool's feeder thread,
                # which would hold the GIL against the reactor in 5 ms slices
                result = await loop.run_in_executor(
                    self._processes, writer.write_packed, writer.pack(batch), self.run_id
                )
            else:
                result = await loop.run_in_executor(self._executor, self._write, batch)
        except Exception as exc:
            # the writer itself died (e.g. its process was killed): spool the batch from here,
            # and start a new writer process for the next batches
            logger.error("The storage writer failed (%r); spooling its batch from here", exc)
            if isinstance(exc, BrokenProcessPool) and self._processes is not None:
                broken, self._processes = self._processes, self._writer_process()
                broken.shutdown(wait=False)
                self.crawler.stats.inc_value("harvester/storage/writer_restarts")
            try:
                path = await self._in_thread(
                    spool.write, self.spool_dir, batch, self.run_id, self.url
                )
            except Exception:
                self.crawler.stats.inc_value("harvester/storage/lost", len(batch))
                logger.exception("A batch of %d items could not be written nor spooled", len(batch))
                return
            result = WriteResult(0, path, repr(exc))
        self._account(result, len(batch))

    def _account(self, result: WriteResult, count: int) -> None:
        stats = self.crawler.stats
        if result.attempts > 1:
            stats.inc_value("harvester/storage/retries", result.attempts - 1)
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
                self.spool_dir,
            )
        lost = self.crawler.stats.get_value("harvester/storage/lost")
        if lost:
            logger.error("%d items could neither be written nor spooled: they are lost", lost)

    async def _spider_closed(self, spider: Any, reason: str) -> None:
        if self.run_id is None:
            return
        stats = dict(self.crawler.stats.get_stats())
        delisted = await self._in_thread(self._finish, reason, stats, list(self._complete))
        if delisted is not None:
            self.crawler.stats.set_value("harvester/storage/delisted", delisted)
        if delisted:
            logger.info("Marked %d products delisted", delisted)
        if self._processes is not None:
            await self._in_thread(self._processes.shutdown)
        self._executor.shutdown(wait=False)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
