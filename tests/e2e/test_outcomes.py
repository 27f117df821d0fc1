"""Honest outcomes: each way a ``scrapy crawl`` ends gives its ``crawl_runs.status``, its
exit code, and a one-line reason as the last line of the log (README "Unattended runs")."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from typing import TYPE_CHECKING, Any

import pytest

from harvester.testing import free_port
from harvester.testing_resume import run_crawl, start_crawl

if TYPE_CHECKING:
    from pathlib import Path

    from harvester.testing import Sandbox

pytestmark = pytest.mark.e2e


class Crawl:
    """``scrapy crawl`` (the real command) against a sandbox into a fresh SQLite database."""

    def __init__(self, sandbox: Sandbox, tmp_path: Path, **env: str) -> None:
        self.db = tmp_path / "harvester.sqlite"
        self.log = tmp_path / "crawl.log"
        self.env = {
            **sandbox.client_environment(),
            "HARVESTER_DATABASE_URL": f"sqlite:///{self.db}",
            **env,
        }

    def __call__(self, spider: str, settings: dict[str, Any] | None = None, **args: str) -> int:
        self.log.write_text("")
        return run_crawl(spider, args, self.env, self.log, settings, timeout=120)

    def last_line(self) -> str:
        return self.log.read_text().rstrip().splitlines()[-1]

    def runs(self) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as db:
            return db.execute(
                "select status, exit_code, resumes from crawl_runs order by id"
            ).fetchall()


def test_complete_run_exits_0_and_kept_its_heartbeat(sandbox, tmp_path):
    crawl = Crawl(sandbox, tmp_path)
    settings = {"HARVESTER_HEARTBEAT_INTERVAL": 0.2, "DOWNLOAD_DELAY": 0.1}
    assert crawl("store", settings, seller_open_id=sandbox.store(275)) == 0
    assert "Run complete (exit code 0): complete: 275 items" in crawl.last_line()
    assert crawl.runs() == [("complete", 0, None)]
    with sqlite3.connect(crawl.db) as db:
        beat, started, pid = db.execute(
            "select heartbeat_at, started_at, pid from crawl_runs"
        ).fetchone()
    assert beat > started and pid > 0


def test_wrong_secret_fails_with_exit_1(sandbox, tmp_path):
    crawl = Crawl(sandbox, tmp_path, PANDAPON_SECRET_KEY="not-the-secret")
    assert crawl("store", seller_open_id=sandbox.store(275)) == 1
    assert (
        "Run failed (exit code 1): pandapon: the API refused the credentials" in crawl.last_line()
    )
    assert crawl.runs() == [("failed", 1, None)]


def test_closed_port_names_the_base_url(sandbox, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    crawl = Crawl(sandbox, tmp_path, PANDAPON_BASE_URL=closed)
    assert crawl("store", {"RETRY_TIMES": 0}, seller_open_id=sandbox.store(7)) == 1
    last = crawl.last_line()
    assert f"nothing reachable at {closed}" in last
    assert "check PANDAPON_BASE_URL" in last and "python -m harvester.sandbox" in last
    assert crawl.runs() == [("failed", 1, None)]


def test_malformed_first_page_fails(sandbox_factory, tmp_path):
    sandbox = sandbox_factory()
    sandbox.fault("pandapon", "malformed", count=10)
    crawl = Crawl(sandbox, tmp_path)
    assert crawl("store", seller_open_id=sandbox.store(275)) == 1
    assert "nothing collected" in crawl.last_line()
    assert crawl.runs() == [("failed", 1, None)]


def test_quota_fails(sandbox_factory, tmp_path):
    sandbox = sandbox_factory()
    shop = next(s for s in sandbox.stores() if s["totalRecords"] == 275)
    sandbox.fault("vvtool", "error", code="204", count=300)
    crawl = Crawl(sandbox, tmp_path)
    code = crawl(
        "store", seller_open_id=shop["sellerOpenId"], details="vvtool", shop_id=shop["loginId"]
    )
    assert code == 1
    assert "vvtool: the API's call quota is exhausted" in crawl.last_line()
    assert crawl.runs() == [("failed", 1, None)]


def test_capped_walk_is_incomplete_with_exit_3(sandbox, tmp_path):
    shop = next(s for s in sandbox.stores() if s["totalRecords"] == 7)
    crawl = Crawl(sandbox, tmp_path)
    code = crawl(
        "store",
        seller_open_id=shop["sellerOpenId"],
        details="vvtool",
        shop_id=shop["loginId"],
        max_calls="2",
    )
    assert code == 3
    assert "Run incomplete (exit code 3): the vv-tool call cap" in crawl.last_line()
    assert crawl.runs() == [("incomplete", 3, None)]


def test_usage_error_exits_2_without_a_run(sandbox, tmp_path):
    crawl = Crawl(sandbox, tmp_path)
    assert crawl("store") == 2
    assert "store needs a store" in crawl.log.read_text()


def test_ctrl_c_is_interrupted_and_the_same_command_resumes(sandbox, tmp_path):
    crawl = Crawl(sandbox, tmp_path)
    args = {"seller_open_id": sandbox.store(2600)}
    process = start_crawl("store", args, crawl.env, crawl.log)
    deadline = time.monotonic() + 30
    while "Storing into" not in crawl.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    os.kill(process.pid, signal.SIGINT)
    assert process.wait(60) == 4, crawl.log.read_text()[-2000:]
    assert "Run interrupted (exit code 4)" in crawl.last_line()
    assert crawl.runs() == [("interrupted", 4, None)]
    assert crawl("store", **args) == 0
    assert crawl.runs() == [("interrupted", 4, None), ("complete", 0, 1)]
