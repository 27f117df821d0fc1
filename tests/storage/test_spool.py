"""No lost writes: a batch the database refuses is retried, spooled, and replayed to the same rows."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy.exc import OperationalError

from harvester.items import ApiRecord, DeadLetter, RelatedEdge
from harvester.pipelines.normalize import build_product
from harvester.pipelines.storage import SqlStoragePipeline
from harvester.storage import repository, spool
from harvester.storage.db import ensure_schema, make_engine
from tests.conftest import load_fixture


def batch() -> repository.Batch:
    offers = load_fixture("pandapon_selleroffer_response.json")["data"]["data"]
    products = [build_product(ApiRecord("pandapon", o, {"seller_id": "S"})) for o in offers]
    products += [build_product(ApiRecord("vvtool", load_fixture("vvtool_example_response.json")["data"], {}))]
    return repository.Batch(products, [RelatedEdge("1688", "1", "2", 1)], [DeadLetter("pandapon", "bad", body="x")])


def snapshot(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return [
            *db.execute("select source, product_id, title, price, currency, stock from products order by product_id"),
            *db.execute("select product_id, sku_id, price from skus"),
            *db.execute("select product_id, start_quantity, price from price_tiers order by start_quantity"),
            *db.execute("select source_product_id, related_product_id, rank from related_edges"),
            *db.execute("select count(*) from product_history"),
            *db.execute("select reason, count(*) from dead_letters group by reason"),
        ]


def test_spool_round_trip_keeps_types(tmp_path):
    original = batch()
    path = spool.write(tmp_path, original, 7)
    restored, run_id = spool.read(path)
    assert run_id == 7
    assert restored.products == original.products
    assert restored.products[-1].price_tiers[0].price == Decimal("23")
    assert restored.edges == original.edges and restored.dead_letters == original.dead_letters


def test_outage_spools_then_replay_equals_an_uninterrupted_write(tmp_path, monkeypatch):
    direct = tmp_path / "direct.sqlite"
    engine = make_engine(f"sqlite:///{direct}")
    ensure_schema(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        repository.write_batch(session, batch(), None)

    target = tmp_path / "target.sqlite"
    crawler = get_crawler(settings_dict={
        "HARVESTER_DATABASE_URL": f"sqlite:///{target}", "HARVESTER_STORAGE_SPOOL_DIR": str(tmp_path / "spool"),
        "HARVESTER_STORAGE_RETRY_TIMES": 2, "HARVESTER_STORAGE_RETRY_BACKOFF": 0.01,
        "HARVESTER_STORAGE_ENABLED": True, "HARVESTER_STORAGE_BATCH_SIZE": 500,
        "HARVESTER_STORAGE_MAX_LATENCY": 1.0, "HARVESTER_STORAGE_MAX_PENDING": 4, "HARVESTER_STORAGE_WRITER": "thread",
    })
    pipeline = SqlStoragePipeline.from_crawler(crawler)
    pipeline.engine = make_engine(f"sqlite:///{target}")
    ensure_schema(pipeline.engine)
    calls = []

    def down(*args, **kwargs):
        calls.append(1)
        raise OperationalError("insert", {}, Exception("database is down"))

    monkeypatch.setattr(repository, "write_batch", down)
    result = pipeline._write(batch())
    assert len(calls) == 3 and result.attempts == 3
    assert result.spooled is not None and result.spooled.exists()
    monkeypatch.undo()

    files, items = spool.replay(pipeline.engine, tmp_path / "spool")
    assert (files, items) == (1, len(batch()))
    assert not list((tmp_path / "spool").glob("*.jsonl"))
    assert snapshot(target) == snapshot(direct)
    # replaying a second copy changes no product, SKU, tier, edge or history row (upserts)
    spool.write(tmp_path / "spool", batch(), None)
    spool.replay(pipeline.engine, tmp_path / "spool")
    assert snapshot(target)[:-1] == snapshot(direct)[:-1]
    assert snapshot(target)[-1] == ("bad", 2)  # dead letters are observations: appended


@pytest.mark.parametrize("kind", ["Product", "RelatedEdge", "DeadLetter"])
def test_every_item_type_is_spoolable(kind, tmp_path):
    original = batch()
    path = spool.write(tmp_path, original, None)
    assert f'"type": "{kind}"' in path.read_text()
