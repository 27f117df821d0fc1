"""Engines: SQLite page cache per role (the writer's is big, the crawl process's small)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from harvester.storage.db import RUN_CACHE_MIB, WRITER_CACHE_MIB, make_engine
from harvester.storage.worker import StorageWorker, WriterOptions


def cache_kib(engine) -> int:
    with engine.connect() as connection:
        return -connection.execute(text("PRAGMA cache_size")).scalar_one()


def test_sqlite_page_cache_is_small_unless_a_writer_asks(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    assert cache_kib(make_engine(url)) == RUN_CACHE_MIB * 1024
    assert cache_kib(make_engine(url, cache_mib=WRITER_CACHE_MIB)) == WRITER_CACHE_MIB * 1024


def test_beside_a_writer_process_the_crawl_process_keeps_a_small_cache(tmp_path):
    """The crawl process's own connection only records the run; with 64 MiB of cache the
    delisting scan at finish grew the crawl's peak memory with the database."""
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    sizes = {}
    for mode in ("process", "thread"):
        worker = StorageWorker(WriterOptions(url=url, mode=mode, spool_dir=tmp_path / "spool"))

        async def run(worker: StorageWorker = worker) -> None:
            await worker.open("store", {})
            await worker.close()

        asyncio.run(run())
        assert worker._local is not None  # noqa: SLF001 - the test reads its own fixture
        sizes[mode] = cache_kib(worker._local.engine)  # noqa: SLF001
    assert sizes == {"process": RUN_CACHE_MIB * 1024, "thread": WRITER_CACHE_MIB * 1024}
