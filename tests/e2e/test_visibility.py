"""Seeing what a crawl does and did (issue 14): progress with ETA, the end-of-run summary,
``scrapy report``, and the monitors — against the sandbox, figures checked on the rows."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from harvester.testing_resume import run_crawl as scrapy_crawl

ROOT = Path(__file__).resolve().parents[2]
PROGRESS = re.compile(
    r"Progress: (?P<done>\d+)/(?P<planned>\d+) calls \((?P<percent>\d+)%\).*"
    r"elapsed (?P<elapsed>[\d.]+)s, ETA (?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)"
)


def rows(db_url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql).fetchall()


def summary(log: str) -> dict[str, str]:
    """The run summary block's lines, label → text."""
    block = log[log.index("Run summary:") :].splitlines()[1:]
    lines = {}
    for line in block:
        if not line.startswith("  "):
            break
        label, _, text = line.strip().partition("  ")
        lines[label] = text.strip()
    return lines


def test_progress_eta_and_summary_match_the_crawl(sandbox, run_crawl, db_url):
    # 2600 offers in pages of 20 at 8 calls/s: ~140 calls, ~18 s
    seller = sandbox.store(2600)
    result = run_crawl(
        "store",
        sandbox,
        args={"seller_open_id": seller},
        settings={
            "HARVESTER_PROGRESS_INTERVAL": 1,
            "HARVESTER_RATE_LIMITS": {"pandapon": 8},
            "HARVESTER_PANDAPON_PAGE_SIZE": 20,
        },
    )
    assert result.returncode == 0, result.log[-3000:]
    lines = [m for m in map(PROGRESS.search, result.log.splitlines()) if m]
    assert len(lines) >= 8, result.log[-3000:]
    # every line has a total, a percentage and an ETA; the total ends at the real count
    calls = result.stats["harvester/progress/planned"]
    assert (
        calls
        == result.stats["harvester/progress/done"]
        == result.stats["harvester/api/pandapon/ok"]
    )
    halfway = next(m for m in lines if int(m["percent"]) >= 50 and int(m["planned"]) == calls)
    eta = int(halfway["h"]) * 3600 + int(halfway["m"]) * 60 + int(halfway["s"])
    actual = result.stats["elapsed_time_seconds"] - float(halfway["elapsed"])
    assert abs(eta - actual) <= 0.25 * actual, (eta, actual, halfway.group(0))
    assert result.stats["harvester/progress/percent"] == 100.0

    # the summary block comes last but for the outcome's line, and tells the database's figures
    block = summary(result.log)
    assert block["status"] == "complete (exit code 0)"
    assert block["calls"].startswith(f"pandapon {calls} (")
    (products,) = rows(db_url, f"select count(*) from products where seller_id = '{seller}'")[0]
    (run_id,) = rows(db_url, "select max(id) from crawl_runs")[0]
    assert block["items"] == (
        f"{products} scraped; products {products} new, 0 changed, 0 unchanged, 0 delisted"
    )
    assert block["data"] == f"{db_url} (crawl_runs.id {run_id})"
    assert block["monitors"] == "5 passed"
    assert result.stats["harvester/monitors/coverage/products"] == products
    assert result.stats["harvester/monitors/coverage/price"] == products
    tail = result.log[result.log.index("Run summary:") :].splitlines()
    assert "Run complete (exit code 0)" in tail[-1]
    # the raw stats dict is not dumped at INFO any more
    assert "Dumping Scrapy stats" not in result.log


def report(db_url: str, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    out = tmp_path / "report.html"
    completed = subprocess.run(
        [sys.executable, "-m", "scrapy", "report", *args, "-o", str(out)],
        cwd=ROOT,
        env={**os.environ, "HARVESTER_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return completed, out.read_text(encoding="utf-8") if out.exists() else ""


def card(page: str, name: str) -> int:
    return int(re.search(rf'id="{name}">(\d+)<', page).group(1))


@pytest.mark.e2e
def test_failing_monitor_fails_the_run_and_the_report_tells_the_database(
    sandbox_factory, run_crawl, db_url, tmp_path
):
    sandbox = sandbox_factory()
    seller = sandbox.store(275)
    first = run_crawl("store", sandbox, args={"seller_open_id": seller})
    assert first.returncode == 0, first.log[-3000:]
    offers = sandbox.get(f"/_sandbox/offers?sellerOpenId={seller}")["offerIds"]
    sandbox.post(
        "/_sandbox/catalog",
        {"reprice": {str(o): "12.34" for o in offers[:3]}, "delist": offers[3:5]},
    )
    # a threshold above the item count: `scrapy crawl` fails, with a visible reason
    log_path = tmp_path / "crawl.log"
    code = scrapy_crawl(
        "store",
        {"seller_open_id": seller},
        {**sandbox.client_environment(), "HARVESTER_DATABASE_URL": db_url},
        log_path,
        {"HARVESTER_MONITOR_MIN_ITEMS": 1000},
        timeout=120,
    )
    log = log_path.read_text()
    assert code == 1, log[-3000:]
    assert (
        "Monitor items/minimum failed: 273 items, fewer than HARVESTER_MONITOR_MIN_ITEMS=1000"
        in (log)
    )
    assert "1 monitor(s) failed" in log.rstrip().splitlines()[-1]
    stats = json.loads(rows(db_url, "select stats from crawl_runs where id = 2")[0][0])
    assert stats["harvester/monitors/failed"] == 1
    block = summary(log)
    assert block["status"].startswith("failed (exit code ")
    assert block["monitors"] == "4 passed, FAILED: items/minimum"
    assert block["items"] == "273 scraped; products 0 new, 3 changed, 270 unchanged, 2 delisted"
    assert rows(db_url, "select status from crawl_runs where id = 2") == [("failed",)]

    completed, page = report(db_url, tmp_path, "2", "--last", "5")
    assert completed.returncode == 0, completed.stderr[-2000:]
    # self-contained: nothing to fetch, charts inline
    assert not re.search(r"<script|<link|<img|(src|href)\s*=\s*[\"']?https?:", page, re.I)
    assert "@import" not in page and not re.search(r"url\((?!#)", page)
    assert page.count("<svg") >= 3
    # its numbers are the database's
    (delisted,) = rows(db_url, "select count(*) from products where delisted_run_id = 2")[0]
    (changed,) = rows(
        db_url, "select count(distinct product_id) from product_history where run_id = 2"
    )[0]
    assert card(page, "items") == stats["item_scraped_count"] == 273
    assert card(page, "new") == 0
    assert card(page, "changed") == changed == 3
    assert card(page, "price-changes") == 3
    assert card(page, "delisted") == delisted == 2
    assert (
        card(page, "dead-letters")
        == rows(db_url, "select count(*) from dead_letters where run_id = 2")[0][0]
    )
    assert "items/minimum" in page and "fewer than HARVESTER_MONITOR_MIN_ITEMS=1000" in page
    assert "Last 2 runs" in page

    missing, _ = report(db_url, tmp_path, "99")
    assert missing.returncode == 2 and "no crawl run 99" in missing.stderr
