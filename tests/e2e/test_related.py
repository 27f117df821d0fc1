from __future__ import annotations

import sqlite3

from harvester.sandbox.catalog import Catalog


def rows(db_url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(sql).fetchall()


def expected_walk(
    catalog: Catalog, seed: int, max_depth: int
) -> tuple[set[tuple[int, int, int]], set[int]]:
    """Ground truth: edges (source, related, rank) and products of a BFS to max_depth."""
    edges: set[tuple[int, int, int]] = set()
    products: set[int] = set()
    frontier, seen = [seed], {seed}
    for depth in range(max_depth + 1):
        next_frontier = []
        for node in frontier:
            for rank, related in enumerate(catalog.related(node), start=1):
                edges.add((node, related, rank))
                products.add(related)
                if depth < max_depth and related not in seen:
                    seen.add(related)
                    next_frontier.append(related)
        frontier = next_frontier
    return edges, products


def test_related_walk_matches_the_graph_and_never_fetches_a_node_twice(
    sandbox_factory, run_crawl, db_url
):
    """A depth-2 walk (1 594 pages) is exactly the breadth-first one: many offers are met
    first by a longer path while a shorter one's page is still in flight, and each must
    still be walked at its shortest depth (a walk ordered by priority alone served 1 399
    to 1 505 of these pages, and missed edges)."""
    catalog = Catalog(1688)
    seed = catalog.stores[5].offers[0].offer_id
    sandbox = sandbox_factory("--rate-limit", "pandapon=250")
    result = run_crawl(
        "related",
        sandbox,
        args={"offer_ids": seed, "max_depth": 2, "page_size": 5},
        env={"HARVESTER_RATE_LIMITS": '{"pandapon": 240}'},
    )
    assert result.returncode == 0, result.log[-3000:]
    edges, products = expected_walk(catalog, seed, 2)
    stored_edges = set(
        rows(db_url, "select source_product_id, related_product_id, rank from related_edges")
    )
    assert stored_edges == {(str(a), str(b), r) for a, b, r in edges}
    stored = {int(pid) for (pid,) in rows(db_url, "select product_id from products")}
    assert stored == products
    # one page request per started page, never a node twice: pages = sum(ceil((n+1)/5)) over nodes
    nodes = {seed} | set(expected_walk(catalog, seed, 1)[1])
    pages = sum(len(catalog.related(n)) // 5 + 1 for n in nodes)
    assert result.stats["harvester/related/pages"] == pages
    assert result.stats["downloader/request_count"] == pages


def test_related_max_items_caps_products(sandbox, run_crawl, db_url):
    catalog = Catalog(1688)
    seed = catalog.hubs[0]
    result = run_crawl(
        "related", sandbox, args={"offer_ids": seed, "max_depth": 3, "max_items": 25}
    )
    assert result.returncode == 0, result.log[-3000:]
    ((count,),) = rows(db_url, "select count(*) from products")
    assert count == 25
    # every stored edge points at a stored product
    ((dangling,),) = rows(
        db_url,
        "select count(*) from related_edges e "
        "left join products p on p.product_id = e.related_product_id where p.id is null",
    )
    assert dangling == 0
