"""``python -m bench scaleout``: wall time of one ``related`` walk by 1, 2 and 4 workers.

Each round starts N ``related`` processes (round 0: one process without the frontier,
the baseline) with the same arguments, one Redis
(``HARVESTER_REDIS_URL``, a throwaway ``redis-server``) and a fresh PostgreSQL
database (a throwaway server), against the sandbox; it prints the wall time, its ratio
to one worker's (measured in the same run), the pages the sandbox served (must equal
the walk's: no node fetched twice) and the load average. Every round has its own
``HARVESTER_FRONTIER_KEY``. The API limit is raised (``--qps``, as if the workers had
a pool of credentials): with one credential at its default limit, N workers share
that limit and finish no sooner than one.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from typing import Any

from sqlalchemy import create_engine, text

from harvester.sandbox.catalog import Catalog
from harvester.storage.db import make_engine
from harvester.storage.migrate import upgrade
from harvester.testing import CrawlResult, crawl, run_sandbox
from harvester.testing_postgres import run_postgres
from harvester.testing_redis import run_redis


def fresh_database(server: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = server.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)  # once, before the workers start
    engine.dispose()
    return url


def round_(
    count: int, args: dict[str, Any], env: dict[str, str], qps: float
) -> tuple[float, list[CrawlResult]]:
    """*count* workers at once (0: one process walking alone, no frontier)."""
    settings = {
        "HARVESTER_FRONTIER_ENABLED": count > 0,
        "HARVESTER_RATE_LIMITS": {"pandapon": qps},
        "HARVESTER_FRONTIER_KEY": uuid.uuid4().hex,
        "LOG_LEVEL": "WARNING",
    }
    results: list[CrawlResult] = []

    def worker() -> None:
        results.append(crawl("related", args=args, env=env, settings=settings, timeout=900))

    threads = [threading.Thread(target=worker) for _ in range(max(1, count))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started, results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench scaleout")
    parser.add_argument(
        "--workers",
        default="0,1,2,4",
        help="worker counts (default 0,1,2,4; 0: one process without the frontier, the baseline)",
    )
    parser.add_argument("--qps", type=float, default=200.0, help="pandapon limit (200)")
    parser.add_argument("--depth", type=int, default=2, help="max_depth of the walk (2)")
    options = parser.parse_args(argv)
    seed = Catalog(1688).stores[5].offers[0].offer_id
    args = {"offer_ids": seed, "max_depth": options.depth, "page_size": 5}
    with run_sandbox() as sandbox, run_redis() as redis_url, run_postgres() as server:
        baseline = None
        for count in (int(n) for n in options.workers.split(",")):
            env = {
                **sandbox.client_environment(),
                "HARVESTER_REDIS_URL": redis_url,
                "HARVESTER_DATABASE_URL": fresh_database(server),
            }
            before = sandbox.get("/_sandbox/stats")["stats"].get("pandapon/calls", 0)
            elapsed, results = round_(count, args, env, options.qps)
            served = sandbox.get("/_sandbox/stats")["stats"].get("pandapon/calls", 0) - before
            pages = sum(r.stats.get("harvester/related/pages", 0) for r in results)
            codes = sorted(r.returncode for r in results)
            reclaimed = sum(r.stats.get("harvester/frontier/reclaimed", 0) for r in results)
            baseline = baseline or elapsed
            label = f"{count} worker(s)" if count else "alone (no frontier)"
            print(
                f"{label:>19}: {elapsed:6.1f} s  x{baseline / elapsed:4.2f} vs the first  "
                f"pages {pages} (served {served}, leases reclaimed {reclaimed})  "
                f"exit codes {codes}  "
                f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
                flush=True,
            )
