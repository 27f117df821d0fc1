"""A database outage in the middle of a crawl loses no record.

The storage pipeline is driven as Scrapy drives it (open, items, close) while
the database really goes away for one batch: on SQLite another connection holds
the write lock, on PostgreSQL the database stops accepting connections and its
sessions are terminated. The batch is retried, spooled, no delisting is inferred,
and after the replay the rows equal those of an uninterrupted crawl.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import replace

import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from harvester import signals
from harvester.items import ApiRecord, DeadLetter, RelatedEdge
from harvester.pipelines.normalize import build_product
from harvester.pipelines.storage import SqlStoragePipeline
from harvester.storage import models, spool
from harvester.storage.db import make_engine
from tests.conftest import load_fixture

BATCH = 4


class StoreDump(Spider):
    name = "store"

    def run_arguments(self) -> dict[str, str]:
        return {"seller_open_id": "S"}


def crawl_items(run: int) -> list:
    """What one store dump yields; the second dump sees every price go up by one."""
    offers = load_fixture("pandapon_selleroffer_response.json")["data"]["data"]
    products = [build_product(ApiRecord("pandapon", o, {"seller_id": "S"})) for o in offers]
    if run == 2:
        products = [replace(p, price=p.price + 1) for p in products]
    detail = build_product(
        ApiRecord("vvtool", load_fixture("vvtool_example_response.json")["data"], {})
    )
    return [
        *products,
        detail,
        RelatedEdge("1688", "1", "2", run),
        DeadLetter("pandapon", f"bad {run}", body="x"),
    ]


def settings(url, tmp_path, writer):
    return {
        "HARVESTER_STORAGE_ENABLED": True,
        "HARVESTER_DATABASE_URL": url,
        "HARVESTER_STORAGE_WRITER": writer,
        "HARVESTER_STORAGE_AUTO_MIGRATE": True,
        "HARVESTER_STORAGE_REPLAY_AT_OPEN": False,
        "HARVESTER_STORAGE_BATCH_SIZE": BATCH,
        "HARVESTER_STORAGE_MAX_LATENCY": 5.0,
        # 0: every full batch is written before the next item, so the outage hits exactly one batch
        "HARVESTER_STORAGE_MAX_PENDING": 0,
        "HARVESTER_STORAGE_RETRY_TIMES": 2,
        "HARVESTER_STORAGE_RETRY_BACKOFF": 0.05,
        "HARVESTER_STORAGE_SPOOL_DIR": str(tmp_path / "spool"),
    }


def run_pipeline(crawler_settings, items, outage=None):
    """One crawl through the pipeline; *outage* covers the second batch. Returns the final stats."""
    crawler = get_crawler(StoreDump, settings_dict=crawler_settings)
    crawler.spider = StoreDump()
    crawler.signals.connect(crawler.spider.run_arguments, signal=signals.run_arguments)

    async def crawl():
        pipeline = SqlStoragePipeline.from_crawler(crawler)
        await pipeline.open_spider()
        for index, item in enumerate(items):
            if outage is not None and index == BATCH:
                outage.__enter__()
            if outage is not None and index == 2 * BATCH:
                outage.__exit__(None, None, None)
            await pipeline.process_item(item)
        crawler.signals.send_catch_log(
            signal=signals.listing_complete, source="1688", seller_id="S"
        )
        await pipeline.close_spider()
        await pipeline._spider_closed(crawler.spider, "finished")

    asyncio.run(crawl())
    return crawler.stats.get_stats()


@contextmanager
def sqlite_outage(url):
    """Another connection holds SQLite's write lock."""
    locker = sqlite3.connect(make_url(url).database, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        locker.execute("ROLLBACK")
        locker.close()


@contextmanager
def postgres_outage(server, url):
    """The database refuses connections and its sessions are killed."""
    name = make_url(url).database
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name},
        )
    try:
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def snapshot(url):
    """Every row that matters, without ids and timestamps."""
    engine = make_engine(url)
    m = models
    queries = {
        "products": select(
            m.Product.product_id,
            m.Product.price,
            m.Product.stock,
            m.Product.last_run_id,
            m.Product.delisted_at.is_(None),
        ).order_by(m.Product.product_id),
        "history": select(
            m.ProductHistory.product_id, m.ProductHistory.price, m.ProductHistory.run_id
        ).order_by(m.ProductHistory.run_id, m.ProductHistory.product_id),
        "payloads": select(
            m.ProductPayload.product_id, m.ProductPayload.api, m.ProductPayload.run_id
        ).order_by(m.ProductPayload.product_id, m.ProductPayload.api),
        "tiers": select(
            m.PriceTier.product_id, m.PriceTier.start_quantity, m.PriceTier.price
        ).order_by(m.PriceTier.start_quantity),
        "skus": select(m.Sku.product_id, m.Sku.sku_id, m.Sku.price),
        "edges": select(m.RelatedEdge.source_product_id, m.RelatedEdge.rank, m.RelatedEdge.run_id),
        "letters": select(m.DeadLetter.reason, m.DeadLetter.run_id).order_by(m.DeadLetter.id),
        "runs": select(m.CrawlRun.id, m.CrawlRun.status).order_by(m.CrawlRun.id),
    }
    with Session(engine) as session:
        rows = {
            name: [tuple(row) for row in session.execute(query)] for name, query in queries.items()
        }
    engine.dispose()
    return rows


