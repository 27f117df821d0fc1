"""Throughput: what storage costs a crawl, and whether that cost stays flat as the catalog grows.

    python -m bench throughput [--offers 30000,200000] [--repeat 3]
        [--database-rows 1000000] [--write-rows 20000] [--backends sqlite,postgresql] [--quick]

In one run it measures and prints:

1. per store size (``--offers``), the ``store`` spider walking one sandbox store
   (a straight page walk, 100 offers a page: 2 000 pages at 200 000) with
   normalization and SQLite storage,
   against the same spider with pipelines off (``ITEM_PIPELINES = {}``): items/s
   and their ratio (goal ≥ 0.9), crawls alternating (A, B, A, B, ...; ``--repeat``
   pairs): the ratio of the median rates and the median of each pair's ratio;
   elapsed time includes the final database flush and the row count is checked;
2. the crawl process's memory growth per million items walked: the slope of its peak
   RSS (Scrapy's ``memusage/max``, sampled every second) between the smallest and
   the largest store, and between the two largest when there are three sizes or more
   (``--offers 30000,100000,200000``: past the plateau the RSS reaches over the first
   ~100 000 items) (goal ≤ 50 MiB);
3. per backend (PostgreSQL on a throwaway server, :mod:`harvester.testing_postgres`),
   the storage writer's rows/s into an empty database and into one already holding
   ``--database-rows`` products (:mod:`bench._writer`; goal: within 20 %);
4. the storage path alone (``repository.write_batch``, public SQLAlchemy API) against
   plain ``sqlite3.executemany`` of the same rows (goal ≥ 0.5).

``--quick`` (5 000 and 20 000 offers, 1 pair, 100 000 rows) checks that it all runs.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
from contextlib import nullcontext
from pathlib import Path

from bench import _writer
from harvester.testing import Sandbox, crawl, run_sandbox

MiB = 2**20


def _summary(stats: dict[str, float]) -> dict[str, float]:
    return {
        "items": stats["item_scraped_count"],
        "seconds": stats["elapsed_time_seconds"],
        "rss": stats.get("memusage/max", 0),
    }


def _rate(run: dict[str, float]) -> float:
    return run["items"] / run["seconds"]


def store_walk(sandbox: Sandbox, offers: int, window: int, storage: bool) -> dict[str, float]:
    """One ``store`` crawl of the store of *offers* offers; with storage into a new SQLite
    database, or with pipelines off."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        settings: dict[str, object] = {
            "LOG_LEVEL": "ERROR",
            # the sandbox enforces no limit here: measure the pipeline, not the rate limiter
            "HARVESTER_RATE_LIMITS_ENABLED": False,
            "AUTOTHROTTLE_ENABLED": False,
            # the sandbox's search window holds the whole store: a straight page walk
            "HARVESTER_PANDAPON_SEARCH_WINDOW": window,
            "MEMUSAGE_CHECK_INTERVAL_SECONDS": 1,
        }
        if not storage:
            settings["ITEM_PIPELINES"] = {}
        result = crawl(
            "store",
            args={"seller_open_id": sandbox.store(offers), "page_size": "100"},
            env={**sandbox.client_environment(), "HARVESTER_DATABASE_URL": f"sqlite:///{path}"},
            settings=settings,
            timeout=3600,
        )
        assert result.returncode == 0, result.log[-2000:]
        stats = result.stats
        if storage:
            with sqlite3.connect(path) as db:
                (count,) = db.execute("select count(*) from products").fetchone()
            assert count == stats["item_scraped_count"], (count, stats["item_scraped_count"])
    assert stats["item_scraped_count"] == offers, stats["item_scraped_count"]
    assert stats.get("harvester/store/band_splits", 0) == 0, "the store walk split price bands"
    return _summary(stats)


def crawls(sizes: list[int], repeat: int) -> dict[int, dict[str, list[dict[str, float]]]]:
    window = 2 * max(sizes)
    stores = ",".join(["0", *map(str, sizes)])
    runs: dict[int, dict[str, list[dict[str, float]]]] = {}
    with run_sandbox(
        "--stores", stores, "--search-window", str(window), "--max-page-size", "100"
    ) as sandbox:
        for offers in sizes:
            runs[offers] = {"off": [], "storage": []}
            for attempt in range(repeat):
                for name in ("off", "storage"):
                    row = store_walk(sandbox, offers, window, storage=name == "storage")
                    runs[offers][name].append(row)
                    pair = ""
                    if name == "storage":
                        pair = f"   pair ratio {_rate(row) / _rate(runs[offers]['off'][-1]):.3f}"
                    print(
                        f"{offers:>7} offers, run {attempt + 1}, pipelines {name:<7} "
                        f"{row['items']:>7.0f} items in {row['seconds']:7.2f} s = "
                        f"{_rate(row):6.0f} items/s, peak RSS {row['rss'] / MiB:5.0f} MiB{pair}",
                        flush=True,
                    )
    return runs


