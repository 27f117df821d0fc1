from __future__ import annotations

import math
import sqlite3


def rows(db_url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql).fetchall()


def test_batches_currency_and_missing(sandbox, run_crawl, db_url):
    known = sandbox.get("/_sandbox/aliexpress_products")["productIds"][:45]
    result = run_crawl(
        "aliexpress_items",
        sandbox,
        args={
            "product_ids": ",".join(known + ["42"]),
            "target_currency": "EUR",
            "target_language": "EN",
            "country": "US",
        },
    )
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["downloader/request_count"] == math.ceil(46 / 20)
    assert rows(
        db_url,
        "select count(*), min(currency), max(currency) from products where source = 'aliexpress'",
    ) == [(45, "EUR", "EUR")]
    assert rows(db_url, "select body from dead_letters where kind = 'missing'") == [("42",)]


def test_error_classes(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    known = sandbox.get("/_sandbox/aliexpress_products")["productIds"][:80]
    sandbox.fault("aliexpress", "error", code="7")
    sandbox.fault("aliexpress", "error", code="15")
    sandbox.fault("aliexpress", "error", code="50")
    result = run_crawl(
        "aliexpress_items",
        sandbox,
        args={"product_ids": ",".join(known)},
        settings={"CONCURRENT_REQUESTS": 1},
    )
    assert result.stats["finish_reason"] == "finished"
    assert result.stats["harvester/api/aliexpress/rate_limited"] == 1
    assert result.stats["harvester/api/aliexpress/retryable"] == 1
    assert result.stats["harvester/api/aliexpress/permanent"] == 1
    assert rows(db_url, "select count(*) from products") == [(60,)]


def test_wrong_secret_is_auth_and_bad_clock_is_clock(sandbox, run_crawl):
    known = sandbox.get("/_sandbox/aliexpress_products")["productIds"][:100]
    result = run_crawl(
        "aliexpress_items",
        sandbox,
        args={"product_ids": ",".join(known)},
        env={"ALIEXPRESS_APP_SECRET": "wrong-secret"},
    )
    assert result.stats["finish_reason"] == "aliexpress_auth"
    assert "Invalid signature" in result.log and "wrong-secret" not in result.log


def test_clock_error_says_fix_the_clock(sandbox_factory, run_crawl):
    sandbox = sandbox_factory()
    sandbox.fault("aliexpress", "error", code="31", count=10)
    known = sandbox.get("/_sandbox/aliexpress_products")["productIds"][:20]
    result = run_crawl("aliexpress_items", sandbox, args={"product_ids": ",".join(known)})
    assert result.stats["finish_reason"] == "aliexpress_clock"
    assert "fix the clock" in result.log
