"""Rate limits: each API driven at its documented limit against a sandbox that enforces it.

    python -m bench ratelimit [--seconds 20] [--apis pandapon,aliyun] [--burst 2] [-s NAME=VALUE]

For each API a sandbox is started with ``--rate-limit <api>=<limit>`` (the
provider's ``DEFAULT_QPS``; ``--burst``: the sandbox's ``--rate-limit-burst``),
and the API's real spider runs with AutoThrottle on for a fixed time
(``CLOSESPIDER_TIMEOUT``) with the project's settings (``-s`` adds one). The
benchmark prints:

- the rate the server saw in steady state: calls that arrived after a warm-up
  (a quarter of the time, at most 5 s) up to the last one, over that span, as the
  sandbox timed them — and that rate over the limit (goal ≥ 0.97);
- the calls the sandbox refused with the provider's own throttle answer
  ("throttled", goal 0) and the throttle answers the crawl classified ("client saw").
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from harvester.apis import get_provider
from harvester.testing import CrawlResult, Sandbox, crawl, run_sandbox


def workloads(sandbox: Sandbox, seconds: float) -> dict[str, tuple[str, dict[str, str]]]:
    """API → (spider, arguments) with more work than *seconds* at the limit can finish."""
    big = max(sandbox.stores(), key=lambda s: s["totalRecords"])
    offers = sandbox.get(f"/_sandbox/offers?sellerOpenId={big['sellerOpenId']}")["offerIds"]
    rng = random.Random(7)
    ids = sorted({str(rng.randrange(10**11, 10**12)) for _ in range(int(seconds * 5 * 40 * 2))})
    return {
        "pandapon": ("store", {"seller_open_id": big["sellerOpenId"], "page_size": "20"}),
        "aliyun": ("taobao_items", {"item_ids": ",".join(ids)}),
        "vvtool": (
            "vvtool_detail",
            {"shop_id": big["loginId"], "product_ids": ",".join(map(str, offers))},
        ),
        "aliexpress": ("aliexpress_items", {"product_ids": ",".join(ids)}),
    }


def snapshot(sandbox: Sandbox, api: str) -> tuple[int, float | None]:
    """(calls so far, server time of the latest) — read together under the sandbox's lock."""
    answer = sandbox.get("/_sandbox/stats")
    return answer["stats"].get(f"{api}/calls", 0), answer["last_call"].get(api)


def measure(api: str, seconds: float, burst: int, extra: dict[str, str]) -> dict[str, Any]:
    limit = float(get_provider(api).DEFAULT_QPS)
    sandbox_args = ("--rate-limit", f"{api}={limit}", "--rate-limit-burst", str(burst))
    with run_sandbox(*sandbox_args) as sandbox, tempfile.TemporaryDirectory() as tmp:
        spider, args = workloads(sandbox, seconds)[api]
        env = {
            **sandbox.client_environment(),
            "HARVESTER_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite'}",
        }
        settings = {
            "CLOSESPIDER_TIMEOUT": seconds,
            "LOG_LEVEL": "ERROR",
            "AUTOTHROTTLE_ENABLED": True,
            **extra,
        }
        results: list[CrawlResult] = []
        runner = threading.Thread(
            target=lambda: results.append(
                crawl(spider, args=args, env=env, settings=settings, timeout=seconds + 120)
            )
        )
        runner.start()
        while runner.is_alive() and snapshot(sandbox, api)[1] is None:  # until the first call
            time.sleep(0.05)
        time.sleep(min(5.0, seconds / 4))
        start_calls, start_time = snapshot(sandbox, api)
        runner.join()
        end_calls, end_time = snapshot(sandbox, api)
        throttled = sandbox.get("/_sandbox/stats")["stats"].get(f"{api}/throttled", 0)
    result = results[0]
    if result.stats.get("finish_reason") != "closespider_timeout":
        print(
            f"  {api}: the crawl ended with {result.stats.get('finish_reason')!r} before the "
            "time was up; the figures are not at steady state",
            flush=True,
        )
    span = (end_time or 0.0) - (start_time or 0.0)
    achieved = (end_calls - start_calls) / span if span > 0 else 0.0
    return {
        "limit": limit,
        "calls": end_calls,
        "span": span,
        "achieved": achieved,
        "ratio": achieved / limit,
        "throttled": throttled,
        "client_throttled": result.stats.get(f"harvester/api/{api}/rate_limited", 0),
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench ratelimit")
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="crawl time per API (default 20)"
    )
    parser.add_argument(
        "--apis", default="pandapon,aliyun,vvtool,aliexpress", help="comma-separated APIs"
    )
    parser.add_argument(
        "--burst", type=int, default=2, help="the sandbox's --rate-limit-burst (default 2)"
    )
    parser.add_argument(
        "-s",
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Scrapy setting for the crawls, e.g. -s HARVESTER_RATE_LIMIT_CATCH_UP=0",
    )
    options = parser.parse_args(argv)
    extra = dict(pair.partition("=")[::2] for pair in options.set)
    print(
        f"{'api':<11} {'limit/s':>8} {'calls':>6} {'steady s':>9} {'achieved/s':>11} {'ratio':>6} "
        f"{'throttled':>9} {'client saw':>10}",
        flush=True,
    )
    for api in options.apis.split(","):
        row = measure(api, options.seconds, options.burst, extra)
        print(
            f"{api:<11} {row['limit']:>8.1f} {row['calls']:>6d} {row['span']:>9.2f} "
            f"{row['achieved']:>11.3f} {row['ratio']:>6.3f} {row['throttled']:>9d} "
            f"{row['client_throttled']:>10d}",
            flush=True,
        )
