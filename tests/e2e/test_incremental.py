"""Scheduled re-runs of a store dump: rows updated, history only on change, delistings marked."""

from __future__ import annotations

import sqlite3


def rows(db_url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql).fetchall()


def test_rerun_reprice_and_delist(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    seller = sandbox.store(275)
    offers = sandbox.get(f"/_sandbox/offers?sellerOpenId={seller}")["offerIds"]
    repriced, delisted = offers[0], offers[1]

    assert run_crawl("store", sandbox, args={"seller_open_id": seller}).returncode == 0
    assert run_crawl("store", sandbox, args={"seller_open_id": seller}).returncode == 0
    assert rows(db_url, "select count(*) from products") == [(275,)]
    assert rows(db_url, "select count(*) from product_history") == [(275,)]  # first sightings only

    sandbox.post("/_sandbox/catalog", {"reprice": {str(repriced): "12.34"}, "delist": [delisted]})
    result = run_crawl("store", sandbox, args={"seller_open_id": seller})
    assert result.returncode == 0
    ((run_id,),) = rows(db_url, "select max(id) from crawl_runs")
    changes = rows(
        db_url, f"select product_id, price, run_id from product_history where run_id = {run_id}"
    )
    assert changes == [(str(repriced), 12.34, run_id)]
    assert rows(db_url, f"select price from products where product_id = '{repriced}'") == [(12.34,)]
    assert rows(
        db_url, "select product_id, delisted_run_id from products where delisted_at is not null"
    ) == [(str(delisted), run_id)]
    assert rows(db_url, "select count(*) from products") == [(275,)]
    assert result.stats["harvester/storage/delisted"] == 1
    ((stats,),) = rows(db_url, f"select stats from crawl_runs where id = {run_id}")
    assert '"harvester/storage/delisted": 1' in stats

    # a filtered dump (a price band) is not complete: what it does not list is not delisted
    filtered = run_crawl("store", sandbox, args={"seller_open_id": seller, "price_end": "5"})
    assert filtered.returncode == 0
    assert 0 < filtered.stats["item_scraped_count"] < 274
    assert rows(db_url, "select product_id from products where delisted_at is not null") == [
        (str(delisted),)
    ]
