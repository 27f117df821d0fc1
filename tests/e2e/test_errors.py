"""Foundation error paths: credentials, signature, clock, arguments, secrets in logs, re-runs."""

from __future__ import annotations

import sqlite3

from harvester.testing import crawl


def rows(db_url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql).fetchall()


def test_rerun_changes_nothing(sandbox, run_crawl, db_url):
    seller = sandbox.store(275)
    snapshot = (
        "select source, product_id, title, price, currency, seller_id from products "
        "order by product_id"
    )
    assert run_crawl("store", sandbox, args={"seller_open_id": seller}).returncode == 0
    first = rows(db_url, snapshot)
    history = rows(db_url, "select count(*) from product_history")
    assert run_crawl("store", sandbox, args={"seller_open_id": seller}).returncode == 0
    assert rows(db_url, snapshot) == first
    assert rows(db_url, "select count(*) from product_history") == history == [(275,)]
    runs = rows(
        db_url,
        "select spider, status, finished_at is not null, complete from crawl_runs order by id",
    )
    assert runs == [("store", "complete", 1, 1), ("store", "complete", 1, 1)]


def test_wrong_secret_stops_the_crawl_with_a_clear_message(sandbox, run_crawl, db_url):
    result = run_crawl(
        "store",
        sandbox,
        args={"seller_open_ids": ",".join(s["sellerOpenId"] for s in sandbox.stores())},
        env={"PANDAPON_SECRET_KEY": "not-the-secret"},
    )
    assert result.stats["finish_reason"] == "pandapon_auth"
    assert "signature verification failed" in result.log
    assert "check the API's credentials" in result.log
    # no retry storm: one request per store at most, none retried
    assert result.stats["downloader/request_count"] <= len(sandbox.stores())
    assert "retry/count" not in result.stats
    assert "not-the-secret" not in result.log
    ((letters,),) = rows(
        db_url, "select count(*) from dead_letters where reason like '%signature%'"
    )
    assert letters >= 1


def test_stale_timestamp_says_fix_the_clock(sandbox, run_crawl):
    # seconds where the server expects milliseconds look like 1970: "timestamp expired"
    result = run_crawl(
        "store",
        sandbox,
        args={"seller_open_id": sandbox.store(7)},
        settings={"HARVESTER_PANDAPON_TIMESTAMP_UNIT": "s"},
    )
    assert result.stats["finish_reason"] == "pandapon_clock"
    assert "fix the clock" in result.log
    # the exit code `scrapy crawl` would give: the run's outcome (failed), not just 0 or 2
    assert result.returncode == result.stats["harvester/run/exit_code"] == 1


def test_missing_credentials_fail_before_crawling(sandbox, db_url):
    env = {
        "PANDAPON_BASE_URL": sandbox.base_url,
        "PANDAPON_ACCESS_KEY": "",
        "PANDAPON_SECRET_KEY": "",
        "PANDAPON_USER_ID": "",
        "HARVESTER_DATABASE_URL": db_url,
    }
    result = crawl("store", args={"seller_open_id": sandbox.store(7)}, env=env)
    assert result.returncode != 0
    assert (
        "missing credentials PANDAPON_ACCESS_KEY, PANDAPON_SECRET_KEY, PANDAPON_USER_ID"
        in result.log
    )
    assert "downloader/request_count" not in result.stats


def test_bad_argument_fails_before_crawling(sandbox, run_crawl):
    result = run_crawl("related", sandbox, args={"offer_ids": "12,abc"})
    assert result.returncode != 0
    assert "ids must be numeric" in result.log
    assert "downloader/request_count" not in result.stats


def test_secret_given_as_setting_never_reaches_the_log(sandbox, run_crawl):
    secret = sandbox.client_environment()["PANDAPON_SECRET_KEY"]
    result = run_crawl(
        "store",
        sandbox,
        args={"seller_open_id": sandbox.store(7)},
        settings={"PANDAPON_SECRET_KEY": secret, "LOG_LEVEL": "DEBUG"},
    )
    assert result.returncode == 0
    assert secret not in result.log


def test_malformed_page_is_kept_as_dead_letter_and_the_crawl_goes_on(
    sandbox_factory, run_crawl, db_url
):
    sandbox = sandbox_factory()
    # a body that is not JSON is retried like a 5xx: without retries it is kept at once
    sandbox.fault("pandapon", "malformed", count=1)
    result = run_crawl(
        "store",
        sandbox,
        args={"seller_open_ids": f"{sandbox.store(7)},{sandbox.store(275)}"},
        settings={"RETRY_TIMES": 0},
    )
    assert result.stats["finish_reason"] == "finished"
    assert result.stats["harvester/dead_letter/pandapon/response"] == 1
    ((body,),) = rows(db_url, "select body from dead_letters")
    assert "truncated" in body


def test_scrapy_crawl_cli_reports_bad_arguments_in_one_line():
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "store", "-a", "price_start=abc"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "error: store needs a store: -a seller_open_id=" in completed.stderr
    assert "Traceback" not in completed.stderr
