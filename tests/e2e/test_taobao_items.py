from __future__ import annotations

import sqlite3


def rows(db_url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql).fetchall()


def test_batches_of_40_and_missing_ids_recorded(sandbox, run_crawl, db_url):
    known = sandbox.get("/_sandbox/taobao_items")["itemIds"][:92]
    unknown = ["111111", "222222", "333333"]
    result = run_crawl("taobao_items", sandbox, args={"item_ids": ",".join(known + unknown)})
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["downloader/request_count"] == 3  # 95 ids → 40 + 40 + 15
    stored = {pid for (pid,) in rows(db_url, "select product_id from products where source = 'taobao'")}
    assert stored == set(known)
    missing = {body for (body,) in rows(db_url, "select body from dead_letters where kind = 'missing'")}
    assert missing == set(unknown)
    assert result.stats["harvester/taobao_items/missing"] == 3
    (price, currency, image), = rows(db_url, f"select price, currency, image_url from products where product_id = '{known[0]}'")
    assert currency == "CNY" and price > 0 and image.startswith("https://img.alicdn.com/")


def test_error_classes_against_the_sandbox(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    ids = sandbox.get("/_sandbox/taobao_items")["itemIds"][:120]
    sandbox.fault("aliyun", "error", code="Throttling.User")
    sandbox.fault("aliyun", "error", code="InternalError")
    sandbox.fault("aliyun", "error", code="InvalidParameter")
    result = run_crawl("taobao_items", sandbox, args={"item_ids": ",".join(ids)},
                       settings={"CONCURRENT_REQUESTS": 1})
    assert result.stats["finish_reason"] == "finished"
    assert result.stats["harvester/api/aliyun/rate_limited"] == 1
    assert result.stats["harvester/api/aliyun/retryable"] == 1
    assert result.stats["harvester/api/aliyun/permanent"] == 1
    # throttled and 5xx batches were retried and landed; the InvalidParameter batch did not
    (count,), = rows(db_url, "select count(*) from products where source = 'taobao'")
    assert count == 80
    (reason,), = rows(db_url, "select reason from dead_letters where kind = 'response'")
    assert "InvalidParameter" in reason


def test_wrong_secret_stops_with_auth(sandbox, run_crawl):
    ids = sandbox.get("/_sandbox/taobao_items")["itemIds"][:200]
    result = run_crawl("taobao_items", sandbox, args={"item_ids": ",".join(ids)},
                       env={"ALIYUN_ACCESS_KEY_SECRET": "wrong-secret"})
    assert result.stats["finish_reason"] == "aliyun_auth"
    assert "SignatureDoesNotMatch" in result.log
    assert result.stats["downloader/request_count"] <= 5
    assert "wrong-secret" not in result.log
