"""Store products, related edges and dead letters in SQL, in batches, off the reactor thread.

Items are buffered; a batch is written when it reaches
``HARVESTER_STORAGE_BATCH_SIZE`` items or is ``HARVESTER_STORAGE_MAX_LATENCY``
seconds old, by one writer — a separate process by default, so that SQL work does
not compete with the reactor for the GIL, or a thread (``HARVESTER_STORAGE_WRITER``);
either way one writer keeps writes ordered (SQLite has one writer). A failing batch is retried ``HARVESTER_STORAGE_RETRY_TIMES`` times with
exponential backoff, then spooled to ``HARVESTER_STORAGE_SPOOL_DIR`` (see
:mod:`harvester.storage.spool`) and the crawl goes on; the run says so at close. ``process_item`` only waits when ``HARVESTER_STORAGE_MAX_PENDING``
batches are already queued (back-pressure). The run is recorded in ``crawl_runs``
at open and finished with the final stats when the spider closes.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from sqlalchemy.orm import Session

from harvester import signals as harvester_signals
from harvester.config import database_url
from harvester.items import DeadLetter, Product, RelatedEdge
from harvester.storage import repository, writer
from harvester.storage.db import ensure_schema, make_engine
from harvester.storage.migrate import current
from harvester.storage.writer import BatchWriter, WriteResult

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from sqlalchemy import Engine
    from typing_extensions import Self

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
        self.engine: Engine | None = None
        self.run_id: int | None = None
        self._buffer = repository.Batch()
        self._pending: list[asyncio.Future[WriteResult]] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="harvester-sql")
        mode = settings.get("HARVESTER_STORAGE_WRITER")
        if mode not in ("process", "thread"):
            raise NotConfigured(f"HARVESTER_STORAGE_WRITER must be 'process' or 'thread', not {mode!r}")
        self._processes: ProcessPoolExecutor | None = None
        if mode == "process":
            self._processes = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=writer.init_process,
                initargs=(self.url, self.retry_times, self.retry_backoff, str(self.spool_dir)),
            )
        self._timer: asyncio.TimerHandle | None = None
        crawler.signals.connect(self._dead_letter, signal=harvester_signals.dead_letter)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    # -- worker-thread side ----------------------------------------------------

    def _open_db(self, spider_name: str, arguments: dict[str, Any]) -> int:
        self.engine = make_engine(self.url)
        if self.auto_migrate:
            ensure_schema(self.engine)
        elif current(self.engine) is None:
            raise RuntimeError(f"{_redact(self.url)} has no harvester schema: run `scrapy dbupgrade` first")
        with Session(self.engine) as session, session.begin():
            return repository.start_run(session, spider_name, arguments)

    def _write(self, batch: repository.Batch) -> WriteResult:
        """Write *batch* on this thread (``HARVESTER_STORAGE_WRITER = "thread"``)."""
        assert self.engine is not None
        return BatchWriter(self.engine, self.retry_times, self.retry_backoff, self.spool_dir).write(batch, self.run_id)

    def _finish(self, status: str, stats: dict[str, Any], complete_sellers: list[tuple[str, str]]) -> int:
        assert self.engine is not None and self.run_id is not None
        delisted = 0
        if stats.get("harvester/storage/spooled"):
            complete_sellers = []  # rows are missing until the spool is replayed: do not infer delistings
        with Session(self.engine) as session, session.begin():
            for source, seller_id in complete_sellers:
                delisted += repository.mark_delisted(session, self.run_id, source, seller_id)
            stats = {**stats, "harvester/storage/delisted": delisted}
            repository.finish_run(session, self.run_id, status, stats, complete=bool(complete_sellers))
        self.engine.dispose()
        return delisted

    async def _in_thread(self, func: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    # -- reactor side ------------------------------------------------------------

    async def open_spider(self) -> None:
        spider = self.crawler.spider
        arguments = dict(getattr(spider, "harvester_arguments", {}) or {})
        self.run_id = await self._in_thread(self._open_db, spider.name, arguments)
        logger.info("Storing into %s (crawl run %s)", _redact(self.url), self.run_id)

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
        self.crawler.stats.inc_value(f"harvester/dead_letter/{dead_letter.api}/{dead_letter.kind}")
        logger.warning("Dead letter from %s: %s (%s)", dead_letter.api, dead_letter.reason, dead_letter.url)
        self._buffer.dead_letters.append(dead_letter)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_latency, self._flush)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not len(self._buffer):
            return
        batch, self._buffer = self._buffer, repository.Batch()
        loop = asyncio.get_running_loop()
        if self._processes is not None:
            future = loop.run_in_executor(self._processes, writer.write_in_process, batch, self.run_id)
        else:
            future = loop.run_in_executor(self._executor, self._write, batch)
        future.add_done_callback(lambda f, n=len(batch): self._written(f, n))  # type: ignore[misc]
        self._pending.append(future)

    def _written(self, future: asyncio.Future[WriteResult], count: int) -> None:
        self._pending.remove(future)
        stats = self.crawler.stats
        if future.cancelled() or future.exception() is not None:
            stats.inc_value("harvester/storage/batch_failed")
            logger.error("A batch of %d items failed to write", count, exc_info=future.exception())
            return
        result = future.result()
        if result.attempts > 1:
            stats.inc_value("harvester/storage/retries", result.attempts - 1)
        if result.spooled is not None:
            stats.inc_value("harvester/storage/spooled_batches")
            stats.inc_value("harvester/storage/spooled", count)
            logger.error("Database write failed %d times (%s); batch of %d items spooled to %s",
                         result.attempts, result.error, count, result.spooled)
            return
        stats.inc_value("harvester/storage/batches")
        stats.inc_value("harvester/storage/items", count)

    async def _backpressure(self) -> None:
        while len(self._pending) > self.max_pending:
            await asyncio.wait(list(self._pending), return_when=asyncio.FIRST_COMPLETED)

    async def close_spider(self) -> None:
        self._flush()
        if self._pending:
            await asyncio.wait(list(self._pending))
        spooled = self.crawler.stats.get_value("harvester/storage/spooled")
        if spooled:
            logger.warning(
                "%d items could not be written and are spooled in %s: run `scrapy replay_spool` "
                "once the database is back (nothing is lost)", spooled, self.spool_dir,
            )

    async def _spider_closed(self, spider: Any, reason: str) -> None:
        if self.run_id is None:
            return
        complete = list(getattr(spider, "complete_listings", lambda: [])())
        stats = dict(self.crawler.stats.get_stats())
        delisted = await self._in_thread(self._finish, reason, stats, complete)
        if delisted:
            logger.info("Marked %d products delisted", delisted)
        if self._processes is not None:
            await self._in_thread(self._processes.shutdown)
        self._executor.shutdown(wait=False)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
