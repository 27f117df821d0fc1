"""A scheduled crawl through a real Scrapyd server, as the README shows it.

Scrapyd runs in a deployment folder whose ``scrapy.cfg`` names the installed
package's settings (``[settings] harvester = harvester.settings``); the crawl is
scheduled with ``schedule.json`` (spider arguments and ``setting=`` overrides),
runs against the sandbox with the credentials from Scrapyd's environment, and
its products land in the database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harvester.testing import Sandbox, free_port, stop_process

pytest.importorskip("scrapyd", reason="Scrapyd is in the test extra: pip install -e '.[test]'")


class Scrapyd:
    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, endpoint: str, data: list[tuple[str, str]] | None = None) -> Any:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        with urllib.request.urlopen(f"{self.url}/{endpoint}", data=body, timeout=10) as answer:
            return json.loads(answer.read())

    def wait_finished(self, project: str, job: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self.call(f"listjobs.json?project={project}")
            if any(entry["id"] == job for entry in jobs["finished"]):
                return
            time.sleep(0.5)
        raise AssertionError(f"job {job} did not finish in {timeout} s: {jobs}")


@pytest.fixture
def scrapyd(tmp_path: Path, sandbox: Sandbox) -> Iterator[Scrapyd]:
    home = tmp_path / "scrapyd"
    home.mkdir()
    port = free_port()
    (home / "scrapy.cfg").write_text("[settings]\nharvester = harvester.settings\n")
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\ndbs_dir = {home / 'dbs'}\n"
        "items_dir =\nmax_proc = 1\npoll_interval = 0.5\n"
    )
    executable = Path(sys.executable).with_name("scrapyd")
    env = {**os.environ, **sandbox.client_environment()}
    process = subprocess.Popen(
        [str(executable), "--nodaemon", "--pidfile="],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Scrapyd(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert server.call("daemonstatus.json")["status"] == "ok"
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("scrapyd did not start") from None
                time.sleep(0.2)
        server.home = home  # type: ignore[attr-defined]
        yield server
    finally:
        stop_process(process)


def test_a_store_dump_scheduled_through_scrapyd_lands_in_the_database(
    scrapyd: Scrapyd, sandbox: Sandbox, tmp_path: Path
) -> None:
    assert "harvester" in scrapyd.call("listprojects.json")["projects"]
    assert "store" in scrapyd.call("listspiders.json?project=harvester")["spiders"]
    seller = sandbox.store(275)
    database = tmp_path / "scheduled.sqlite"
    answer = scrapyd.call(
        "schedule.json",
        [
            ("project", "harvester"),
            ("spider", "store"),
            ("seller_open_ids", seller),
            ("setting", f"HARVESTER_DATABASE_URL=sqlite:///{database}"),
        ],
    )
    assert answer["status"] == "ok", answer
    scrapyd.wait_finished("harvester", answer["jobid"])

    log = next((scrapyd.home / "logs").rglob("*.log")).read_text()  # type: ignore[attr-defined]
    assert "Traceback" not in log, log[-3000:]
    with sqlite3.connect(database) as db:
        (products,) = db.execute(
            "select count(*) from products where seller_id = ?", (seller,)
        ).fetchone()
        run = db.execute("select spider, status, arguments from crawl_runs").fetchone()
    assert products == 275
    assert run[:2] == ("store", "complete")
    assert seller in run[2]


def test_store_dump_partitioned_across_scrapyd_jobs_equals_one_run(
    scrapyd: Scrapyd, sandbox: Sandbox, run_crawl, db_url: str, tmp_path: Path
) -> None:
    # 4 small stores (0, 1, 7 and 275 offers) in 2 jobs: -a partition=1/2 and 2/2
    sellers = ",".join(s["sellerOpenId"] for s in sandbox.stores() if s["totalRecords"] < 1000)
    database = tmp_path / "partitioned.sqlite"
    jobs = [
        scrapyd.call(
            "schedule.json",
            [
                ("project", "harvester"),
                ("spider", "store"),
                ("seller_open_ids", sellers),
                ("partition", f"{share}/2"),
                ("setting", f"HARVESTER_DATABASE_URL=sqlite:///{database}"),
            ],
        )["jobid"]
        for share in (1, 2)
    ]
    for job in jobs:
        scrapyd.wait_finished("harvester", job)
    single = run_crawl("store", sandbox, args={"seller_open_ids": sellers})
    assert single.returncode == 0, single.log[-3000:]

    def rows(path: str) -> tuple[list[tuple[str, ...]], list[str]]:
        with sqlite3.connect(path) as db:
            products = db.execute(
                "select seller_id, product_id, title, price, delisted_at is null from products"
                " order by seller_id, product_id"
            ).fetchall()
            runs = [status for (status,) in db.execute("select status from crawl_runs")]
        return products, runs

    partitioned, statuses = rows(str(database))
    assert statuses == ["complete", "complete"]
    assert partitioned == rows(db_url.removeprefix("sqlite:///"))[0]
    assert len(partitioned) == 1 + 7 + 275
