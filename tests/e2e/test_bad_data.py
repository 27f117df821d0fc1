"""Bad answers and bad records (issue 16): under ~10 % of calls failing in mixed ways every
product lands; a poisoned record is one dead letter, not a lost page nor a delisting."""

from __future__ import annotations

import json
import sqlite3

import pytest

pytestmark = pytest.mark.e2e

#: Paced fast: these tests are about faults, not rate limits.
FAST = {"HARVESTER_RATE_LIMITS": {"pandapon": 200, "aliyun": 200, "vvtool": 200}}
#: Every way a call fails in the sandbox, with each provider's retryable in-body code.
TRANSPORT = [
    {"fault": "http500"},
    {"fault": "http503"},
    {"fault": "http429", "retry_after": 0},
    {"fault": "drop"},
    {"fault": "slow", "delay": 0.3},
    {"fault": "malformed"},
]
IN_BODY = {"pandapon": "500", "aliyun": "ServiceUnavailable", "vvtool": "101"}


def rows(db_url: str, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql, params).fetchall()


def retries(stats: dict) -> int:
    return sum(value for key, value in stats.items() if "retry" in key and key.endswith("/count"))


def crawl_under_faults(sandbox, run_crawl, api, spider, args, settings=None):
    mix = [*TRANSPORT, {"fault": "error", "code": IN_BODY[api]}]
    sandbox.random_faults(api, 0.1, mix, seed=7)
    result = run_crawl(spider, sandbox, args=args, settings={**FAST, **(settings or {})})
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["finish_reason"] == "finished"
    assert retries(result.stats) > 0  # faults were met, and retried
    assert not any(key.startswith("harvester/dead_letter/") for key in result.stats), result.stats
    return result


def test_store_under_mixed_faults_stores_every_product(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    seller = sandbox.store(275)
    crawl_under_faults(
        sandbox, run_crawl, "pandapon", "store", {"seller_open_id": seller, "page_size": 5}
    )
    assert rows(db_url, "select count(distinct product_id) from products") == [(275,)]
    assert rows(db_url, "select complete from crawl_runs") == [(1,)]


def test_taobao_items_under_mixed_faults_stores_every_product(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    ids = sandbox.get("/_sandbox/taobao_items")["itemIds"][:80]
    crawl_under_faults(
        sandbox,
        run_crawl,
        "aliyun",
        "taobao_items",
        {"item_ids": ",".join(ids)},
        {"HARVESTER_ALIYUN_BATCH_SIZE": 2},
    )
    stored = {pid for (pid,) in rows(db_url, "select product_id from products")}
    assert stored == set(ids)


def test_vvtool_detail_under_mixed_faults_stores_every_product(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    store = next(s for s in sandbox.stores() if s["totalRecords"] == 275)
    ids = sandbox.get(f"/_sandbox/offers?sellerOpenId={store['sellerOpenId']}")["offerIds"][:40]
    crawl_under_faults(
        sandbox,
        run_crawl,
        "vvtool",
        "vvtool_detail",
        {"shop_id": store["loginId"], "product_ids": ",".join(map(str, ids))},
    )
    stored = {int(pid) for (pid,) in rows(db_url, "select product_id from products")}
    assert stored == set(ids)


def test_one_poisoned_record_among_50_is_one_dead_letter_and_no_delisting(
    sandbox_factory, run_crawl, db_url
):
    sandbox = sandbox_factory()
    seller = sandbox.store(275)
    offers = sandbox.get(f"/_sandbox/offers?sellerOpenId={seller}")["offerIds"]
    assert run_crawl("store", sandbox, args={"seller_open_id": seller}).returncode == 0
    # the store's first page (50 offers) now carries one offer that is not an object
    sandbox.post("/_sandbox/catalog", {"poison": {str(offers[0]): ""}})
    result = run_crawl("store", sandbox, args={"seller_open_id": seller, "page_size": 50})
    # incomplete (exit code 3, as `scrapy crawl` exits): one record refused
    assert result.returncode == 3, result.log[-3000:]
    assert result.stats["harvester/dead_letter/pandapon/record"] == 1
    assert rows(db_url, "select kind, body from dead_letters") == [("record", '""')]
    # the other 49 offers of that page (and the rest of the store) landed in this run...
    ((seen,),) = rows(
        db_url,
        "select count(*) from products where last_run_id = (select max(id) from crawl_runs)",
    )
    assert seen == 274
    # ...and the walk is not complete, so nothing was delisted, the poisoned offer included
    assert rows(db_url, "select count(*) from products where delisted_at is not null") == [(0,)]
    assert rows(db_url, "select complete from crawl_runs order by id") == [(1,), (0,)]


def test_lone_surrogate_title_is_stored_or_dead_lettered_never_lost(
    sandbox_factory, run_crawl, db_url
):
    sandbox = sandbox_factory()
    seller = sandbox.store(7)
    poisoned = sandbox.get(f"/_sandbox/offers?sellerOpenId={seller}")["offerIds"][3]
    sandbox.post("/_sandbox/catalog", {"poison": {str(poisoned): {"subject": "裙子\ud83d"}}})
    result = run_crawl("store", sandbox, args={"seller_open_id": seller})
    assert result.returncode == 0, result.log[-3000:]
    stored = rows(db_url, "select title from products where product_id = ?", str(poisoned))
    letters = [
        json.loads(body)
        for (body,) in rows(db_url, "select body from dead_letters where kind = 'record'")
    ]
    if stored:
        ((title,),) = stored
        assert title.startswith("裙子")  # repaired: the lone surrogate replaced or dropped
    else:  # dead-lettered, losslessly: the body gives the surrogate back (as the raw
        # offer's subject, or the normalized product's title)
        assert [letter.get("subject", letter.get("title")) for letter in letters] == ["裙子\ud83d"]
    assert rows(db_url, "select count(*) from products") == [(7 if stored else 6,)]


def test_without_storage_dead_letters_go_to_a_file(sandbox_factory, run_crawl, tmp_path):
    sandbox = sandbox_factory()
    sandbox.fault("aliyun", "error", code="InvalidParameter")
    letters = tmp_path / "letters.jsonl"
    result = run_crawl(
        "taobao_items",
        sandbox,
        args={"item_ids": ",".join(sandbox.get("/_sandbox/taobao_items")["itemIds"][:3])},
        settings={"HARVESTER_STORAGE_ENABLED": False, "HARVESTER_DEAD_LETTERS_FILE": letters},
    )
    # failed (exit code 1, as `scrapy crawl` exits): the only call was refused
    assert result.returncode == 1, result.log[-3000:]
    (letter,) = [json.loads(line) for line in letters.read_text().splitlines()]
    assert (letter["api"], letter["kind"]) == ("aliyun", "response")
    assert "InvalidParameter" in letter["reason"] and "Signature=%2A%2A%2A" in letter["url"]
    secret = sandbox.client_environment()["ALIYUN_ACCESS_KEY_SECRET"]
    assert secret not in letters.read_text()


def test_callbacks_work_without_the_error_middleware(sandbox, run_crawl, db_url):
    seller = sandbox.store(7)
    result = run_crawl(
        "store",
        sandbox,
        args={"seller_open_id": seller},
        settings={"HARVESTER_API_ERRORS_ENABLED": False},
    )
    assert result.returncode == 0, result.log[-3000:]
    assert "harvester/api/pandapon/ok" not in result.stats  # the middleware was off
    assert rows(db_url, "select count(*) from products") == [(7,)]
