"""A worker of a shared crawl killed mid-walk costs only its work in flight.

Worker A walks with its storage buffer held (nothing committed for a minute) and is
killed with SIGKILL after a third of the pages or 3 s; worker B, started then with the same
arguments, reclaims A's expired leases and finishes. Together they must have stored the
whole ground-truth walk: A acknowledges a node only once its items are committed, and a
reclaimed node stores again the products its first walk claimed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

from harvester.testing import crawl, crawl_command
from tests.scaleout.test_related_workers import PAGE_SIZE, served, stored, walk

__all__ = ["walk"]


def test_a_worker_killed_before_its_items_are_stored_loses_nothing(
    walk, sandbox, redis_url, pg_url, tmp_path
):
    seed, edges, products, pages = walk
    args = {"offer_ids": seed, "max_depth": 2, "page_size": PAGE_SIZE}
    env = {
        **os.environ,
        **sandbox.client_environment(),
        "HARVESTER_DATABASE_URL": pg_url,
        "HARVESTER_REDIS_URL": redis_url,
    }
    shared = {
        "HARVESTER_FRONTIER_KEY": uuid.uuid4().hex,  # a crawl of its own
        "HARVESTER_FRONTIER_LEASE": 2,
        "HARVESTER_FRONTIER_BUFFER": 2,
        "HARVESTER_STORAGE_WRITER": "thread",
    }
    held = {  # A's items wait in its buffer: a minute, or a batch of 100 000
        "HARVESTER_STORAGE_MAX_LATENCY": 60,
        "HARVESTER_LEDGER_MAX_LATENCY": 60,
        "HARVESTER_STORAGE_BATCH_SIZE": 100_000,
        "HARVESTER_RATE_LIMITS": {"pandapon": 20},
    }
    command = crawl_command(
        [sys.executable, "-m", "harvester.testing", "related", str(tmp_path / "a.json")],
        args,
        {**shared, **held},
    )
    before = served(sandbox)
    a = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # until A has walked a third of the pages (it acknowledged nodes), or 3 s at most
        # (it waits at a level's end until that level's items are stored)
        deadline = time.monotonic() + 3
        while served(sandbox) - before < pages // 3 and time.monotonic() < deadline:
            assert a.poll() is None, "worker A stopped"
            time.sleep(0.05)
        assert served(sandbox) > before, "worker A did not walk"
    finally:
        os.killpg(a.pid, signal.SIGKILL)
        a.wait()
    rows_after_a = stored(pg_url)[2]
    assert rows_after_a == 0  # A committed nothing

    b = crawl(
        "related",
        args=args,
        env=env,
        settings={**shared, "HARVESTER_RATE_LIMITS": {"pandapon": 400}},
        timeout=120,
    )
    assert b.returncode == 0, b.log[-3000:]
    assert b.stats.get("harvester/frontier/reclaimed", 0) >= 1  # A's leases, handed back
    stored_edges, stored_products, rows = stored(pg_url)
    assert stored_edges == edges
    assert rows == len(edges)
    assert stored_products == products
