"""Slot and limit resolution, throttle retries and error classes, the sandbox limiter."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import pytest
import scrapy
from scrapy.http import TextResponse

from harvester import signals
from harvester.apis.base import ErrorClass
from harvester.middlewares.errors import (
    THROTTLE_RETRIES,
    ApiErrorMiddleware,
    get_throttle_retry_request,
    retry_after_seconds,
)
from harvester.middlewares.ratelimit import (
    RateLimitMiddleware,
    check_limits,
    credential_id,
    resolve_qps,
)
from harvester.sandbox.__main__ import parse_rate_limits
from harvester.sandbox.ratelimit import Limit, RateLimiter, worst_window
from tests.unit.crawler_stub import api_request, make_crawler

# --------------------------------------------------------------------------- limits and slots


def test_resolve_qps_prefers_credential_then_api_then_default():
    limits = {"aliyun": 3, "aliyun:abc": 1.5, "aliyun:LTAI-key": 2}
    assert resolve_qps(limits, "aliyun", ["other", "abc"], 5.0) == 1.5  # by credential id
    assert (
        resolve_qps(limits, "aliyun", ["LTAI-key", "abc"], 5.0) == 2.0
    )  # by the credential itself
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
        RateLimitMiddleware.from_crawler(make_crawler(HARVESTER_RATE_LIMITS={"pandapn": 3}))


def test_credential_id_hides_the_credential():
    assert credential_id("sandbox-key") == credential_id("sandbox-key")
    assert "sandbox" not in credential_id("sandbox-key")
    assert credential_id("a") != credential_id("b")


def test_every_provider_is_limited_at_its_documented_rate_by_default():
    from harvester.apis import all_providers

    crawler = make_crawler()
    middleware = RateLimitMiddleware.from_crawler(crawler)
    providers = all_providers()
    assert {p.NAME for p in providers} >= {"pandapon", "aliyun", "vvtool", "aliexpress"}
    for provider in providers:
        pace = middleware.pace(provider.NAME, credential_id(None))
        assert pace.calls == provider.DEFAULT_QPS
        assert pace.window == pytest.approx(1 + middleware.margin)
        assert pace.interval == pytest.approx((1 + middleware.margin) / provider.DEFAULT_QPS)
        assert crawler.stats.get_value(f"harvester/ratelimit/{provider.NAME}/qps") == (
            provider.DEFAULT_QPS
        )


# --------------------------------------------------------------------------- error middleware


def test_throttle_retries_are_counted_apart_from_ordinary_retries():
    crawler = make_crawler(RETRY_TIMES=2)
    request = api_request(retry_times=2)  # ordinary retries used up
    retry = get_throttle_retry_request(
        request, spider=crawler.spider, reason="429", max_retry_times=3, stats_base_key="t"
    )
    assert (
        retry is not None and retry.meta["retry_times"] == 2 and retry.meta[THROTTLE_RETRIES] == 1
    )
    for _ in range(2):
        retry = get_throttle_retry_request(
            retry, spider=crawler.spider, reason="429", max_retry_times=3, stats_base_key="t"
        )
    assert retry is not None and retry.meta[THROTTLE_RETRIES] == 3
    assert (
        get_throttle_retry_request(
            retry, spider=crawler.spider, reason="429", max_retry_times=3, stats_base_key="t"
        )
        is None
    )
    assert crawler.stats.get_value("t/count") == 3 and crawler.stats.get_value("t/max_reached") == 1


def test_retry_after_header_in_seconds_or_as_a_date():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(formatdate(1000.0 + 30, usegmt=True), now=1000.0) == pytest.approx(
        30.0
    )
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
    retry = middleware.process_response(
        request, TextResponse("http://sandbox/x", body=body, request=request)
    )
    assert isinstance(retry, scrapy.Request) and retry.meta[THROTTLE_RETRIES] == 1
    assert (
        backoffs[0]["error"].error_class is ErrorClass.RATE_LIMITED
        and backoffs[0]["factor"] is None
    )
    assert crawler.stats.get_value("harvester/api/pandapon/rate_limited") == 1


def test_http_429_retry_after_is_honoured_even_if_the_provider_ignores_the_header():
    crawler = make_crawler()
    backoffs = recorded_backoffs(crawler)
    middleware = ApiErrorMiddleware.from_crawler(crawler)
    request = api_request("aliexpress")  # its check_response does not read Retry-After
    response = TextResponse(
        "http://sandbox/x",
        status=429,
        body=b'{"error": "too many"}',
        headers={"Retry-After": "4"},
        request=request,
    )
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


def test_sandbox_limiter_counts_arrivals_in_a_sliding_second_without_allowance():
    limiter = RateLimiter({"api": Limit(qps=5)})
    assert all(limiter.allow("api", "k", now=0.2 * i) for i in range(5))
    assert not limiter.allow("api", "k", now=0.999)  # a sixth call within [0, 1)
    assert limiter.allow("api", "k", now=1.0)  # the first one left the window
    assert limiter.allow("api", "other-credential", now=1.0)  # per credential
    assert limiter.allow("unlimited", "k", now=0.0)
    # 1 ms early on a 0.2 s schedule: the second window starting at 0.2 holds 6 arrivals
    strict = RateLimiter({"api": Limit(qps=5)})
    assert not all(
        strict.allow("api", "j", now=0.2 * i - (0.001 if i == 6 else 0)) for i in range(7)
    )
    slow = RateLimiter({"api": Limit(qps=0.5)})  # below 1 QPS: one call per 2 s
    assert slow.allow("api", "k", now=0.0)
    assert not slow.allow("api", "k", now=1.9) and slow.allow("api", "k", now=2.0)


def test_worst_window_counts_the_most_arrivals_in_any_half_open_second():
    assert worst_window([0.0, 0.5, 0.99, 1.0, 1.5]) == 3
    assert worst_window([0.0, 1.0, 2.0]) == 1
    assert worst_window([]) == 0


def test_sandbox_rate_limit_arguments():
    assert parse_rate_limits(["pandapon=20", "aliyun"]) == {"pandapon": 20.0, "aliyun": 5.0}
    with pytest.raises(ValueError, match="unknown API 'aliyn'"):
        parse_rate_limits(["aliyn=5"])
    with pytest.raises(ValueError, match="positive"):
        parse_rate_limits(["vvtool=0"])
    with pytest.raises(ValueError, match="number"):
        parse_rate_limits(["vvtool=fast"])
