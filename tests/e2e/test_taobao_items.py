"""taobao_items against the sandbox: batches, missing ids, each gateway error class."""

from __future__ import annotations

import sqlite3

import pytest

pytestmark = pytest.mark.e2e


def rows(db_url: str, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql, params).fetchall()


def known_ids(sandbox, count: int) -> list[str]:
    return sandbox.get("/_sandbox/taobao_items")["itemIds"][:count]


def test_batches_of_40_and_missing_ids_recorded(sandbox, run_crawl, db_url):
    known = known_ids(sandbox, 92)
    unknown = ["111111", "222222", "333333"]
    calls_before = sandbox.get("/_sandbox/stats")["stats"].get("aliyun/calls", 0)
    result = run_crawl(
        "taobao_items", sandbox, args={"item_ids": ",".join(known[:50] + unknown + known[50:])}
    )
    assert result.returncode == 0, result.log[-3000:]
    assert result.stats["finish_reason"] == "finished"
    assert result.stats["downloader/request_count"] == 3  # 95 ids → 40 + 40 + 15
    assert sandbox.get("/_sandbox/stats")["stats"]["aliyun/calls"] - calls_before == 3
    stored = {
        pid for (pid,) in rows(db_url, "select product_id from products where source = 'taobao'")
    }
    assert stored == set(known)
    missing = rows(db_url, "select body, api from dead_letters where kind = 'missing'")
    assert sorted(missing) == [(item_id, "aliyun") for item_id in unknown]
    assert result.stats["harvester/taobao_items/missing"] == 3
    assert not rows(db_url, "select reason from dead_letters where kind != 'missing'")
    ((price, currency, image, url, rate, api),) = rows(
        db_url,
        "select price, currency, image_url, url, commission_rate, last_api"
        " from products where product_id = ?",
        known[0],
    )
    assert currency == "CNY" and price > 0 and image.startswith("https://img.alicdn.com/")
    assert url.startswith("https://") and 0 < rate < 20 and api == "aliyun"
    # A dynamic ItemId never replaces the id asked for.
    dynamic = rows(
        db_url,
        "select count(*) from products where json_extract(extra, '$.dynamic_item_id') is not null",
    )
    assert dynamic[0][0] > 0


def test_error_classes_against_the_sandbox(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    ids = known_ids(sandbox, 120)  # 3 batches
    for code in ("Throttling.User", "InternalError", "SignatureNonceUsed", "InvalidParameter"):
        sandbox.fault("aliyun", "error", code=code)
    result = run_crawl(
        "taobao_items",
        sandbox,
        args={"item_ids": ",".join(ids)},
        settings={"CONCURRENT_REQUESTS": 1},
    )
    assert result.stats["finish_reason"] == "finished", result.log[-3000:]
    assert result.stats["harvester/api/aliyun/rate_limited"] == 1
    assert result.stats["harvester/api/aliyun/retryable"] == 2
    assert result.stats["harvester/api/aliyun/permanent"] == 1
    # 3 batches + 3 retries; the InvalidParameter batch is not retried
    assert sandbox.get("/_sandbox/stats")["stats"]["aliyun/calls"] == 6
    ((count,),) = rows(db_url, "select count(*) from products where source = 'taobao'")
    assert count == 80
    ((reason, status, request_body),) = rows(
        db_url, "select reason, http_status, request_body from dead_letters where kind = 'response'"
    )
    assert "InvalidParameter" in reason and status == 400 and "ItemIds=" in request_body


@pytest.mark.parametrize(
    ("code", "env", "reason", "hint"),
    [
        (
            None,
            {"ALIYUN_ACCESS_KEY_SECRET": "wrong-secret"},
            "aliyun_auth",
            "check the API's credentials",
        ),
        ("InvalidTimeStamp.Expired", {}, "aliyun_clock", "fix the clock"),
    ],
)
def test_fatal_errors_stop_the_crawl(sandbox_factory, run_crawl, code, env, reason, hint):
    sandbox = sandbox_factory()
    if code:
        sandbox.fault("aliyun", "error", code=code, count=50)
    result = run_crawl(
        "taobao_items",
        sandbox,
        args={"item_ids": ",".join(known_ids(sandbox, 400))},
        env=env,
        settings={"CONCURRENT_REQUESTS": 2},
    )
    assert result.stats["finish_reason"] == reason
    assert code or "SignatureDoesNotMatch" in result.log
    assert hint in result.log
    assert result.stats["downloader/request_count"] <= 4  # 10 batches queued; no retry storm
    assert "wrong-secret" not in result.log
