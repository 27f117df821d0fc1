"""Rate limits, back-off and error semantics against a sandbox that enforces limits (no timing asserts)."""

from __future__ import annotations

import sqlite3


def rows(db_url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql).fetchall()


def test_crawl_under_the_limit_is_never_throttled(sandbox_factory, run_crawl, db_url):
    # the client at 90 % of a 40/s limit (the benchmark measures right at the limit; a test
    # must not depend on this machine's scheduling)
    sandbox = sandbox_factory("--rate-limit", "pandapon=40", "--stores", "0,900")
    seller = sandbox.store(900)
    result = run_crawl("store", sandbox, args={"seller_open_id": seller, "page_size": "20"},
                       settings={"HARVESTER_RATE_LIMITS": {"pandapon": 36}})
    assert result.returncode == 0, result.log[-2000:]
    stats = sandbox.get("/_sandbox/stats")["stats"]
    assert stats["pandapon/calls"] == 45
    assert stats.get("pandapon/throttled", 0) == 0
    assert rows(db_url, "select count(*) from products") == [(900,)]


def test_client_faster_than_the_limit_is_throttled_backs_off_and_loses_nothing(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory("--rate-limit", "pandapon=20", "--stores", "0,400")
    result = run_crawl("store", sandbox, args={"seller_open_id": sandbox.store(400), "page_size": "20"},
                       settings={"HARVESTER_RATE_LIMITS": {"pandapon": 200}})
    assert result.stats["finish_reason"] == "finished"
    assert sandbox.get("/_sandbox/stats")["stats"]["pandapon/throttled"] > 0
    assert result.stats["harvester/api/pandapon/rate_limited"] > 0
    assert result.stats["harvester/throttle/pandapon/backoff"] > 0
    assert rows(db_url, "select count(*) from products") == [(400,)]


def test_http_429_with_retry_after_delays_the_slot_and_succeeds(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    sandbox.fault("pandapon", "http429", retry_after=1)
    result = run_crawl("store", sandbox, args={"seller_open_id": sandbox.store(7)})
    assert result.stats["finish_reason"] == "finished"
    assert result.stats["harvester/api/pandapon/rate_limited"] == 1
    assert result.stats["harvester/throttle/pandapon/backoff"] == 1
    assert "held 1.0 s" in result.log
    assert rows(db_url, "select count(*) from products") == [(7,)]


def test_in_body_throttle_code_backs_off_and_succeeds(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    sandbox.fault("pandapon", "error", code="429", count=2)
    result = run_crawl("store", sandbox, args={"seller_open_id": sandbox.store(275)})
    assert result.stats["finish_reason"] == "finished"
    assert result.stats["harvester/api/pandapon/rate_limited"] == 2
    assert rows(db_url, "select count(*) from products") == [(275,)]


def test_5xx_is_retried_then_dead_lettered_after_the_cap(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    sandbox.fault("pandapon", "http500", count=10)
    result = run_crawl("store", sandbox, args={"seller_open_id": sandbox.store(7)}, settings={"RETRY_TIMES": 2})
    assert result.stats["finish_reason"] == "finished"
    assert sandbox.get("/_sandbox/stats")["stats"]["pandapon/calls"] == 3  # 1 + 2 retries
    (reason, status), = rows(db_url, "select reason, http_status from dead_letters")
    assert status == 500 and "retryable" in reason


def test_dropped_connection_is_retried_then_dead_lettered(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    sandbox.fault("pandapon", "drop", count=10)
    result = run_crawl("store", sandbox, args={"seller_open_id": sandbox.store(7)}, settings={"RETRY_TIMES": 1})
    assert result.stats["finish_reason"] == "finished"
    (kind, reason), = rows(db_url, "select kind, reason from dead_letters")
    assert kind == "request" and reason


def test_permanent_error_is_not_retried(sandbox_factory, run_crawl, db_url):
    sandbox = sandbox_factory()
    sandbox.fault("pandapon", "error", code="400")
    result = run_crawl("store", sandbox, args={"seller_open_id": sandbox.store(7)})
    assert sandbox.get("/_sandbox/stats")["stats"]["pandapon/calls"] == 1
    assert result.stats["harvester/api/pandapon/permanent"] == 1
    assert rows(db_url, "select count(*) from dead_letters") == [(1,)]