def report_crawls(runs: dict[int, dict[str, list[dict[str, float]]]]) -> None:
    print("store size | with storage (SQLite) | pipelines off | ratio | median pair ratio")
    for offers, by in runs.items():
        rate = {name: statistics.median(map(_rate, rows)) for name, rows in by.items()}
        pairs = statistics.median(
            _rate(s) / _rate(o) for o, s in zip(by["off"], by["storage"], strict=True)
        )
        print(
            f"{offers:>10} | {rate['storage']:14.0f} items/s | {rate['off']:7.0f} items/s | "
            f"{rate['storage'] / rate['off']:.3f} | {pairs:.3f}   (goal >= 0.9)"
        )
    sizes = sorted(runs)
    if len(sizes) == 1:
        return  # one store size: no slope
    # smallest to largest; with three sizes or more, also the two largest: a crawl's RSS
    # rises to a plateau over its first ~100 000 items (buffers, allocator), then stays
    spans = [(sizes[0], sizes[-1])] + ([(sizes[-2], sizes[-1])] if len(sizes) > 2 else [])
    for small, large in spans:
        for name in ("storage", "off"):
            low, high = (statistics.median(r["rss"] for r in runs[n][name]) for n in (small, large))
            slope = (high - low) / (large - small) * 1_000_000 / MiB
            print(
                f"memory, pipelines {name:<7}: peak RSS {low / MiB:.0f} MiB at {small} offers, "
                f"{high / MiB:.0f} MiB at {large}: {slope:.1f} MiB per million items "
                f"(goal <= 50)"
            )


def report_writer(backends: list[str], rows: int, write_rows: int) -> None:
    batch = _writer.products(write_rows)
    for backend in backends:
        if backend == "postgresql":
            from harvester.testing_postgres import run_postgres

            server = run_postgres()
        else:
            server = nullcontext(None)  # type: ignore[assignment]
        with server as url:
            f = _writer.scale(backend, url, rows, batch)
        print(
            f"writer, {backend:<10}: {f['empty']:6.0f} rows/s into an empty database "
            f"(first crawl {f['empty_first']:.0f}, recrawl {f['empty_again']:.0f}), "
            f"{f['full']:6.0f} rows/s into one of {rows} products (first {f['full_first']:.0f}, "
            f"recrawl {f['full_again']:.0f}; filled in {f['prefill_seconds']:.0f} s): "
            f"ratio {f['full'] / f['empty']:.3f}  (goal >= 0.8)",
            flush=True,
        )
        print(
            f"writer, {backend:<10}: CPU per row (writer process) {f['empty_cpu_first']:.0f} / "
            f"{f['empty_cpu_again']:.0f} us into the empty database (first crawl / recrawl), "
            f"{f['full_cpu_first']:.0f} / {f['full_cpu_again']:.0f} us into the full one",
            flush=True,
        )
        if backend == "sqlite" and f["empty_kib"]:
            print(
                f"writer, {backend:<10}: {f['empty_kib']:.1f} KiB written per row into the empty "
                f"database, {f['full_kib']:.1f} KiB into the full one",
                flush=True,
            )
    ours, baseline = _writer.executor_rate(batch)
    print(
        f"repository.write_batch {ours:6.0f} rows/s, raw sqlite3.executemany {baseline:6.0f} "
        f"rows/s: ratio {ours / baseline:.3f}  (goal >= 0.5)"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench throughput")
    parser.add_argument("--offers", default="30000,200000", help="store sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="crawl pairs per store size")
    parser.add_argument("--database-rows", type=int, default=1_000_000)
    parser.add_argument("--write-rows", type=int, default=20_000)
    parser.add_argument("--backends", default="sqlite,postgresql", help="or none: crawls only")
    parser.add_argument("--quick", action="store_true", help="small sizes: does it all run?")
    parser.add_argument("--skip-crawls", action="store_true", help="the writer figures only")
    options = parser.parse_args(argv)
    if options.quick:
        options.offers, options.repeat = "5000,20000", 1
        options.database_rows, options.write_rows = 100_000, 5_000
    if not options.skip_crawls:
        sizes = sorted(int(size) for size in options.offers.split(","))
        report_crawls(crawls(sizes, options.repeat))
    backends = [b for b in options.backends.split(",") if b in ("sqlite", "postgresql")]
    if backends:  # --backends none: the crawls only
        report_writer(backends, options.database_rows, options.write_rows)
