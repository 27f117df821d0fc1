from __future__ import annotations

import sqlite3

import pytest


def rows(db_url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql).fetchall()


@pytest.mark.parametrize("size", [0, 7, 275, 2600])
def test_store_dump_stores_exactly_total_records(sandbox, run_crawl, db_url, size):
    seller = sandbox.store(size)
    result = run_crawl("store", sandbox, args={"seller_open_id": seller})
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["finish_reason"] == "finished"
    # a clean walk leaves a clean log (no warning from components the settings turn off)
    assert not [
        line for line in result.log.splitlines() if "] WARNING:" in line or "] ERROR:" in line
    ]
    ((count, distinct),) = rows(
        db_url,
        f"select count(*), count(distinct product_id) from products where seller_id = '{seller}'",
    )
    assert count == distinct == size


def test_feed_export_works_alongside_the_database(sandbox, run_crawl, db_url, tmp_path):
    import json

    feed = tmp_path / "items.jsonl"
    result = run_crawl(
        "store",
        sandbox,
        args={"seller_open_id": sandbox.store(7)},
        settings={"FEEDS": {str(feed): {"format": "jsonlines"}}},
    )
    assert result.returncode == 0, result.log[-2000:]
    items = [json.loads(line) for line in feed.read_text().splitlines()]
    assert len(items) == 7 and all(
        item["currency"] == "CNY" and item["source"] == "1688" for item in items
    )
    assert rows(db_url, "select count(*) from products") == [(7,)]
