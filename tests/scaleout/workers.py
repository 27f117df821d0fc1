"""Run N workers of one shared crawl at once (each its own process, as ``scrapy crawl``)."""

from __future__ import annotations

import threading
from typing import Any

from harvester.testing import CrawlResult, Sandbox, crawl


def workers(
    count: int,
    spider: str,
    args: dict[str, Any],
    sandbox: Sandbox,
    redis_url: str,
    db_url: str,
    rates: dict[str, float],
    **settings: Any,
) -> list[CrawlResult]:
    """Start *count* workers with the same arguments and Redis; their results."""
    env = {
        **sandbox.client_environment(),
        "HARVESTER_DATABASE_URL": db_url,
        "HARVESTER_REDIS_URL": redis_url,
    }
    settings = {
        **settings,
        "HARVESTER_RATE_LIMITS": rates,
        "HARVESTER_FRONTIER_BUFFER": 2,  # small claims: every worker gets a share
        "HARVESTER_STORAGE_WRITER": "thread",
    }
    results: list[CrawlResult] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                crawl(spider, args=args, env=env, settings=settings, timeout=120)
            )
        )
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
