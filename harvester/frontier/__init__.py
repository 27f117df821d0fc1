"""Scale-out: several worker processes share one crawl through a frontier in Redis.

Workers are plain ``scrapy crawl <spider> <same -a arguments>`` commands (or Scrapyd
jobs) with the same ``HARVESTER_REDIS_URL``, on one machine or many. They meet on a
*run key* derived from the spider's name, its validated arguments and the optional
``HARVESTER_FRONTIER_KEY`` (e.g. the schedule's date or a Scrapyd job group), and each
claims work from the shared frontier (:mod:`harvester.frontier.shared`): the
``related`` walk's nodes, the id lists' batches. A claimed item is leased; it is
acknowledged once its follow-ups are queued, so a worker ends only when nothing is
pending and nothing is leased anywhere (distributed termination), and a crashed
worker's leases expire and are claimed again. A crawl's keys carry a generation: a
worker started within ``HARVESTER_FRONTIER_GRACE`` seconds after the crawl ended finds
it done; later, the same command starts a new, clean generation (a scheduled re-run is
not filtered by the previous run's items). An interrupted crawl is rejoined and
finished by the next worker (its leases expire after ``HARVESTER_FRONTIER_LEASE``).

Why not scrapy-redis (0.9.1, evaluated for issue 13): its scheduler and dupefilter
call Redis synchronously on the reactor thread (``sadd`` per request, ``brpop`` with
a timeout in ``next_request``), which blocks every download; its dupefilter hashes
method + URL + body itself instead of using ``REQUEST_FINGERPRINTER_CLASS``; it
pickles whole requests into Redis (headers and meta included: never a secret there,
and unpickling from a shared server runs code); and its workers stop on an idle
timeout, not when no worker has work in flight. Here only node ids / batch numbers
go to Redis, every call is ``await``-ed through ``redis.asyncio`` on the asyncio
reactor, and requests are built (and signed at send time) by the worker.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from harvester.apis.base import setting_or_env
from harvester.frontier.shared import SharedFrontier
from harvester.frontier.worker import FrontierWorker

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["FrontierWorker", "SharedFrontier", "run_key", "worker_for"]


def run_key(spider: str, arguments: dict[str, Any], key: str | None = None) -> str:
    """The key workers of one crawl share: spider, arguments (as validated) and *key*."""
    canonical = json.dumps([spider, arguments, key or ""], sort_keys=True, default=str)
    return f"{spider}:{hashlib.sha256(canonical.encode()).hexdigest()[:20]}"


def worker_for(crawler: Crawler, spider: str, arguments: dict[str, Any]) -> FrontierWorker | None:
    """This process's worker of the shared crawl, or None (no ``HARVESTER_REDIS_URL``, or
    ``HARVESTER_FRONTIER_ENABLED`` off: the spider walks alone, as before)."""
    settings = crawler.settings
    url = setting_or_env(settings, "HARVESTER_REDIS_URL")
    if not url or not settings.getbool("HARVESTER_FRONTIER_ENABLED"):
        return None
    key = run_key(spider, arguments, setting_or_env(settings, "HARVESTER_FRONTIER_KEY"))
    lease, grace = (settings.getfloat(f"HARVESTER_FRONTIER_{name}") for name in ("LEASE", "GRACE"))
    frontier = SharedFrontier.from_url(url, key, lease, grace)
    buffer = settings.getint("HARVESTER_FRONTIER_BUFFER") or settings.getint("CONCURRENT_REQUESTS")
    return FrontierWorker(frontier, crawler, buffer)
