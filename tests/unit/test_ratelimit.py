"""Slot and limit resolution, the back-off policy, throttle retries and the sandbox limiter (no reactor)."""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

import pytest
import scrapy
from scrapy.core.downloader import Slot
from scrapy.http import JsonRequest, Response, TextResponse
from scrapy.utils.test import get_crawler

from harvester import settings as project_settings
from harvester import signals
from harvester.apis.base import ApiError, ErrorClass
from harvester.extensions.throttle import ApiAutoThrottle
from harvester.middlewares.errors import (
    THROTTLE_RETRIES,
    ApiErrorMiddleware,
    get_throttle_retry_request,
    retry_after_seconds,
)
from harvester.middlewares.ratelimit import (
    ApiSlotMiddleware,
    check_limits,
    credential_id,
    resolve_qps,
)
from harvester.sandbox.__main__ import parse_rate_limits
from harvester.sandbox.ratelimit import Limit, RateLimiter

PROJECT = {name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()}


class FakeDownloader:
    def __init__(self) -> None:
        self.per_slot_settings: dict[str, dict[str, Any]] = {}
        self.slots: dict[str, Slot] = {}
        self._delay = 0.0


class FakeEngine:
    def __init__(self) -> None:
        self.downloader = FakeDownloader()
        self.closed: list[str] = []

    async def close_spider_async(self, reason: str) -> None:
        self.closed.append(reason)


def make_crawler(**settings: Any) -> scrapy.crawler.Crawler:
    crawler = get_crawler(settings_dict={**PROJECT, **settings})
    crawler.engine = FakeEngine()
    crawler.spider = scrapy.Spider.from_crawler(crawler, name="test")
    return crawler


def api_request(api: str = "pandapon", **meta: Any) -> JsonRequest:
    return JsonRequest("http://sandbox/x", data={}, meta={"harvester_api": api, **meta})


# --------------------------------------------------------------------------- limits and slots


def test_resolve_qps_prefers_credential_then_api_then_default():
    limits = {"aliyun": 3, "aliyun:abc": 1.5, "aliyun:LTAI-key": 2}
    assert resolve_qps(limits, "aliyun", ["other", "abc"], 5.0) == 1.5  # by credential id
    assert resolve_qps(limits, "aliyun", ["LTAI-key", "abc"], 5.0) == 2.0  # by the credential itself
    assert resolve_qps(limits, "aliyun", ["other", "x"], 5.0) == 3.0
    assert resolve_qps(limits, "vvtool", ["x"], 10.0) == 10.0
    with pytest.raises(ValueError, match="positive"):
        resolve_qps({"vvtool": 0}, "vvtool", ["x"], 10.0)


def test_unknown_api_or_bad_value_in_the_limits_is_refused():
    check_limits({"aliyun": 5, "aliyun:abc": 2}, {"aliyun", "vvtool"})
    with pytest.raises(ValueError, match="unknown API 'aliyn'"):
        check_limits({"aliyn": 5}, {"aliyun"})
    with pytest.raises(ValueError, match="positive"):
        check_limits({"aliyun:abc": -1}, {"aliyun"})
    with pytest.raises(ValueError, match="unknown API"):
        ApiSlotMiddleware.from_crawler(make_crawler(HARVESTER_RATE_LIMITS={"pandapn": 3}))


def test_credential_id_hides_the_credential():
    assert credential_id("sandbox-key") == credential_id("sandbox-key")
    assert "sandbox" not in credential_id("sandbox-key")
    assert credential_id("a") != credential_id("b")


def test_slot_per_api_and_credential_with_floor_delay_and_no_jitter():
    crawler = make_crawler(HARVESTER_RATE_LIMITS={"pandapon": 4}, PANDAPON_ACCESS_KEY="k1", VVTOOL_TOKEN="t1")
    middleware = ApiSlotMiddleware.from_crawler(crawler)
    request = api_request()
    middleware.process_request(request)
    slot = request.meta["download_slot"]
    assert slot == f"pandapon:{credential_id('k1')}"
    per_slot = crawler.engine.downloader.per_slot_settings
    assert per_slot[slot] == {"delay": 0.25, "concurrency": 8, "jitter": 0}
    other = api_request("vvtool")
    middleware.process_request(other)
    assert per_slot[other.meta["download_slot"]]["delay"] == pytest.approx(1 / 10)  # vvtool's DEFAULT_QPS
    assert "t1" not in other.meta["download_slot"]
    plain = JsonRequest("http://h/x", data={})
    middleware.process_request(plain)
    assert "download_slot" not in plain.meta


