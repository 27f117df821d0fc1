from __future__ import annotations

import json
import sqlite3
from decimal import Decimal


def rows(db_url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql).fetchall()


def store_of(sandbox, size):
    return next(s for s in sandbox.stores() if s["totalRecords"] == size)


def offer_ids(sandbox, store, count=None):
    return sandbox.get(f"/_sandbox/offers?sellerOpenId={store['sellerOpenId']}")["offerIds"][:count]


def ids_arg(ids):
    return ",".join(map(str, ids))


def test_details_with_skus_and_tiers(sandbox, run_crawl, db_url):
    store = store_of(sandbox, 275)
    ids = offer_ids(sandbox, store, 5)
    result = run_crawl(
        "vvtool_detail",
        sandbox,
        args={"shop_id": store["loginId"], "product_ids": ids_arg(ids + ids)},
    )
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["downloader/request_count"] == 5  # never the same product twice
    assert (
        result.stats["harvester/vvtool/withholding_money"] == "5"
    )  # what the 5 answers say they cost
    assert rows(
        db_url,
        "select count(*) from products where stock is not null and available = 1 "
        f"and shop_id = '{store['loginId']}' and image_url like 'https://cbu01.alicdn.com/img/%'",
    ) == [(5,)]
    assert rows(db_url, "select count(distinct product_id) from skus where price is not null") == [
        (5,)
    ]
    attributes = [json.loads(a) for (a,) in rows(db_url, "select attributes from skus")]
    assert all("颜色" in a for a in attributes)
    assert rows(db_url, "select count(*) from price_tiers") == [(15,)]
    # the product's price is its first tier's (the price at the minimum order)
    assert rows(
        db_url,
        "select count(*) from products p join price_tiers t on t.product_id = p.product_id "
        "and t.start_quantity = (select min(start_quantity) from price_tiers where product_id = "
        "p.product_id) and t.price = p.price",
    ) == [(5,)]


def test_store_walk_enriched_by_vvtool_is_one_row_per_offer(sandbox, run_crawl, db_url):
    store = store_of(sandbox, 7)
    result = run_crawl(
        "store",
        sandbox,
        args={
            "seller_open_id": store["sellerOpenId"],
            "details": "vvtool",
            "shop_id": store["loginId"],
        },
    )
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["harvester/api/vvtool/ok"] == 7
    assert rows(db_url, "select count(*) from products") == [(7,)]
    # title_en from PandaPon, stock / images / extra from vv-tool, both stores' ids: in one row
    enriched = rows(
        db_url,
        "select count(*) from products where title_en is not null and stock is not null "
        "and extra is not null and json_array_length(images) >= 2 and last_api is not null "
        f"and seller_id = '{store['sellerOpenId']}' and shop_id = '{store['loginId']}'",
    )
    assert enriched == [(7,)]
    assert rows(db_url, "select count(distinct product_id) from price_tiers") == [(7,)]
    # both APIs agree on the price, so the row does not flip between them
    listed = rows(
        db_url,
        "select p.price, json_extract(l.payload, '$.priceInfo.price') from products p "
        "join product_payloads l on l.product_id = p.product_id and l.api = 'pandapon'",
    )
    assert len(listed) == 7
    assert all(
        Decimal(str(price)).quantize(Decimal("0.01")) == Decimal(text) for price, text in listed
    )


def test_error_codes_as_classified(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    store = store_of(sandbox, 275)
    ids = offer_ids(sandbox, store, 6)
    # one call at a time, so the calls take the faults in this order: the first product
    # gets 101, then 200 (both retried), then the real answer; the next three get 100, 203
    # and 103 (dead letters, not retried); 103 (unknown account) refuses the shop itself,
    # so the last two products are never asked for (and never billed)
    sandbox.fault("vvtool", "error", code="101")
    sandbox.fault("vvtool", "error", code="200")
    sandbox.fault("vvtool", "slow", delay=0)  # the real answer
    for code in ("100", "203", "103"):
        sandbox.fault("vvtool", "error", code=code)
    result = run_crawl(
        "vvtool_detail",
        sandbox,
        args={"shop_id": store["loginId"], "product_ids": ids_arg(ids)},
        settings={"CONCURRENT_REQUESTS": 1},
    )
    stats = result.stats
    assert stats["finish_reason"] == "finished"
    assert (
        stats["harvester/api/vvtool/retryable"] == 2 and stats["harvester/retry/vvtool/count"] == 2
    )
    assert (stats["harvester/api/vvtool/ok"], stats["harvester/api/vvtool/permanent"]) == (1, 3)
    assert (stats["harvester/vvtool/requested"], stats["downloader/request_count"]) == (4, 4 + 2)
    assert stats["harvester/vvtool/shop_refused/103"] == 1
    assert rows(db_url, "select product_id from products") == [(str(ids[0]),)]
    reasons = {r.split()[2]: r for (r,) in rows(db_url, "select reason from dead_letters")}
    assert sorted(reasons) == ["100", "103", "203"]
    assert "Wangwang" in reasons["103"] and "not support" in reasons["203"]
    assert f"shop '{store['loginId']}' is not a known Wangwang account" in result.log


def test_quota_stops_the_enriched_store_walk_without_delisting(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    store = store_of(sandbox, 275)
    sandbox.fault("vvtool", "error", code="204", count=300)
    result = run_crawl(
        "store",
        sandbox,
        args={
            "seller_open_id": store["sellerOpenId"],
            "details": "vvtool",
            "shop_id": store["loginId"],
        },
    )
    assert result.returncode == 1  # failed, as `scrapy crawl` exits
    assert result.stats["finish_reason"] == "vvtool_quota"
    assert "top up calls on vv-tool" in result.log and "Stopping the crawl" in result.log
    assert result.stats["harvester/vvtool/requested"] < 275  # asked for nothing more once refused
    # the walk was cut short: not complete, so nothing it did not reach is marked delisted
    assert rows(db_url, "select status, complete from crawl_runs") == [("failed", 0)]
    assert rows(db_url, "select count(*) from products where delisted_at is not null") == [(0,)]


def test_unauthorized_shop_is_a_dead_letter_and_not_asked_again(sandbox, run_crawl, db_url):
    store = store_of(sandbox, 1)  # sandbox-shop-1 has not authorized vv-tool
    ids = offer_ids(sandbox, store) + offer_ids(sandbox, store_of(sandbox, 275), 20)
    result = run_crawl(
        "vvtool_detail",
        sandbox,
        args={"shop_id": store["loginId"], "product_ids": ids_arg(ids)},
        settings={"CONCURRENT_REQUESTS": 1},
    )
    assert result.stats["finish_reason"] == "finished"
    assert f"shop '{store['loginId']}' has not authorized vv-tool" in result.log
    assert (
        result.stats["downloader/request_count"] == 1
    )  # one call in flight at a time: stopped after it
    reasons = rows(db_url, "select reason from dead_letters")
    assert reasons and all("302" in r and "auth" in r for (r,) in reasons)
    assert rows(db_url, "select count(*) from products") == [(0,)]


def test_call_cap_limits_billed_calls(sandbox, run_crawl):
    store = store_of(sandbox, 275)
    ids = offer_ids(sandbox, store, 5)
    result = run_crawl(
        "vvtool_detail",
        sandbox,
        args={"shop_id": store["loginId"], "product_ids": ids_arg(ids)},
        settings={"HARVESTER_VVTOOL_MAX_CALLS": 3},
    )
    assert result.stats["downloader/request_count"] == 3
    assert result.stats["harvester/vvtool/max_calls_reached"] is True
    assert "call cap of 3 reached" in result.log
