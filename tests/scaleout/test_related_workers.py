"""N worker processes share one ``related`` walk through Redis and PostgreSQL.

The workers are the spider's own processes (``python -m harvester.testing``, as
``scrapy crawl``) with the same arguments and ``HARVESTER_REDIS_URL``; together they
must store exactly the ground-truth walk, and fetch each page of each node once.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from harvester.sandbox.catalog import Catalog
from harvester.testing import CrawlResult, Sandbox
from tests.e2e.test_related import expected_walk
from tests.scaleout.workers import workers

PAGE_SIZE = 5
#: Seconds an ended crawl is still joined (workers starting late find it done); a worker
#: starts well within it, even on a busy machine (the walk itself takes seconds).
GRACE = 5


def stored(db_url: str) -> tuple[set[tuple[str, str, int]], set[str], int]:
    engine = create_engine(db_url)
    with engine.connect() as connection:
        edges = connection.execute(
            text("select source_product_id, related_product_id, rank from related_edges")
        )
        edge_set = {(a, b, r) for a, b, r in edges}
        products = {p for (p,) in connection.execute(text("select product_id from products"))}
        (count,) = connection.execute(text("select count(*) from related_edges")).one()
    engine.dispose()
    return edge_set, products, count


def served(sandbox: Sandbox) -> int:
    return int(sandbox.get("/_sandbox/stats")["stats"].get("pandapon/calls", 0))


def levels(catalog: Catalog, seed: int, max_depth: int) -> list[list[int]]:
    """The nodes a breadth-first walk fetches, by depth."""
    found, seen = [[seed]], {seed}
    for _ in range(max_depth):
        found.append(
            [r for n in found[-1] for r in catalog.related(n) if not (r in seen or seen.add(r))]
        )
    return found


Walk = tuple[int, set[tuple[str, str, int]], set[str], int]


@pytest.fixture(scope="module")
def walk() -> Walk:
    """A seed whose depth-2 walk is small (12 nodes, ~40 pages), its ground truth and pages."""
    catalog = Catalog(1688)
    for seed in (o.offer_id for store in catalog.stores for o in store.offers):
        nodes = levels(catalog, seed, 2)
        pages = sum(len(catalog.related(n)) // PAGE_SIZE + 1 for level in nodes for n in level)
        if len(nodes[1]) >= 3 and len(nodes[2]) >= 8 and pages <= 60:
            break
    edges, products = expected_walk(catalog, seed, 2)
    return seed, {(str(a), str(b), r) for a, b, r in edges}, {str(p) for p in products}, pages


def check_run(
    results: list[CrawlResult], walked: int, walk: Walk, db_url: str, nodes: list[int]
) -> list[int]:
    """Every worker completed; together they stored the ground truth, fetching each page
    of each node once; their claims (nodes each walked)."""
    _, edges, products, pages = walk
    joined = [line for r in results for line in r.log.splitlines() if "generation" in line]
    for result in results:
        assert result.returncode == 0, result.log[-3000:]
        assert result.stats["harvester/run/status"] == "complete", result.log[-3000:]
    stored_edges, stored_products, rows = stored(db_url)
    assert stored_edges == edges
    assert rows == len(edges)
    assert stored_products == products
    assert walked == pages, joined  # served by the sandbox: no node walked by two workers
    assert sum(r.stats.get("harvester/related/pages", 0) for r in results) == pages
    claimed = [r.stats.get("harvester/frontier/claimed", 0) for r in results]
    assert sum(claimed) == len(nodes), (claimed, nodes)
    return claimed


def test_2_then_4_workers_store_the_single_walk_and_fetch_each_page_once(
    walk, sandbox, redis_url, pg_url
):
    seed = walk[0]
    nodes = [n for level in levels(Catalog(1688), seed, 2) for n in level]
    args = {"offer_ids": seed, "max_depth": 2, "page_size": PAGE_SIZE}
    for count in (2, 4):
        # the second round is a scheduled re-run (same arguments, the first crawl ended):
        # it walks the graph again from scratch, not filtered by the first one's nodes
        before, started = served(sandbox), time.monotonic()
        time.sleep(GRACE + 0.2)  # the first crawl's grace is over: a re-run starts clean
        rates = {"pandapon": 400}
        results = workers(
            count,
            "related",
            args,
            sandbox,
            redis_url,
            pg_url,
            rates,
            HARVESTER_FRONTIER_GRACE=GRACE,
        )
        elapsed = time.monotonic() - started
        claimed = check_run(results, served(sandbox) - before, walk, pg_url, nodes)
        # (how the nodes spread depends on when each process gets going: not asserted)
        print(f"{count} workers: {elapsed:.1f} s, nodes claimed {claimed}")
