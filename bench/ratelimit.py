"""Rate limits: each API driven at its documented limit against a sandbox that enforces it.

    python -m bench ratelimit [--seconds 20]

For each API a sandbox is started with ``--rate-limit <api>=<limit>`` (the
provider's ``DEFAULT_QPS``), the API's real spider runs with AutoThrottle on for
a fixed time (``CLOSESPIDER_TIMEOUT``), and the benchmark prints the achieved
rate at the server (calls between the first and the last, over that time) divided
by the limit, the count of calls the sandbox refused with the provider's throttle
answer ("throttled") and the count of throttle answers the crawl classified
("client saw"). Goal: ≥ 0.97 with 0 throttled.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path
from typing import Any

from harvester.apis import get_provider
from harvester.testing import Sandbox, crawl, run_sandbox


def workloads(sandbox: Sandbox, seconds: float) -> dict[str, tuple[str, dict[str, str]]]:
    """API → (spider, arguments) with more work than *seconds* at the limit can finish."""
    big = max(sandbox.stores(), key=lambda s: s["totalRecords"])
    offers = sandbox.get(f"/_sandbox/offers?sellerOpenId={big['sellerOpenId']}")["offerIds"]
    rng = random.Random(7)
    ids = sorted({str(rng.randrange(10**11, 10**12)) for _ in range(int(seconds * 5 * 40 * 2))})
    return {
        "pandapon": ("store", {"seller_open_id": big["sellerOpenId"], "page_size": "20"}),
        "aliyun": ("taobao_items", {"item_ids": ",".join(ids)}),
        "vvtool": ("vvtool_detail", {"shop_id": big["loginId"], "product_ids": ",".join(map(str, offers))}),
        "aliexpress": ("aliexpress_items", {"product_ids": ",".join(ids)}),
    }


def measure(api: str, seconds: float, burst: int) -> dict[str, Any]:
    limit = get_provider(api).DEFAULT_QPS
    sandbox_args = ("--rate-limit", f"{api}={limit}", "--rate-limit-burst", str(burst))
    with run_sandbox(*sandbox_args) as sandbox, tempfile.TemporaryDirectory() as tmp:
        spider, args = workloads(sandbox, seconds)[api]
        env = {**sandbox.client_environment(), "HARVESTER_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite'}"}
        settings = {"CLOSESPIDER_TIMEOUT": seconds, "LOG_LEVEL": "ERROR", "AUTOTHROTTLE_ENABLED": True}
        result = crawl(spider, args=args, env=env, settings=settings, timeout=seconds + 120)
        answer = sandbox.get("/_sandbox/stats")
    if result.stats.get("finish_reason") != "closespider_timeout":
        print(f"  {api}: the crawl ended with {result.stats.get('finish_reason')!r} before the time was up; "
              f"figures below are not at steady state", flush=True)
    calls = answer["stats"].get(f"{api}/calls", 0)
    span = answer["last_call"][api] - answer["first_call"][api]
    achieved = (calls - 1) / span if span > 0 else 0.0
    return {"limit": limit, "calls": calls, "achieved": achieved, "ratio": achieved / limit,
            "throttled": answer["stats"].get(f"{api}/throttled", 0),
            "client_throttled": result.stats.get(f"harvester/api/{api}/rate_limited", 0)}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench ratelimit")
    parser.add_argument("--seconds", type=float, default=20.0, help="crawl time per API (default 20)")
    parser.add_argument("--apis", default="pandapon,aliyun,vvtool,aliexpress", help="comma-separated APIs")
    parser.add_argument("--burst", type=int, default=2, help="the sandbox's --rate-limit-burst (default 2)")
    options = parser.parse_args(argv)
    print(f"{'api':<11} {'limit/s':>8} {'calls':>6} {'achieved/s':>11} {'ratio':>6} {'throttled':>9} "
          f"{'client saw':>10}", flush=True)
    for api in options.apis.split(","):
        row = measure(api, options.seconds, options.burst)
        print(f"{api:<11} {row['limit']:>8.1f} {row['calls']:>6d} {row['achieved']:>11.3f} {row['ratio']:>6.3f} "
              f"{row['throttled']:>9d} {row['client_throttled']:>10d}", flush=True)
