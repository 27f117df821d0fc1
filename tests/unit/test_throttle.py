"""AutoThrottle per API slot: floors, back-off, holds; the paced downloader's schedule."""

from __future__ import annotations

import bisect
import math
import random
import time
from typing import Any

import pytest
import scrapy
from scrapy.core.downloader import Slot
from scrapy.http import Response

from harvester import signals
from harvester.apis.base import ApiError, ErrorClass
from harvester.extensions.throttle import ApiAutoThrottle
from harvester.pacing import PacedSlot, schedule_point
from tests.unit.crawler_stub import api_request, make_crawler

# --------------------------------------------------------------------------- back-off policy


def throttle_with_slot(delay_floor: float = 0.1, delay: float | None = None, **settings: Any):
    crawler = make_crawler(AUTOTHROTTLE_MAX_DELAY=5.0, DOWNLOAD_DELAY=0.0, **settings)
    extension = ApiAutoThrottle.from_crawler(crawler)
    extension._spider_opened(crawler.spider)
    downloader = crawler.engine.downloader
    downloader.per_slot_settings["pandapon:k"] = {
        "delay": delay_floor,
        "concurrency": 8,
        "jitter": 0,
    }
    slot = downloader.slots["pandapon:k"] = Slot(8, delay if delay is not None else delay_floor, 0)
    return crawler, extension, slot


def answer(crawler, latency: float) -> None:
    request = api_request(download_slot="pandapon:k", download_latency=latency)
    response = Response("http://sandbox/x", status=200, request=request)
    crawler.signals.send_catch_log(signal=signals.api_answer, request=request, response=response)


def backoff(crawler, retry_after: float | None = None, factor: float | None = None) -> None:
    error = ApiError("pandapon", ErrorClass.RATE_LIMITED, "429", "too frequent", retry_after)
    crawler.signals.send_catch_log(
        signal=signals.api_backoff,
        request=api_request(download_slot="pandapon:k"),
        error=error,
        factor=factor,
    )


def next_send_in(slot: Slot) -> float:
    """Seconds until the downloader would send the slot's next request (its own formula)."""
    return slot.download_delay() - time.monotonic() + slot.lastseen


def test_answers_adapt_above_the_floor_and_never_below():
    crawler, _, slot = throttle_with_slot(delay_floor=0.1)
    answer(crawler, latency=0.001)  # fast answers: the stock policy would go to ~0
    assert slot.delay == pytest.approx(0.1)
    answer(crawler, latency=4.0)  # a slow API: latency / target concurrency (8) = 0.5 s
    assert slot.delay == pytest.approx(0.5)


def test_backoff_multiplies_the_delay_up_to_the_max_and_recovers_to_the_floor():
    crawler, _, slot = throttle_with_slot(delay_floor=0.1)
    backoff(crawler)
    assert slot.delay == pytest.approx(0.2)
    backoff(crawler, factor=1.5)
    assert slot.delay == pytest.approx(0.3)
    for _ in range(10):
        backoff(crawler)
    assert slot.delay == pytest.approx(5.0)  # AUTOTHROTTLE_MAX_DELAY
    assert crawler.stats.get_value("harvester/throttle/pandapon/backoff") == 12
    for _ in range(20):
        answer(crawler, latency=0.001)
    assert slot.delay == pytest.approx(0.1)


def test_backoff_starts_from_the_floor_even_if_the_slot_was_below_it():
    crawler, _, slot = throttle_with_slot(delay_floor=0.1, delay=0.0)
    backoff(crawler)
    assert slot.delay == pytest.approx(0.2)


def test_retry_after_holds_the_slot_even_when_answers_lower_the_delay():
    crawler, _, slot = throttle_with_slot(delay_floor=0.1)
    slot.lastseen = time.monotonic()
    backoff(crawler, retry_after=3.0)
    assert next_send_in(slot) == pytest.approx(3.0, abs=0.05)
    answer(crawler, latency=0.001)  # an answer already in flight succeeds: the delay drops...
    assert slot.delay < 0.2
    assert next_send_in(slot) == pytest.approx(3.0, abs=0.05)  # ...the hold does not
    assert crawler.stats.get_value("harvester/throttle/pandapon/held") == 1


def test_non_api_slots_keep_the_stock_floor():
    crawler, extension, slot = throttle_with_slot(delay_floor=0.1)
    answer(crawler, latency=0.001)
    web = Slot(8, 1.0, 0)
    crawler.engine.downloader.slots["example.com"] = web
    request = scrapy.Request(
        "http://example.com", meta={"download_slot": "example.com", "download_latency": 0.001}
    )
    for _ in range(20):
        extension._response_downloaded(
            Response("http://example.com", request=request), request, crawler.spider
        )
    assert web.delay < 0.01  # DOWNLOAD_DELAY (0) is its floor, not the API's 0.1
    api = api_request(download_slot="pandapon:k", download_latency=0.001)
    slot.delay = 1.0
    extension._response_downloaded(
        Response("http://sandbox/x", status=429, request=api), api, crawler.spider
    )
    assert slot.delay == 1.0  # API answers are judged by the error middleware, not by status


# --------------------------------------------------------------------------- paced downloader


def simulate_sends(
    delay: float, catch_up: float, lateness: list[float]
) -> tuple[list[float], list[float]]:
    """Send times and schedule points of a slot whose timer fires ``lateness[k]`` late
    (what :meth:`PacedDownloader._process_queue` does, on a fake clock)."""
    sends, points, lastseen = [], [], -1e9
    now = 0.0
    for late in lateness:
        now = max(now, lastseen + delay) + late
        lastseen = schedule_point(lastseen, delay, catch_up, now)
        sends.append(now)
        points.append(lastseen)
    return sends, points


def test_a_little_lateness_keeps_the_schedule_so_the_rate_stays_at_the_limit():
    rng = random.Random(5)
    lateness = [rng.uniform(0, 0.009) for _ in range(1000)]
    sends, points = simulate_sends(0.1, 0.01, lateness)
    assert points == pytest.approx([points[0] + 0.1 * k for k in range(1000)])  # no drift at all
    stock, _ = simulate_sends(0.1, 0.0, lateness)  # Scrapy's own: every lateness adds up
    assert (len(sends) - 1) / (sends[-1] - sends[0]) == pytest.approx(10, rel=1e-3)
    assert (len(stock) - 1) / (stock[-1] - stock[0]) < 9.6


@pytest.mark.parametrize("seed", range(5))
def test_paced_sends_never_exceed_the_limit_in_any_window(seed):
    rng = random.Random(seed)
    # mostly small lateness, some stalls longer than catch_up, some idle gaps
    lateness = [
        rng.choice([rng.uniform(0, 0.012), rng.uniform(0, 0.3), 0.0, 2.0]) for _ in range(2000)
    ]
    delay, catch_up = 0.1, 0.01
    sends, points = simulate_sends(delay, catch_up, lateness)
    # never before its schedule point, never closer than delay - catch_up, never over the limit
    assert all(send >= point for send, point in zip(sends, points, strict=True))
    assert min(b - a for a, b in zip(sends, sends[1:], strict=False)) >= delay - catch_up - 1e-9
    most = math.floor((1.0 + catch_up) / delay) + 1
    assert max(bisect.bisect_right(sends, t + 1.0) - i for i, t in enumerate(sends)) <= most


def test_catch_up_must_be_shorter_than_the_interval():
    assert PacedSlot(8, 0.1, 0.01).catch_up == 0.01
    with pytest.raises(ValueError, match="catch_up"):
        PacedSlot(8, 0.1, 0.1)
