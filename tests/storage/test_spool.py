"""The spool: batches the database refused, kept with their exact types and replayed."""

from __future__ import annotations

import asyncio
import multiprocessing
from decimal import Decimal

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.items import ApiRecord, DeadLetter, RelatedEdge
from harvester.pipelines.normalize import build_product
from harvester.pipelines.storage import SqlStoragePipeline
from harvester.storage import models, repository, spool
from harvester.storage.db import ensure_schema, make_engine
from tests.conftest import load_fixture


def batch():
    offers = load_fixture("pandapon_selleroffer_response.json")["data"]["data"]
    products = [build_product(ApiRecord("pandapon", o, {"seller_id": "S"})) for o in offers]
    products += [
        build_product(ApiRecord("vvtool", load_fixture("vvtool_example_response.json")["data"], {}))
    ]
    return repository.Batch(
        products, [RelatedEdge("1688", "1", "2", 1)], [DeadLetter("pandapon", "bad", body="x")]
    )


def products_in(engine):
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(models.Product))


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def test_round_trip_keeps_types(tmp_path):
    original = batch()
    path = spool.write(tmp_path, original, 7, "postgresql+psycopg://u:secret@db/h")
    restored, run_id = spool.read(path)
    assert run_id == 7
    assert restored.products == original.products
    assert restored.products[-1].price_tiers[0].price == Decimal("23")
    assert restored.edges == original.edges and restored.dead_letters == original.dead_letters
    assert "secret" not in path.read_text()
    assert not list(tmp_path.glob(".*"))  # no partial file left behind


def test_replay_is_idempotent_and_only_for_its_database(engine, database_url, tmp_path):
    mine = spool.write(tmp_path, batch(), None, database_url)
    other = spool.write(tmp_path, batch(), None, "sqlite:///elsewhere.sqlite")
    assert spool.pending(tmp_path, database_url) == [mine]
    done = spool.replay(engine, tmp_path, database_url)
    assert (done.files, done.items, done.failed) == (1, len(batch()), [])
    assert not mine.exists() and other.exists()
    assert products_in(engine) == 11
    spool.write(tmp_path, batch(), None, database_url)  # the same batch again: no new rows
    spool.replay(engine, tmp_path, database_url)
    assert products_in(engine) == 11
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(models.ProductHistory)) == 11


def test_a_failing_file_stays_and_the_others_go_on(engine, tmp_path):
    first = spool.write(tmp_path, batch(), None)
    broken = tmp_path / "batch-x-0-0.jsonl"
    broken.write_text('{"run_id": null}\n{"type": "Product", "item": {"source": "1688"}}\n')
    done = spool.replay(engine, tmp_path)
    assert done.failed == [broken] and broken.exists()
    assert done.files == 1 and not first.exists()


def test_a_killed_writer_process_loses_nothing(tmp_path):
    """Its batch is spooled from the crawl process and a new writer takes the next ones."""
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    crawler = get_crawler(
        settings_dict={
            "HARVESTER_STORAGE_ENABLED": True,
            "HARVESTER_DATABASE_URL": url,
            "HARVESTER_STORAGE_WRITER": "process",
            "HARVESTER_STORAGE_AUTO_MIGRATE": True,
            "HARVESTER_STORAGE_BATCH_SIZE": 4,
            "HARVESTER_STORAGE_MAX_LATENCY": 5.0,
            "HARVESTER_STORAGE_MAX_PENDING": 0,
            "HARVESTER_STORAGE_SPOOL_DIR": str(tmp_path / "spool"),
        }
    )
    products = batch().products  # 11: batches of 4, 4 (writer killed first), 3

    async def crawl():
        pipeline = SqlStoragePipeline.from_crawler(crawler)
        crawler.spider = type("S", (), {"name": "store"})()
        await pipeline.open_spider()
        for index, item in enumerate(products):
            if index == 4:
                (child,) = multiprocessing.active_children()
                child.kill()
                child.join()
            await pipeline.process_item(item)
        await pipeline.close_spider()
        await pipeline._spider_closed(crawler.spider, "finished")

    asyncio.run(crawl())
    stats = crawler.stats.get_stats()
    assert stats["harvester/storage/writer_restarts"] == 1
    assert (stats["harvester/storage/items"], stats["harvester/storage/spooled"]) == (4 + 3, 4)
    (path,) = spool.pending(tmp_path / "spool", url)
    assert [p.product_id for p in spool.read(path)[0].products] == [
        p.product_id for p in products[4:8]
    ]
    engine = make_engine(url)
    assert products_in(engine) == 7
    spool.replay(engine, tmp_path / "spool", url)
    assert products_in(engine) == 11
    engine.dispose()
