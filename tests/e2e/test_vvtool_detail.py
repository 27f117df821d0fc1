from __future__ import annotations

import sqlite3


def rows(db_url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql).fetchall()


def store_of(sandbox, size):
    return next(s for s in sandbox.stores() if s["totalRecords"] == size)


def test_details_with_skus_and_tiers(sandbox, run_crawl, db_url):
    store = store_of(sandbox, 275)
    ids = sandbox.get(f"/_sandbox/offers?sellerOpenId={store['sellerOpenId']}")["offerIds"][:5]
    result = run_crawl("vvtool_detail", sandbox, args={"shop_id": store["loginId"], "product_ids": ",".join(map(str, ids + ids))})
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["downloader/request_count"] == 5  # never the same product twice
    assert rows(db_url, "select count(*) from products") == [(5,)]
    assert rows(db_url, "select count(distinct product_id) from skus") == [(5,)]
    assert rows(db_url, "select count(*) from price_tiers") == [(15,)]


def test_store_walk_enriched_by_vvtool_is_one_row_per_offer(sandbox, run_crawl, db_url):
    store = store_of(sandbox, 7)
    result = run_crawl("store", sandbox, args={"seller_open_id": store["sellerOpenId"], "details": "vvtool",
                                               "shop_id": store["loginId"]})
    assert result.returncode == 0, result.log[-3000:]
    enriched = rows(db_url, "select count(*) from products where title_en is not null and stock is not null "
                            f"and seller_id = '{store['sellerOpenId']}' and shop_id = '{store['loginId']}'")
    assert enriched == [(7,)]
    assert rows(db_url, "select count(*) from products") == [(7,)]
    assert rows(db_url, "select count(distinct product_id) from price_tiers") == [(7,)]


def test_error_codes_as_classified(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    store = store_of(sandbox, 275)
    ids = sandbox.get(f"/_sandbox/offers?sellerOpenId={store['sellerOpenId']}")["offerIds"][:6]
    for code in ("101", "200", "100", "103", "203"):
        sandbox.fault("vvtool", "error", code=code)
    result = run_crawl("vvtool_detail", sandbox, args={"shop_id": store["loginId"], "product_ids": ",".join(map(str, ids))},
                       settings={"CONCURRENT_REQUESTS": 1})
    assert result.stats["finish_reason"] == "finished"
    assert result.stats["harvester/api/vvtool/retryable"] == 2
    assert result.stats["harvester/api/vvtool/permanent"] == 3
    assert rows(db_url, "select count(*) from products") == [(3,)]  # 6 - 3 permanent failures
    reasons = sorted(r for (r,) in rows(db_url, "select reason from dead_letters"))
    assert len(reasons) == 3 and any("203" in r for r in reasons)


def test_quota_stops_cleanly(sandbox_factory, run_crawl):
    sandbox = sandbox_factory()
    store = store_of(sandbox, 275)
    ids = sandbox.get(f"/_sandbox/offers?sellerOpenId={store['sellerOpenId']}")["offerIds"][:50]
    sandbox.fault("vvtool", "error", code="204", count=100)
    result = run_crawl("vvtool_detail", sandbox, args={"shop_id": store["loginId"], "product_ids": ",".join(map(str, ids))})
    assert result.stats["finish_reason"] == "vvtool_quota"
    assert "call quota exhausted" in result.log
    assert result.stats["downloader/request_count"] < 50


def test_unauthorized_shop_is_a_dead_letter(sandbox, run_crawl, db_url):
    store = store_of(sandbox, 1)
    ids = sandbox.get(f"/_sandbox/offers?sellerOpenId={store['sellerOpenId']}")["offerIds"]
    result = run_crawl("vvtool_detail", sandbox, args={"shop_id": store["loginId"], "product_ids": ids[0]})
    assert result.stats["finish_reason"] == "finished"
    (reason,), = rows(db_url, "select reason from dead_letters")
    assert "302" in reason and "authorized" in reason


def test_call_cap_limits_billed_calls(sandbox, run_crawl):
    store = store_of(sandbox, 275)
    ids = sandbox.get(f"/_sandbox/offers?sellerOpenId={store['sellerOpenId']}")["offerIds"][:5]
    result = run_crawl("vvtool_detail", sandbox, args={"shop_id": store["loginId"], "product_ids": ",".join(map(str, ids)),
                                                       "max_calls": 2})
    assert result.stats["downloader/request_count"] == 2
    assert result.stats["harvester/vvtool/max_calls_reached"] is True
    capped = run_crawl("vvtool_detail", sandbox, args={"shop_id": store["loginId"], "product_ids": ",".join(map(str, ids))},
                       settings={"HARVESTER_VVTOOL_MAX_CALLS": 3})
    assert capped.stats["downloader/request_count"] == 3
