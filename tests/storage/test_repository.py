"""The one write path, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.items import ApiRecord, DeadLetter, RelatedEdge
from harvester.pipelines.normalize import build_product
from harvester.storage import models, repository, runs
from harvester.storage.db import ensure_schema, make_engine
from tests.conftest import load_fixture


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def listing(seller="S"):
    offers = load_fixture("pandapon_selleroffer_response.json")["data"]["data"]
    return [build_product(ApiRecord("pandapon", o, {"seller_id": seller})) for o in offers]


def write(engine, run_id=None, products=(), edges=(), letters=()):
    with Session(engine) as session, session.begin():
        repository.write_batch(
            session, repository.Batch(list(products), list(edges), list(letters)), run_id
        )


def count(engine, model, *where):
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def start(engine, spider="store"):
    with Session(engine) as session, session.begin():
        return runs.start_run(session, spider, {"seller_open_id": "S"})


def test_rerun_adds_no_rows_and_no_history(engine):
    write(engine, start(engine), listing())
    write(engine, start(engine), listing())
    assert count(engine, models.Product) == 10
    assert count(engine, models.ProductHistory) == 10
    assert count(engine, models.ProductPayload) == 10


def test_changed_price_adds_exactly_one_history_row(engine):
    write(engine, start(engine), listing())
    changed = listing()
    changed[3] = replace(changed[3], price=Decimal("99.99"))
    run = start(engine)
    write(engine, run, changed)
    with Session(engine) as session:
        rows = session.execute(
            select(models.ProductHistory.product_id, models.ProductHistory.price).where(
                models.ProductHistory.run_id == run
            )
        ).all()
        current = session.scalar(
            select(models.Product.price).where(models.Product.product_id == changed[3].product_id)
        )
    assert rows == [(changed[3].product_id, Decimal("99.99"))]
    assert current == Decimal("99.99")


def test_record_without_a_field_keeps_it_and_adds_no_history(engine):
    write(engine, start(engine), listing())
    sparse = [replace(p, month_sold=None, title_en=None) for p in listing()]
    write(engine, start(engine), sparse)
    assert count(engine, models.ProductHistory) == 10
    assert count(engine, models.Product, models.Product.title_en.is_(None)) == 0


def test_delisted_product_is_marked_and_comes_back(engine):
    products = listing()
    write(engine, start(engine), products)
    run = start(engine)
    write(engine, run, products[1:])
    with Session(engine) as session, session.begin():
        assert runs.mark_delisted(session, run, "1688", "S") == 1
    with Session(engine) as session:
        delisted = session.execute(
            select(models.Product.product_id, models.Product.delisted_run_id).where(
                models.Product.delisted_at.is_not(None)
            )
        ).all()
    assert delisted == [(products[0].product_id, run)]
    write(engine, start(engine), products)
    assert count(engine, models.Product, models.Product.delisted_at.is_not(None)) == 0


def test_detail_enriches_the_listing_row_with_skus_and_tiers(engine):
    detail = build_product(
        ApiRecord(
            "vvtool", load_fixture("vvtool_example_response.json")["data"], {"shop_id": "shop"}
        )
    )
    listed = replace(listing()[0], product_id=detail.product_id)
    write(engine, None, [listed, detail])  # both in one batch
    write(engine, None, [detail])  # replaced, not duplicated
    with Session(engine) as session:
        row = session.scalars(select(models.Product)).one()
        tiers = session.execute(
            select(models.PriceTier.start_quantity, models.PriceTier.price).order_by(
                models.PriceTier.start_quantity
            )
        ).all()
    assert row.title_en == listed.title_en and row.stock == 4047 and row.shop_id == "shop"
    assert tiers == [(3, Decimal("23")), (50, Decimal("22")), (500, Decimal("21"))]
    assert count(engine, models.Sku) == 1


def test_edges_dead_letters_and_run_stats(engine):
    run = start(engine, "related")
    edge = RelatedEdge("1688", "1", "2", 3)
    write(
        engine,
        run,
        edges=[edge, replace(edge, rank=4)],
        letters=[DeadLetter("pandapon", "bad record", body="{}")],
    )
    with Session(engine) as session, session.begin():
        runs.finish_run(
            session,
            run,
            "finished",
            {"item_scraped_count": 5, "start_time": datetime.now(UTC)},
            False,
        )
    with Session(engine) as session:
        assert session.execute(select(models.RelatedEdge.rank)).scalars().all() == [4]
        letter = session.scalars(select(models.DeadLetter)).one()
        finished = session.get(models.CrawlRun, run)
    assert letter.run_id == run and letter.reason == "bad record"
    assert finished.status == "finished" and finished.stats["item_scraped_count"] == 5


def test_big_batch_is_chunked(engine):
    base = listing()[0]
    many = [replace(base, product_id=str(10**11 + i)) for i in range(1200)]  # 4 key chunks
    write(engine, None, many)
    write(engine, None, many)
    assert count(engine, models.Product) == 1200
    assert count(engine, models.ProductHistory) == 1200
