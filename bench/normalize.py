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
import os
import re
import subprocess
import sys
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


class _Cpu:
    """Measures CPU seconds of this process (every thread) inside ``with``."""

    seconds = 0.0

    def __enter__(self) -> None:
        self.started = time.process_time()

    def __exit__(self, *_: object) -> None:
        self.seconds = time.process_time() - self.started


class _Callgrind(_Cpu):
    """Counts instructions inside ``with`` (under ``valgrind --tool=callgrind
    --instr-atstart=no``): what a busy machine does not change."""

    def _toggle(self, state: str) -> None:
        subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True)

    def __enter__(self) -> None:
        self._toggle("on")

    def __exit__(self, *_: object) -> None:
        self._toggle("off")


#: Rounds of the parse and normalize measures (the quickest counts: the others were
#: slowed by whatever else ran on the machine).
ROUNDS = 3


def _parse(name: str, count: int, meter: _Cpu, rounds: int = ROUNDS) -> float:
    """Seconds per record of the spider's reading of the case's page, over *count* records."""
    api, fixture, page, *_ = CASES[name]
    body = (FIXTURES / fixture).read_bytes()
    provider = get_provider(api)
    best = float("inf")
    for _ in range(rounds):
        done = 0
        with meter:
            while done < count:
                done += len(page(provider.check_response(200, {}, body)))
        best = min(best, meter.seconds / done)
    return best


def _records(name: str, count: int) -> list[ApiRecord]:
    api, fixture, page, context, set_id = CASES[name]
    body = (FIXTURES / fixture).read_bytes()
    entries = page(get_provider(api).check_response(200, {}, body))
    records = []
    for number in range(count):
        # parsed again: strings of their own, as every answer of a crawl has
        payload = json.loads(json.dumps(entries[number % len(entries)]))
        set_id(payload, 500_000_000_000 + number)
        records.append(ApiRecord(api, payload, dict(context), "https://api.example/x"))
    return records


async def _store(products: list[Any], url: str, meter: _Cpu) -> float:
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
    with meter:
        for product in products:
            await pipeline.process_item(product)
        await pipeline.close_spider()
    # finishes the run row and stops the writer
    await crawler.signals.send_catch_log_async(
        signal=scrapy_signals.spider_closed, spider=crawler.spider, reason="finished"
    )
    return meter.seconds / len(products)


def _normalize(records: list[ApiRecord], meter: _Cpu, rounds: int) -> tuple[float, list[Any]]:
    """Seconds per record of the normalize pipeline, and the products."""
    crawler = get_crawler(settings_dict={"HARVESTER_NORMALIZE_ENABLED": True})
    pipeline = NormalizePipeline.from_crawler(crawler)
    best, products = float("inf"), []
    for _ in range(rounds):
        gc.collect()
        with meter:
            products = [pipeline.process_item(record) for record in records]
        best = min(best, meter.seconds / len(records))
    return best, products


def measure(name: str, count: int, folder: str) -> tuple[float, float, float]:
    """µs per record: (parse, normalize, store)."""
    parse = _parse(name, count, _Cpu())
    normalize, products = _normalize(_records(name, count), _Cpu(), ROUNDS)
    url = f"sqlite:///{folder}/{name.replace(' ', '_')}.sqlite"
    store = asyncio.run(_store(products, url, _Cpu()))
    return parse * 1e6, normalize * 1e6, store * 1e6


def _count_step(name: str, count: int, step: str, folder: str) -> None:
    """Run one step under callgrind's counting (the child of :func:`instructions`)."""
    if step == "parse":
        _parse(name, count, _Callgrind(), rounds=1)
        return
    records = _records(name, count)
    meter = _Callgrind() if step == "normalize" else _Cpu()
    _, products = _normalize(records, meter, rounds=1)
    if step == "store":
        asyncio.run(_store(products, f"sqlite:///{folder}/count.sqlite", _Callgrind()))


def instructions(name: str, count: int, step: str) -> float:
    """Instructions per record of *step*: counted for *count* and 2 × *count* records."""
    counted = []
    for records in (count, 2 * count):
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
            sys.executable, "-m", "bench", "normalize", "--cases", name,
            "--records", str(records), "--count-step", step,
        ]  # fmt: skip
        run = subprocess.run(command, capture_output=True, text=True, check=True)
        counted.append(int(re.findall(r"Collected : (\d+)", run.stderr)[-1]))
    return (counted[1] - counted[0]) / count


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench normalize", description=__doc__)
    parser.add_argument("--records", type=int, default=20_000, help="records per case")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per record with valgrind (slow: use ~1000 records)",
    )
    parser.add_argument("--count-step", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*defaults.HARVESTER_GC_THRESHOLDS)  # type: ignore[misc]
    unit = "instructions" if args.instructions else "CPU µs"
    with tempfile.TemporaryDirectory() as folder:
        if args.count_step:
            _count_step(args.cases, args.records, args.count_step, folder)
            return
        print(f"{unit} per record, {args.records} records per case")
        print(f"{'case':<18} {'parse':>9} {'normalize':>10} {'store':>9} {'n+s / parse':>12}")
        for name in args.cases.split(","):
            if args.instructions:
                steps = ("parse", "normalize", "store")
                parse, normalize, store = (instructions(name, args.records, s) for s in steps)
            else:
                parse, normalize, store = measure(name, args.records, folder)
            ratio = (normalize + store) / parse
            print(f"{name:<18} {parse:9.1f} {normalize:10.1f} {store:9.1f} {ratio:12.2f}")
