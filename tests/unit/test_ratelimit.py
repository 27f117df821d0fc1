from __future__ import annotations

import pytest
from scrapy.http import JsonRequest
from scrapy.utils.test import get_crawler

from harvester.middlewares.ratelimit import ApiSlotMiddleware, credential_id, resolve_qps
from harvester.sandbox.ratelimit import Limit, RateLimiter


def test_resolve_qps_prefers_credential_then_api_then_default():
    limits = {"aliyun": 3, "aliyun:abc": 1.5}
    assert resolve_qps(limits, "aliyun", "abc", 5.0) == 1.5
    assert resolve_qps(limits, "aliyun", "other", 5.0) == 3.0
    assert resolve_qps(limits, "vvtool", "x", 10.0) == 10.0
    with pytest.raises(ValueError, match="positive"):
        resolve_qps({"vvtool": 0}, "vvtool", "x", 10.0)


def test_credential_id_hides_the_credential():
    assert credential_id("sandbox-key") == credential_id("sandbox-key")
    assert "sandbox" not in credential_id("sandbox-key")
    assert credential_id("a") != credential_id("b")


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
    refused = sum(not limiter.allow("api", "j", now=0.15 * i) for i in range(100))
    assert refused > 20


def test_slot_per_api_and_credential_with_floor_delay():
    crawler = get_crawler(settings_dict={"HARVESTER_RATE_LIMITS": {"pandapon": 4}, "PANDAPON_ACCESS_KEY": "k1",
                                         "HARVESTER_RATE_LIMITS_ENABLED": True, "HARVESTER_API_SLOT_CONCURRENCY": 8})

    class Downloader:
        per_slot_settings: dict = {}

    class Engine:
        downloader = Downloader()

    crawler.engine = Engine()
    middleware = ApiSlotMiddleware.from_crawler(crawler)
    request = JsonRequest("http://h/x", data={}, meta={"harvester_api": "pandapon"})
    middleware.process_request(request)
    slot = request.meta["download_slot"]
    assert slot == f"pandapon:{credential_id('k1')}"
    assert Downloader.per_slot_settings[slot] == {"delay": 0.25, "concurrency": 8, "jitter": 0}
    plain = JsonRequest("http://h/x", data={})
    middleware.process_request(plain)
    assert "download_slot" not in plain.meta
