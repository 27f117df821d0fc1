"""Throughput: the store walk with normalization and SQLite storage vs a bare Scrapy spider.

    python -m bench throughput [--offers 50000] [--repeat 5]

In one run, over the same sandbox store (``--offers`` offers, a straight page walk
of 50 per page), it measures and prints:

1. the bare spider of :mod:`bench.bare_spider` (same requests, plain dicts, no
   pipelines) — items/s, the baseline;
2. the project's ``store`` spider with normalization and SQLite storage — items/s
   and the ratio to (1) (elapsed time includes the final database flush);
3. the storage path alone (``repository.write_batch`` in batches of 500) vs raw
   ``sqlite3.executemany`` of the same rows into the same tables (products,
   payloads, history) — rows/s, ratio;
4. peak RSS of (1) and (2) (Scrapy's ``memusage/max``).

Crawls alternate (A, B, A, B, ...; ``--repeat`` pairs, 5 by default) and medians are
reported: the ratio of the median rates, and the median of each pair's ratio.
Goals: (2)/(1) ≥ 0.9, (3) ≥ 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from harvester.testing import Sandbox, crawl, run_sandbox

BATCH = 500


def _summary(stats: dict[str, float]) -> dict[str, float]:
    return {
        "items": stats["item_scraped_count"],
        "seconds": stats["elapsed_time_seconds"],
        "rss": stats.get("memusage/max", 0),
    }


def _rate(run: dict[str, float]) -> float:
    return run["items"] / run["seconds"]


def bare(sandbox: Sandbox, seller: str, pages: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        stats_path = Path(tmp) / "stats.json"
        subprocess.run(
            [sys.executable, "-m", "bench.bare_spider", seller, str(pages), str(stats_path)],
            env={**os.environ, **sandbox.client_environment()},
            check=True,
        )
        return _summary(json.loads(stats_path.read_text()))


def project(sandbox: Sandbox, seller: str, window: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **sandbox.client_environment(),
            "HARVESTER_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite'}",
        }
        result = crawl(
            "store",
            args={"seller_open_id": seller, "page_size": "50"},
            env=env,
            # the sandbox enforces no limit here: measure the pipeline, not the rate limiter
            settings={
                "LOG_LEVEL": "ERROR",
                "HARVESTER_RATE_LIMITS_ENABLED": False,
                "AUTOTHROTTLE_ENABLED": False,
                # the sandbox's search window (run below) holds the whole store:
                # a straight page walk, the bare spider's very requests
                "HARVESTER_PANDAPON_SEARCH_WINDOW": window,
            },
            timeout=900,
        )
        assert result.returncode == 0, result.log[-2000:]
        (count,) = (
            sqlite3.connect(Path(tmp) / "bench.sqlite")
            .execute("select count(*) from products")
            .fetchone()
        )
    stats = result.stats
    assert count == stats["item_scraped_count"], (count, stats["item_scraped_count"])
    assert stats.get("harvester/store/band_splits", 0) == 0, "the store walk split price bands"
    return _summary(stats)


def storage(offers: int) -> tuple[float, float]:
    """rows/s of repository.write_batch and of raw sqlite3.executemany, same rows."""
    from sqlalchemy.orm import Session

    from harvester.items import ApiRecord
    from harvester.pipelines.normalize import build_product
    from harvester.sandbox.apis.pandapon import offer_json
    from harvester.sandbox.catalog import Catalog
    from harvester.storage import repository
    from harvester.storage.db import ensure_schema, make_engine

    catalog = Catalog(1688, [offers])
    products = [
        build_product(ApiRecord("pandapon", offer_json(o), {"seller_id": "S"}))
        for o in catalog.stores[0].offers
    ]
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'a.sqlite'}")
        ensure_schema(engine)
        start = time.perf_counter()
        for i in range(0, len(products), BATCH):
            with Session(engine) as session, session.begin():
                repository.write_batch(
                    session, repository.Batch(products=products[i : i + BATCH]), 1
                )
        ours = len(products) / (time.perf_counter() - start)
        engine.dispose()
        baseline = raw_executemany(Path(tmp) / "b.sqlite", products)
    return ours, baseline


def _insert_sql(table: str, columns: list[str]) -> str:
    return f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})"


def raw_executemany(path: Path, products: list) -> float:  # type: ignore[type-arg]
    """rows/s of plain ``sqlite3.executemany`` writing the same rows into the same three tables
    (products, product_payloads, product_history), values converted as the ORM types do."""
    from harvester.storage.db import ensure_schema, make_engine
    from harvester.storage.products import MERGED_COLUMNS, TRACKED_FIELDS

    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")

    def sql(value: object) -> object:
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False, default=str)
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat(" ")
        return value

    def row(*values: object) -> tuple[object, ...]:
        return tuple(map(sql, values))

    product_columns = [
        "source",
        "product_id",
        *MERGED_COLUMNS,
        "last_api",
        "first_seen_at",
        "fetched_at",
        "updated_at",
        "last_run_id",
    ]
    history_columns = [
        "source",
        "product_id",
        "api",
        "run_id",
        "observed_at",
        *TRACKED_FIELDS,
        "content_hash",
    ]
    statements = {
        "products": _insert_sql("products", product_columns),
        "payloads": _insert_sql(
            "product_payloads", ["source", "product_id", "api", "payload", "fetched_at", "run_id"]
        ),
        "history": _insert_sql("product_history", history_columns),
    }
    start = time.perf_counter()
    for i in range(0, len(products), BATCH):
        chunk = products[i : i + BATCH]
        with db:
            db.executemany(
                statements["products"],
                [
                    row(
                        p.source,
                        p.product_id,
                        *(getattr(p, c) for c in MERGED_COLUMNS),
                        p.api,
                        p.fetched_at,
                        p.fetched_at,
                        p.fetched_at,
                        1,
                    )
                    for p in chunk
                ],
            )
            db.executemany(
                statements["payloads"],
                [row(p.source, p.product_id, p.api, p.raw, p.fetched_at, 1) for p in chunk],
            )
            db.executemany(
                statements["history"],
                [
                    row(
                        p.source,
                        p.product_id,
                        p.api,
                        1,
                        p.fetched_at,
                        *(getattr(p, c) for c in TRACKED_FIELDS),
                        "",
                    )
                    for p in chunk
                ],
            )
    rate = len(products) / (time.perf_counter() - start)
    db.close()
    return rate


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench throughput")
    parser.add_argument("--offers", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args(argv)
    window = str(options.offers * 2)
    with run_sandbox(
        "--stores", f"0,{options.offers}", "--search-window", window, "--max-page-size", "50"
    ) as sandbox:
        seller = sandbox.store(options.offers)
        pages = -(-options.offers // 50)
        runs: dict[str, list[dict[str, float]]] = {"bare": [], "store": []}
        for attempt in range(options.repeat):
            for name, run in (
                ("bare", lambda: bare(sandbox, seller, pages)),
                ("store", lambda: project(sandbox, seller, int(window))),
            ):
                row = run()
                runs[name].append(row)
                pair = ""
                if name == "store":
                    pair = f"   (2)/(1) this pair {_rate(row) / _rate(runs['bare'][-1]):.3f}"
                print(
                    f"run {attempt + 1} {name:<6} {row['items']:>7.0f} items in "
                    f"{row['seconds']:6.2f} s = {_rate(row):8.0f} items/s, "
                    f"peak RSS {row['rss'] / 2**20:6.0f} MiB{pair}",
                    flush=True,
                )
    rate = {name: statistics.median(map(_rate, rows)) for name, rows in runs.items()}
    rss = {name: max(r["rss"] for r in rows) / 2**20 for name, rows in runs.items()}
    pairs = statistics.median(
        _rate(s) / _rate(b) for b, s in zip(runs["bare"], runs["store"], strict=True)
    )
    ours, baseline = storage(options.offers)
    print(
        f"(1) bare Scrapy spider        {rate['bare']:8.0f} items/s   "
        f"peak RSS {rss['bare']:5.0f} MiB"
    )
    print(
        f"(2) store + normalize + SQL   {rate['store']:8.0f} items/s   "
        f"peak RSS {rss['store']:5.0f} MiB   ratio (2)/(1) = {rate['store'] / rate['bare']:.3f}  "
        f"(goal >= 0.9; median of the pairs' ratios {pairs:.3f})"
    )
    print(
        f"(3) repository.write_batch    {ours:8.0f} rows/s   "
        f"raw sqlite3.executemany {baseline:8.0f} rows/s   "
        f"ratio = {ours / baseline:.3f}  (goal >= 0.5)"
    )