def test_every_provider_gets_a_slot_at_its_documented_limit():
    from harvester.apis import all_providers

    crawler = make_crawler()
    middleware = ApiSlotMiddleware.from_crawler(crawler)
    providers = all_providers()
    assert {p.NAME for p in providers} >= {"pandapon", "aliyun", "vvtool", "aliexpress"}
    for provider in providers:
        key = middleware.slot_for(provider.NAME)
        assert key.startswith(f"{provider.NAME}:")
        assert crawler.engine.downloader.per_slot_settings[key]["delay"] == pytest.approx(1 / provider.DEFAULT_QPS)


# --------------------------------------------------------------------------- back-off policy


def throttle_with_slot(delay_floor: float = 0.1, delay: float | None = None, **settings: Any):
    crawler = make_crawler(AUTOTHROTTLE_MAX_DELAY=5.0, DOWNLOAD_DELAY=0.0, **settings)
    extension = ApiAutoThrottle.from_crawler(crawler)
    extension._spider_opened(crawler.spider)
    downloader = crawler.engine.downloader
    downloader.per_slot_settings["pandapon:k"] = {"delay": delay_floor, "concurrency": 8, "jitter": 0}
    slot = downloader.slots["pandapon:k"] = Slot(8, delay if delay is not None else delay_floor, 0)
    return crawler, extension, slot


def answer(crawler, latency: float) -> None:
    request = api_request(download_slot="pandapon:k", download_latency=latency)
    response = Response("http://sandbox/x", status=200, request=request)
    crawler.signals.send_catch_log(signal=signals.api_answer, request=request, response=response)