@contextmanager
def sql_threads(url):
    """Names of the threads that ran SQL on *url*'s database in this process."""
    seen: set[str] = set()
    database = make_url(url).database

    def record(conn, *args):
        if conn.engine.url.database == database:
            seen.add(threading.current_thread().name)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The rows of the same two crawls without an outage."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    url = f"sqlite:///{folder / 'reference.sqlite'}"
    for run in (1, 2):
        run_pipeline(settings(url, folder, "thread"), crawl_items(run))
    return snapshot(url)


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_outage_mid_crawl_loses_nothing(database_url, writer, tmp_path, request, uninterrupted):
    if database_url.startswith("sqlite"):
        url = f"{database_url}?timeout=0.1"  # a locked database fails fast
        outage = sqlite_outage(url)
    else:
        url = database_url
        outage = postgres_outage(request.getfixturevalue("postgres_server"), url)
    run_pipeline(settings(url, tmp_path, writer), crawl_items(1))
    with sql_threads(url) as threads:
        stats = run_pipeline(settings(url, tmp_path, writer), crawl_items(2), outage)

    assert threading.main_thread().name not in threads  # no SQL on the reactor's thread
    assert (
        stats["harvester/storage/spooled"] == BATCH
        and stats["harvester/storage/spooled_batches"] == 1
    )
    assert stats["harvester/storage/retries"] == 2
    assert stats["harvester/storage/items"] == len(crawl_items(2)) - BATCH
    assert (
        stats.get("harvester/storage/delisted") == 0
    )  # no delisting inferred from a partial write
    spooled = spool.pending(tmp_path / "spool", url)
    assert len(spooled) == 1
    before = snapshot(url)
    last_runs = [last_run for _, _, _, last_run, _ in before["products"]]
    assert (
        last_runs.count(2) == len(last_runs) - BATCH
    )  # the spooled batch's products are not written yet

    done = spool.replay(make_engine(url), tmp_path / "spool", url)
    assert (done.files, done.items, done.failed) == (1, BATCH, [])
    assert not spool.pending(tmp_path / "spool")
    after, expected = snapshot(url), uninterrupted
    assert after == expected
    assert (
        len([row for row in after["history"] if row[2] == 2]) == 10
    )  # every repriced product, once
    engine = make_engine(url)
    with Session(engine) as session:
        assert (
            session.scalar(select(models.CrawlRun.complete).where(models.CrawlRun.id == 2)) is False
        )
    engine.dispose()


def test_a_product_the_database_refuses_is_not_delisted(tmp_path):
    """A complete walk whose product the database refused (a dead letter) infers no
    delisting: the refused product is still listed."""
    url = f"sqlite:///{tmp_path / 'refused.sqlite'}"
    run_pipeline(settings(url, tmp_path, "thread"), crawl_items(1))
    items = crawl_items(1)
    refused = items[0]
    items[0] = replace(refused, shop_id="x" * 65)  # beyond shop_id's 64 characters
    stats = run_pipeline(settings(url, tmp_path, "thread"), items)
    assert stats["harvester/storage/refused"] == 1
    assert stats.get("harvester/storage/delisted") == 0
    listed = {
        product_id for product_id, *_, still_listed in snapshot(url)["products"] if still_listed
    }
    assert refused.product_id in listed
