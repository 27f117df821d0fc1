"""The storage writer seen from the reactor: open a crawl run, write batches, finish the run.

:class:`StorageWorker` is the interface the storage pipeline buffers over. Every
database call runs off the reactor thread: run bookkeeping (schema check, spool
replay, ``crawl_runs``) on one dedicated thread, batches on one
:class:`~harvester.storage.writer.BatchWriter` — in a separate process by default,
so that SQL work does not compete with the reactor for the GIL, or on that thread
(``mode="thread"``). One writer keeps writes ordered (SQLite has one writer).
A batch whose writer process died is spooled from here and a new process takes
the next batches.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from harvester.storage import repository, runs, spool, writer
from harvester.storage.db import RUN_CACHE_MIB, WRITER_CACHE_MIB, ensure_schema, make_engine
from harvester.storage.migrate import current
from harvester.storage.writer import BatchWriter, WriteResult

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriterOptions:
    """How the writer reaches the database and what it does when it cannot."""

    url: str
    spool_dir: Path
    retry_times: int = 3
    retry_backoff: float = 0.5
    #: ``process`` or ``thread``.
    mode: str = "process"
    auto_migrate: bool = True
    replay_at_open: bool = True
    nice: int = 0
    gc_thresholds: tuple[int, int, int] | None = None
    #: Resume the job's crashed or interrupted run (``HARVESTER_RESUME``)...
    resume: bool = True
    #: ...after marking ``crashed`` the runs without a heartbeat for this many seconds.
    stale_after: float = 90.0


class StorageWorker:
    def __init__(self, options: WriterOptions) -> None:
        if options.mode not in ("process", "thread"):
            raise ValueError(
                f"HARVESTER_STORAGE_WRITER must be 'process' or 'thread', not {options.mode!r}"
            )
        self.options = options
        self.run_id: int | None = None
        self._local: BatchWriter | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="harvester-sql")
        self._processes = self._new_process() if options.mode == "process" else None

    def _new_process(self) -> ProcessPoolExecutor:
        """One writer process (spawned at the first call), with its own engine."""
        o = self.options
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=writer.init_process,
            initargs=(
                o.url,
                o.retry_times,
                o.retry_backoff,
                str(o.spool_dir),
                o.nice,
                o.gc_thresholds,
            ),
        )

    async def _in_thread(self, func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, func, *args)

    async def open(self, spider_name: str, arguments: dict[str, Any]) -> runs.RunStart:
        """Check (or migrate) the schema, replay spooled batches, record the run: its id,
        and the job it resumes with the units done there."""
        # start the writer process (imports, engine) while the schema is checked, rather
        # than when the first batch is ready, in the middle of the crawl
        loop = asyncio.get_running_loop()
        warm_up = loop.run_in_executor(self._processes, writer.ready) if self._processes else None
        started = await self._in_thread(self._open, spider_name, arguments)
        self.run_id = started.run_id
        if warm_up is not None:
            try:
                await warm_up
            except Exception as exc:  # noqa: BLE001 - the first batch starts a new writer
                logger.warning("The storage writer process did not start (%r)", exc)
        return started

    def _open(self, spider_name: str, arguments: dict[str, Any]) -> runs.RunStart:
        o = self.options
        # beside a writer process this engine only records the run (the default cache)
        cache = RUN_CACHE_MIB if self._processes is not None else WRITER_CACHE_MIB
        engine = make_engine(o.url, cache_mib=cache)
        self._local = BatchWriter(engine, o.retry_times, o.retry_backoff, o.spool_dir)
        if o.auto_migrate:
            ensure_schema(engine)
        elif current(engine) is None:
            raise RuntimeError(
                f"{redact(o.url)} has no harvester schema: run `scrapy dbupgrade` first"
            )
        if o.replay_at_open and spool.pending(o.spool_dir, o.url):
            replayed = spool.replay(engine, o.spool_dir, o.url)
            logger.warning(
                "Replayed %d spooled batches (%d items) from %s%s",
                replayed.files,
                replayed.items,
                o.spool_dir,
                f"; {len(replayed.failed)} failed again" if replayed.failed else "",
            )
        with Session(engine) as session, session.begin():
            return runs.begin_run(
                session, spider_name, arguments, resume=o.resume, stale_after=o.stale_after
            )

    async def write(self, batch: repository.Batch) -> WriteResult:
        """Write *batch*; never raises: what cannot be written is spooled (or reported lost)."""
        loop = asyncio.get_running_loop()
        try:
            if self._processes is not None:
                # packed here, in one go, rather than pickled by the pool's feeder thread,
                # which would hold the GIL against the reactor in 5 ms slices
                return await loop.run_in_executor(
                    self._processes, writer.write_packed, writer.pack(batch), self.run_id
                )
            assert self._local is not None, "open() first"
            return await self._in_thread(self._local.write, batch, self.run_id)
        except Exception as exc:  # noqa: BLE001 - the writer itself died
            return await self._spool_here(batch, exc)

    async def _spool_here(self, batch: repository.Batch, exc: Exception) -> WriteResult:
        """Spool a batch whose writer died (e.g. its process was killed) from this process,
        and start a new writer process for the next batches."""
        logger.error("The storage writer failed (%r); spooling its batch from here", exc)
        restarted = isinstance(exc, BrokenProcessPool) and self._processes is not None
        if restarted:
            broken, self._processes = self._processes, self._new_process()
            assert broken is not None
            broken.shutdown(wait=False)
        o = self.options
        try:
            path = await self._in_thread(spool.write, o.spool_dir, batch, self.run_id, o.url)
        except Exception:
            logger.exception("A batch of %d items could not be written nor spooled", len(batch))
            return WriteResult(0, error=repr(exc), lost=True, writer_restarted=restarted)
        return WriteResult(0, path, repr(exc), writer_restarted=restarted)

    async def finish(
        self, status: str, stats: dict[str, Any], complete_sellers: list[tuple[str, str]]
    ) -> int | None:
        """Mark delistings and finish the run row; how many products were delisted, or
        None if the database stayed down."""
        return await self._in_thread(self._finish, status, stats, complete_sellers)

    def _finish(
        self, status: str, stats: dict[str, Any], complete_sellers: list[tuple[str, str]]
    ) -> int | None:
        local, run_id = self._local, self.run_id
        assert local is not None and run_id is not None

        def attempt() -> int:
            with Session(local.engine) as session, session.begin():
                # a resumed run skipped the pages its job's earlier runs stored
                seen_by = runs.job_runs(session, run_id)
                delisted = sum(
                    runs.mark_delisted(session, run_id, source, seller_id, seen_by)
                    for source, seller_id in complete_sellers
                )
                # the run's outcome (harvester/extensions/outcome.py), else Scrapy's reason
                runs.finish_run(
                    session,
                    run_id,
                    stats.get("harvester/run/status", status),
                    {**stats, "harvester/storage/delisted": delisted},
                    complete=bool(complete_sellers),
                    exit_code=stats.get("harvester/run/exit_code"),
                    reason=stats.get("harvester/run/reason"),
                )
            return delisted

        try:
            return local.retrying("Finishing the crawl run", attempt)
        except Exception:
            logger.exception("Could not finish crawl run %s in the database", run_id)
            return None

    async def close(self) -> None:
        """Stop the writer process and release the engine."""
        if self._processes is not None:
            await self._in_thread(self._processes.shutdown)
        if self._local is not None:
            await self._in_thread(self._local.engine.dispose)
        self._thread.shutdown(wait=False)


def redact(url: str) -> str:
    """*url* without its password, for logs."""
    return make_url(url).render_as_string(hide_password=True)