def backoff(crawler, retry_after: float | None = None, factor: float | None = None) -> None:
    error = ApiError("pandapon", ErrorClass.RATE_LIMITED, "429", "too frequent", retry_after)
    crawler.signals.send_catch_log(
        signal=signals.api_backoff, request=api_request(download_slot="pandapon:k"), error=error, factor=factor
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
    request = scrapy.Request("http://example.com", meta={"download_slot": "example.com", "download_latency": 0.001})
    for _ in range(20):
        extension._response_downloaded(Response("http://example.com", request=request), request, crawler.spider)
    assert web.delay < 0.01  # DOWNLOAD_DELAY (0) is its floor, not the API's 0.1
    api = api_request(download_slot="pandapon:k", download_latency=0.001)
    slot.delay = 1.0
    extension._response_downloaded(Response("http://sandbox/x", status=429, request=api), api, crawler.spider)
    assert slot.delay == 1.0  # API answers are judged by the error middleware, not by status


# --------------------------------------------------------------------------- error middleware


def test_throttle_retries_are_counted_apart_from_ordinary_retries():
    crawler = make_crawler(RETRY_TIMES=2)
    request = api_request(retry_times=2)  # ordinary retries used up
    retry = get_throttle_retry_request(request, spider=crawler.spider, reason="429", max_retry_times=3,
                                       stats_base_key="t")
    assert retry is not None and retry.meta["retry_times"] == 2 and retry.meta[THROTTLE_RETRIES] == 1
    for _ in range(2):
        retry = get_throttle_retry_request(retry, spider=crawler.spider, reason="429", max_retry_times=3,
                                           stats_base_key="t")
    assert retry is not None and retry.meta[THROTTLE_RETRIES] == 3
    assert get_throttle_retry_request(retry, spider=crawler.spider, reason="429", max_retry_times=3,
                                      stats_base_key="t") is None
    assert crawler.stats.get_value("t/count") == 3 and crawler.stats.get_value("t/max_reached") == 1


def test_retry_after_header_in_seconds_or_as_a_date():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(formatdate(1000.0 + 30, usegmt=True), now=1000.0) == pytest.approx(30.0)
    assert retry_after_seconds(formatdate(1000.0 - 30, usegmt=True), now=1000.0) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def recorded_backoffs(crawler) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    crawler.signals.connect(lambda **kw: seen.append(kw), signal=signals.api_backoff, weak=False)
    return seen


def test_in_body_throttle_answer_backs_off_and_retries_without_using_retry_times():
    crawler = make_crawler(RETRY_TIMES=0, HARVESTER_RATE_LIMIT_RETRY_TIMES=5)
    backoffs = recorded_backoffs(crawler)
    middleware = ApiErrorMiddleware.from_crawler(crawler)
    request = api_request()
    body = b'{"code": 429, "msg": "request too frequent", "data": null}'
    retry = middleware.process_response(request, TextResponse("http://sandbox/x", body=body, request=request))
    assert isinstance(retry, scrapy.Request) and retry.meta[THROTTLE_RETRIES] == 1
    assert backoffs[0]["error"].error_class is ErrorClass.RATE_LIMITED and backoffs[0]["factor"] is None
    assert crawler.stats.get_value("harvester/api/pandapon/rate_limited") == 1


def test_http_429_retry_after_is_honoured_even_if_the_provider_ignores_the_header():
    crawler = make_crawler()
    backoffs = recorded_backoffs(crawler)
    middleware = ApiErrorMiddleware.from_crawler(crawler)
    request = api_request("aliexpress")  # its check_response does not read Retry-After
    response = TextResponse("http://sandbox/x", status=429, body=b'{"error": "too many"}',
                            headers={"Retry-After": "4"}, request=request)
    assert isinstance(middleware.process_response(request, response), scrapy.Request)
    assert backoffs[0]["error"].retry_after == 4.0


def test_network_error_backs_the_slot_off_and_leaves_the_retry_to_retrymiddleware():
    crawler = make_crawler()
    backoffs = recorded_backoffs(crawler)
    middleware = ApiErrorMiddleware.from_crawler(crawler)
    assert middleware.process_exception(api_request(), TimeoutError("took too long")) is None
    assert middleware.process_exception(scrapy.Request("http://web/"), TimeoutError()) is None
    assert len(backoffs) == 1 and backoffs[0]["factor"] == 1.5
    assert crawler.stats.get_value("harvester/api/pandapon/network_error") == 1


# --------------------------------------------------------------------------- sandbox limiter


def test_limiter_long_run_rate_and_burst():
    limiter = RateLimiter({"api": Limit(qps=10, burst=2, tolerance=0.1)})
    assert limiter.allow("api", "k", now=0.0)
    assert limiter.allow("api", "k", now=0.0)  # burst of 2
    assert not limiter.allow("api", "k", now=0.0)
    # spaced exactly at 1/qps from then on: always allowed
    assert all(limiter.allow("api", "k", now=0.1 * i) for i in range(2, 50))
    assert limiter.allow("api", "k", now=4.9)  # the second token...
    assert not limiter.allow("api", "k", now=4.9)  # ...and then faster than 10/s is refused
    assert limiter.allow("api", "other-credential", now=4.9)  # per credential
    assert limiter.allow("unlimited", "k", now=0.0)


def test_spaced_calls_at_the_limit_never_refused_but_faster_are():
    limiter = RateLimiter({"api": Limit(qps=5, burst=1, tolerance=0.1)})
    assert all(limiter.allow("api", "k", now=0.2 * i) for i in range(100))
    assert limiter.allow("api", "j", now=0.0)
    assert limiter.allow("api", "j", now=0.19)  # within the tolerance (10 % of 0.2 s)
    assert not limiter.allow("api", "j", now=0.2)  # 2 early arrivals in a row: the slack is gone
    refused = sum(not limiter.allow("api", "i", now=0.15 * i) for i in range(100))
    assert refused > 20


def test_sandbox_rate_limit_arguments():
    assert parse_rate_limits(["pandapon=20", "aliyun"]) == {"pandapon": 20.0, "aliyun": 5.0}
    with pytest.raises(ValueError, match="unknown API 'aliyn'"):
        parse_rate_limits(["aliyn=5"])
    with pytest.raises(ValueError, match="positive"):
        parse_rate_limits(["vvtool=0"])
    with pytest.raises(ValueError, match="number"):
        parse_rate_limits(["vvtool=fast"])
