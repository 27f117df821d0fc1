"""``scrapy runs``: stale runs are shown (and stored) as crashed; one run with its stats."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from harvester.storage import models, runs
from harvester.storage.db import ensure_schema, make_engine


def scrapy_runs(database_url, *args):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "runs",
            *args,
            "-s",
            f"HARVESTER_DATABASE_URL={database_url}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_stale_runs_are_crashed_and_one_run_shows_its_stats(database_url):
    engine = make_engine(database_url)
    ensure_schema(engine)
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    with Session(engine) as session, session.begin():
        stale = models.CrawlRun(
            spider="store",
            arguments={"seller_open_id": "S"},
            started_at=long_ago,
            status="running",
            host="elsewhere",
            pid=1,
            heartbeat_at=long_ago,
        )
        alive = runs.begin_run(
            session, "related", {"product_ids": "1"}, resume=True, stale_after=90
        )
        session.add(stale)
        session.flush()
        stale_id = stale.id
        session.add(
            models.CrawlRun(
                spider="store",
                arguments={"seller_open_id": "S"},
                started_at=long_ago,
                finished_at=long_ago + timedelta(seconds=75),
                status="incomplete",
                exit_code=3,
                reason="2 call(s) failed for good",
                stats={"item_scraped_count": 40},
            )
        )
    listing = scrapy_runs(database_url)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:4] == ["id", "spider", "arguments", "status"]
    by_id = {line.split()[0]: line for line in lines[1:]}
    assert " crashed " in by_id[str(stale_id)]
    assert " running " in by_id[str(alive.run_id)]  # this process: alive, fresh heartbeat
    incomplete = by_id[str(stale_id + 1)]
    assert "incomplete" in incomplete and "1m15s" in incomplete and " 40 " in incomplete
    with Session(engine) as session:
        assert session.get(models.CrawlRun, stale_id).status == "crashed"
    one = scrapy_runs(database_url, str(stale_id + 1))
    assert "exit code     3" in one.stdout and "item_scraped_count: 40" in one.stdout
    assert scrapy_runs(database_url, "999").returncode == 1
    engine.dispose()
