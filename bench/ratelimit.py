"""Rate limits: each API driven at its documented limit against a sandbox that judges strictly.

    python -m bench ratelimit [--seconds 20] [--apis pandapon,aliyun] [--modes 1,4,pool]
                              [-s NAME=VALUE]

For each API a sandbox is started with ``--rate-limit <api>=<limit>`` (the
provider's ``DEFAULT_QPS``): it refuses any call that would put more than the
limit in a sliding second, and records every arrival. The API's real spider runs
for a fixed time (``CLOSESPIDER_TIMEOUT``) with the project's settings, storage
off (this measures the limiter, not the writer; ``-s`` adds a setting):

- ``1``: one process;
- ``4``: four processes on the same credential sharing the limit through a Redis
  server (``HARVESTER_REDIS_URL``, a throwaway ``redis-server``);
- ``pool``: one process with two credentials of the API (``HARVESTER_CREDENTIALS_FILE``;
  aliyun only: the sandbox accepts a pool for it), against the one-credential rate.

Printed per run, from the sandbox's own arrival times: calls, the steady-state rate
(arrivals after a warm-up of a sixth of the time, at most 3 s, and as long before the
last arrival, over their span) and
its ratio to the limit (goals: 1 process ≥ 0.97; 4 processes in [0.95, 1.0]; pool
≥ 1.9 × the one-credential rate), the worst count in any 1-s window (goal ≤ the
limit; per credential for the pool), the calls the sandbox throttled (goal 0), and
the delay from each call's admission by the limiter to its arrival at the sandbox
(median, 99th percentile, maximum, in ms; :class:`AdmissionProbe` sends the admission
time in a header — one machine, one monotonic clock): the margin
(``HARVESTER_RATE_LIMIT_MARGIN``) must cover how much these delays differ.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from harvester import settings as project_settings
from harvester.apis import get_provider
from harvester.middlewares.ratelimit import META_ADMITTED
from harvester.sandbox.ratelimit import worst_window
from harvester.testing import CrawlResult, Sandbox, crawl, run_sandbox
from harvester.testing_redis import run_redis

#: A second aliyun credential the sandbox accepts through the same file.
POOL = {
    "aliyun": [
        {
            "ALIYUN_ACCESS_KEY_ID": "bench-second-key",
            "ALIYUN_ACCESS_KEY_SECRET": "bench-second-secret",
            "ALIYUN_PID": "mm_123_456_789",
        }
    ]
}


class AdmissionProbe:
    """Downloader middleware (after signing): the limiter's admission time of the call in
    ``X-Harvester-Admitted``, which the sandbox records with the arrival."""

    def process_request(self, request: Any) -> None:
        admitted = request.meta.get(META_ADMITTED)
        if admitted is not None:
            request.headers["X-Harvester-Admitted"] = repr(admitted)


#: The project's downloader middlewares and the probe.
PROBED = {**project_settings.DOWNLOADER_MIDDLEWARES, f"{__name__}.AdmissionProbe": 990}


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


def measure(
    api: str, seconds: float, mode: str, extra: dict[str, str], redis_url: str | None
) -> dict[str, Any]:
    limit = float(get_provider(api).DEFAULT_QPS)
    processes = 4 if mode == "4" else 1
    with tempfile.TemporaryDirectory() as tmp:
        env_extra: dict[str, str] = {}
        if mode == "pool":
            path = Path(tmp) / "credentials.json"
            path.write_text(json.dumps(POOL))
            env_extra["HARVESTER_CREDENTIALS_FILE"] = str(path)
        if mode == "4" and redis_url:
            env_extra["HARVESTER_REDIS_URL"] = redis_url
        with run_sandbox("--rate-limit", f"{api}={limit}", env=env_extra) as sandbox:
            spider, args = workloads(sandbox, seconds)[api]
            env = {**sandbox.client_environment(), **env_extra}
            settings = {
                # the pool makes twice the calls from the same ids (one argument: < 128 KiB)
                **({"HARVESTER_ALIYUN_BATCH_SIZE": 20} if mode == "pool" else {}),
                "CLOSESPIDER_TIMEOUT": seconds,
                "LOG_LEVEL": "ERROR",
                "HARVESTER_STORAGE_ENABLED": False,
                # 4 processes with the same arguments each do the whole workload (with
                # HARVESTER_REDIS_URL they would otherwise share one crawl: harvester/frontier/)
                "HARVESTER_FRONTIER_ENABLED": False,
                # unknown random ids are dead letters: keep them out of the project's data/
                "HARVESTER_DEAD_LETTERS_FILE": str(Path(tmp) / "dead_letters.jsonl"),
                "DOWNLOADER_MIDDLEWARES": PROBED,
                **extra,
            }
            results: list[CrawlResult] = []
            runners = [
                threading.Thread(
                    target=lambda: results.append(
                        crawl(spider, args=args, env=env, settings=settings, timeout=seconds + 120)
                    )
                )
                for _ in range(processes)
            ]
            for runner in runners:
                runner.start()
            for runner in runners:
                runner.join()
            arrivals = sandbox.get(f"/_sandbox/arrivals?api={api}")
            throttled = sandbox.get("/_sandbox/stats")["stats"].get(f"{api}/throttled", 0)
    for result in results:
        if result.stats.get("finish_reason") != "closespider_timeout":
            print(
                f"  {api}: a crawl ended with {result.stats.get('finish_reason')!r} before the "
                "time was up; the figures are not at steady state",
                flush=True,
            )
    times = sorted(arrivals["times"])
    by_credential: dict[str, list[float]] = defaultdict(list)
    for time, credential in zip(arrivals["times"], arrivals["credentials"], strict=True):
        by_credential[credential].append(time)
    # steady state: after a warm-up, before the first crawl closes (processes start and
    # stop at different times)
    edge = min(3.0, seconds / 6)
    steady = [t for t in times if times[0] + edge <= t <= times[-1] - edge] if times else []
    span = steady[-1] - steady[0] if len(steady) > 1 else 0.0
    achieved = (len(steady) - 1) / span if span > 0 else 0.0
    delays = sorted(
        arrived - admitted
        for arrived, admitted in zip(arrivals["times"], arrivals["admitted"], strict=True)
        if admitted is not None and steady and steady[0] <= arrived <= steady[-1]
    )

    return {
        "delays": [percentile(delays, q) * 1000 for q in (0.5, 0.99, 1.0)],
        "calls": len(times),
        "achieved": achieved,
        "ratio": achieved / limit,
        "limit": limit,
        "worst": max((worst_window(t) for t in by_credential.values()), default=0),
        "credentials": len(by_credential),
        "throttled": throttled,
    }


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench ratelimit")
    parser.add_argument("--seconds", type=float, default=20.0, help="crawl time per run")
    parser.add_argument(
        "--apis", default="pandapon,aliyun,vvtool,aliexpress", help="comma-separated APIs"
    )
    parser.add_argument("--modes", default="1,4,pool", help="1, 4 (Redis), pool (aliyun)")
    parser.add_argument(
        "-s", "--set", action="append", default=[], metavar="NAME=VALUE", help="a Scrapy setting"
    )
    options = parser.parse_args(argv)
    extra = dict(pair.partition("=")[::2] for pair in options.set)
    modes = options.modes.split(",")
    print(
        f"{'api':<11} {'run':<14} {'limit/s':>7} {'calls':>6} {'achieved/s':>10} "
        f"{'ratio':>6} {'worst 1 s':>9} {'throttled':>9} {'delay ms p50/p99/max':>20}",
        flush=True,
    )
    with run_redis() if "4" in modes else _nothing() as redis_url:
        single: dict[str, float] = {}
        for api in options.apis.split(","):
            for mode in modes:
                if mode == "pool" and api not in POOL:
                    continue
                row = measure(api, options.seconds, mode, extra, redis_url)
                label = {"1": "1 process", "4": "4 via Redis", "pool": "2 credentials"}[mode]
                note = ""
                if mode == "1":
                    single[api] = row["achieved"]
                if mode == "pool" and single.get(api):
                    note = f"  {row['achieved'] / single[api]:.2f}x one credential"
                print(
                    f"{api:<11} {label:<14} {row['limit']:>7.1f} {row['calls']:>6d} "
                    f"{row['achieved']:>10.3f} {row['ratio']:>6.3f} {row['worst']:>9d} "
                    f"{row['throttled']:>9d} {'/'.join(f'{d:.1f}' for d in row['delays']):>20}"
                    f"{note}",
                    flush=True,
                )


class _nothing:  # noqa: N801 - a context manager yielding None
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
