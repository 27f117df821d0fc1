"""Crawl-process CPU per stored item: normalization and the storage pipeline.

For each provider's docs example answer (``tests/fixtures/``), in one run:

* **parse**: the spider's own reading of the page (``check_response`` on the body's
  bytes, then the page parser), per record — the baseline;
* **normalize**: :class:`~harvester.pipelines.normalize.NormalizePipeline`'s
  ``process_item`` on copies of the page's records (product ids made distinct);
* **store**: :class:`~harvester.pipelines.storage.SqlStoragePipeline`'s
  ``process_item`` on the products, its writer process writing them into a
  temporary SQLite database: the CPU of *this* process only (buffering, packing
  batches, handing them over), as in a crawl; the writer's CPU is on the other core.

CPU time (``time.process_time``: every thread of this process, not the writer
child), so a busy machine does not change the figures much. The crawl's garbage
collector thresholds (``HARVESTER_GC_THRESHOLDS``) are applied, as in a crawl.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scrapy import Spider
from scrapy import signals as scrapy_signals
from scrapy.utils.test import get_crawler

from harvester import settings as defaults
from harvester import signals
from harvester.apis import aliexpress, aliyun, get_provider, pandapon
from harvester.items import ApiRecord
from harvester.pipelines.normalize import NormalizePipeline
from harvester.pipelines.storage import SqlStoragePipeline

FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures"


def _set(*path: str) -> Callable[[dict[str, Any], int], None]:
    """Set the record's id at *path* to a distinct number."""

    def setter(record: dict[str, Any], number: int) -> None:
        for key in path[:-1]:
            record = record[key]
        record[path[-1]] = number

    return setter


def _store_page(data: Any) -> list[Any]:
    return pandapon.parse_store_page(data).offers


def _auctions(data: Any) -> list[Any]:
    return [auction.payload() for auction in aliyun.parse_auctions(data)]


#: case → (api, fixture, page parser, record context, id setter)
CASES: dict[str, tuple[str, str, Callable[[Any], list[Any]], dict[str, Any], Any]] = {
    "pandapon store": (
        "pandapon", "pandapon_selleroffer_response.json", _store_page, {"seller_id": "S"},
        _set("offerId"),
    ),
    "pandapon related": (
        "pandapon", "pandapon_related_response.json", pandapon.parse_related_page, {},
        _set("offerId"),
    ),
    "aliyun": (
        "aliyun", "aliyun_example_response.json", _auctions, {}, _set("result", "inputItemId")
    ),
    "vvtool": (
        "vvtool", "vvtool_example_response.json", lambda data: [data], {"shop_id": "shop"},
        _set("product_info", "product_id"),
    ),
    "aliexpress": (
        "aliexpress", "aliexpress_example_response.json", aliexpress.products, {},
        _set("product_id"),
    ),
}  # fmt: skip


class _Spider(Spider):
    name = "bench"


#: Rounds of the parse and normalize measures (the quickest counts: the others were
#: slowed by whatever else ran on the machine).
ROUNDS = 3


def _parse(api: str, body: bytes, page: Callable[[Any], list[Any]], count: int) -> float:
    """CPU seconds per record of the spider's reading of *body*, over *count* records."""
    provider = get_provider(api)
    best = float("inf")
    for _ in range(ROUNDS):
        done, started = 0, time.process_time()
        while done < count:
            done += len(page(provider.check_response(200, {}, body)))
        best = min(best, (time.process_time() - started) / done)
    return best


def _records(name: str, count: int) -> tuple[list[ApiRecord], float]:
    api, fixture, page, context, set_id = CASES[name]
    body = (FIXTURES / fixture).read_bytes()
    parse = _parse(api, body, page, count)
    entries = page(get_provider(api).check_response(200, {}, body))
    records = []
    for number in range(count):
        # parsed again: strings of their own, as every answer of a crawl has
        payload = json.loads(json.dumps(entries[number % len(entries)]))
        set_id(payload, 500_000_000_000 + number)
        records.append(ApiRecord(api, payload, dict(context), "https://api.example/x"))
    return records, parse


async def _store(products: list[Any], url: str) -> float:
    """CPU seconds of this process per product for the storage pipeline."""
    # the project's HARVESTER_* defaults (its extensions and reactor are not needed here)
    project = {key: getattr(defaults, key) for key in dir(defaults) if key.startswith("HARVESTER_")}
    spool = f"{url.removeprefix('sqlite:///')}.spool"
    crawler = get_crawler(
        _Spider,
        settings_dict={
            **project,
            "HARVESTER_DATABASE_URL": url,
            "HARVESTER_STORAGE_SPOOL_DIR": spool,
            "EXTENSIONS_BASE": {},  # Scrapy's own: only the pipeline closes here
        },
    )
    crawler.spider = _Spider()
    crawler.signals.connect(lambda: {}, signal=signals.run_arguments, weak=False)
    pipeline = SqlStoragePipeline.from_crawler(crawler)
    await pipeline.open_spider()
    started = time.process_time()
    for product in products:
        await pipeline.process_item(product)
    await pipeline.close_spider()
    spent = time.process_time() - started
    # finishes the run row and stops the writer
    await crawler.signals.send_catch_log_async(
        signal=scrapy_signals.spider_closed, spider=crawler.spider, reason="finished"
    )
    return spent / len(products)


def measure(name: str, count: int, folder: str) -> tuple[float, float, float]:
    """µs per record: (parse, normalize, store)."""
    records, parse = _records(name, count)
    crawler = get_crawler(settings_dict={"HARVESTER_NORMALIZE_ENABLED": True})
    pipeline = NormalizePipeline.from_crawler(crawler)
    normalize = float("inf")
    for _ in range(ROUNDS):
        products: list[Any] = []
        gc.collect()
        started = time.process_time()
        products = [pipeline.process_item(record) for record in records]
        normalize = min(normalize, (time.process_time() - started) / count)
    url = f"sqlite:///{folder}/{name.replace(' ', '_')}.sqlite"
    store = asyncio.run(_store(products, url))
    return parse * 1e6, normalize * 1e6, store * 1e6


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench normalize", description=__doc__)
    parser.add_argument("--records", type=int, default=20_000, help="records per case")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases")
    args = parser.parse_args(argv)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*defaults.HARVESTER_GC_THRESHOLDS)  # type: ignore[misc]
    print(f"CPU µs per record, {args.records} records per case")
    print(f"{'case':<18} {'parse':>7} {'normalize':>10} {'store':>7} {'n+s / parse':>12}")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.cases.split(","):
            parse, normalize, store = measure(name, args.records, folder)
            ratio = (normalize + store) / parse
            print(f"{name:<18} {parse:7.1f} {normalize:10.1f} {store:7.1f} {ratio:12.2f}")
    print(json.dumps({"records": args.records}))
