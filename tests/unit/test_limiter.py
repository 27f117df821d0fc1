"""The rate-limit middleware, driven for real on an asyncio loop: grants, back-off, holds,
credential pools, and the Redis backend shared by two middlewares (two "processes")."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest

from harvester import signals
from harvester.apis.base import ApiError, ErrorClass
from harvester.credentials import META_CREDENTIAL, credential_id
from harvester.handlers.signing import Signer
from harvester.limiter import KeyState, admit_at, reserve_point
from harvester.middlewares.ratelimit import META_ADMITTED, Pace, RateLimitMiddleware
from harvester.sandbox.ratelimit import worst_window
from tests.unit.crawler_stub import api_request, make_crawler

QPS = 40.0
#: A wide margin: these tests check the logic on a busy machine; the benchmark measures
#: the default margin's figures.
MARGIN = 0.1


def middleware(**settings: Any) -> RateLimitMiddleware:
    defaults = {
        "PANDAPON_ACCESS_KEY": "key-1",
        "PANDAPON_SECRET_KEY": "secret-1",
        "PANDAPON_USER_ID": "u",
        "HARVESTER_RATE_LIMITS": {"pandapon": QPS},
        "HARVESTER_RATE_LIMIT_MARGIN": MARGIN,
    }
    crawler = make_crawler(**{**defaults, **settings})
    return RateLimitMiddleware.from_crawler(crawler)


async def grants(mw: RateLimitMiddleware, count: int) -> list[tuple[float, Any]]:
    """(time.monotonic() of the grant, request) of *count* requests sent at once."""
    done: list[tuple[float, Any]] = []

    async def one() -> None:
        request = api_request()
        await mw.process_request(request)
        done.append((time.monotonic(), request))

    await asyncio.gather(*(one() for _ in range(count)))
    return sorted(done, key=lambda pair: pair[0])


def rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0])


def test_schedule_points_are_never_closer_than_the_interval_whatever_the_arrivals():
    rng = random.Random(3)
    state, now, points = KeyState(), 0.0, []
    for _ in range(2000):
        now += rng.choice([0.0, 0.0, rng.uniform(0, 0.05), rng.uniform(0, 2)])
        points.append(reserve_point(state, 1.025 / 10, now))
    assert min(b - a for a, b in zip(points, points[1:], strict=False)) >= 1.025 / 10 - 1e-9
    assert worst_window(points, 1.0) <= 10


def simulate(pace: Pace, count: int, lateness: Any) -> list[float]:
    """Admission times of *count* queued calls, each waking *lateness()* s after its turn
    (and after each wait the limiter asks for), through the limiter's two steps."""
    state, admitted, pending = KeyState(), [], []
    for _ in range(16):  # as many reserved turns as calls in flight
        pending.append(reserve_point(state, pace.interval, 0.0))
    while len(admitted) < count:
        pending.sort()
        now = pending.pop(0) + lateness()
        while wait := admit_at(state, now, pace.calls, pace.window, pace.gap)[0]:
            now += wait + lateness()
        admitted.append(now)
        pending.append(reserve_point(state, pace.interval, now))
    return admitted


def test_late_wake_ups_keep_their_turn_and_never_put_more_than_the_limit_in_a_window():
    rng = random.Random(5)
    pace = Pace(10, 0.025)
    # a loaded machine: most wake-ups within 2 ms, one in ten 5-60 ms late
    times = simulate(
        pace, 2000, lambda: rng.choice([rng.uniform(0, 0.002)] * 9 + [rng.uniform(0.005, 0.06)])
    )
    assert (
        worst_window(times, pace.window) <= 10
    )  # so ≤ 10 arrivals in any second within the margin
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= pace.gap - 1e-9
    # turns are not lost: the long-run rate is the limit / (1 + margin), less the mean lateness
    assert rate(times) >= 0.99 * 10 / 1.025
    on_time = simulate(pace, 2000, lambda: 0.0)
    assert rate(on_time) == pytest.approx(10 / 1.025, rel=1e-3)


def test_an_allowance_holds_the_calls_after_it_back():
    pace, state = Pace(2, 0.0), KeyState()
    assert admit_at(state, 0.0, pace.calls, pace.window, pace.gap, allowance=0.1) == (0, "1")
    assert admit_at(state, 0.5, pace.calls, pace.window, pace.gap) == (0, "2")
    # the first call counts as admitted at 0.1: the third waits until 1.1, not 1.0
    assert admit_at(state, 1.0, pace.calls, pace.window, pace.gap)[0] == pytest.approx(0.1)
    assert admit_at(state, 1.1, pace.calls, pace.window, pace.gap) == (0, "3")


def test_grants_are_paced_evenly_at_the_limit_and_never_over_it_in_any_second():
    mw = middleware()
    done = asyncio.run(grants(mw, 60))
    times = [t for t, _ in done]
    admitted = [request.meta[META_ADMITTED] for _, request in done]
    assert worst_window(admitted, 1 + MARGIN) <= QPS
    assert worst_window(times, 1.0) <= QPS
    assert rate(times) >= 0.9 * QPS / (1 + MARGIN)  # late wake-ups keep their turn
    request = done[0][1]
    assert request.meta["download_slot"] == f"pandapon:{credential_id('key-1')}"
    assert "key-1" not in request.meta["download_slot"]
    assert request.meta["autothrottle_dont_adjust_delay"] is True
    assert mw.crawler.stats.get_value("harvester/ratelimit/pandapon/granted") == 60


def backoff(mw: RateLimitMiddleware, request: Any, retry_after: float | None = None) -> None:
    error = ApiError("pandapon", ErrorClass.RATE_LIMITED, "429", "too frequent", retry_after)
    mw.crawler.signals.send_catch_log(signal=signals.api_backoff, request=request, error=error)


def test_throttle_answer_slows_the_credential_down_and_answers_bring_it_back():
    async def scenario() -> tuple[float, float, float, float]:
        mw = middleware(AUTOTHROTTLE_ENABLED=False)
        first = await grants(mw, 5)
        for _, request in first:  # a burst of answers to calls under way: ×2 once
            backoff(mw, request)
        await asyncio.sleep(0.05)
        after = await grants(mw, 6)
        half = rate([t for t, _ in after])
        backoff(mw, after[-1][1])  # a call sent at the slower pace throttled too: ×4
        await asyncio.sleep(0.05)
        quarter = rate([t for t, _ in await grants(mw, 6)])
        for _ in range(12):
            mw.crawler.signals.send_catch_log(
                signal=signals.api_answer, request=first[-1][1], response=None
            )
        await asyncio.sleep(0.05)
        fast = rate([t for t, _ in await grants(mw, 6)])
        return (
            half,
            quarter,
            fast,
            mw.crawler.stats.get_value("harvester/throttle/pandapon/backoff"),
        )

    half, quarter, fast, backoffs = asyncio.run(scenario())
    assert half == pytest.approx(QPS / 2 / (1 + MARGIN), rel=0.15)
    assert quarter == pytest.approx(QPS / 4 / (1 + MARGIN), rel=0.15)
    assert fast == pytest.approx(QPS / (1 + MARGIN), rel=0.15)
    assert backoffs == 6


def test_retry_after_holds_every_grant_of_the_credential():
    async def scenario() -> float:
        mw = middleware()
        (_, request), *_ = await grants(mw, 1)
        backoff(mw, request, retry_after=0.5)
        held_at = time.monotonic()
        await asyncio.sleep(0.01)
        (granted, _), *_ = await grants(mw, 1)
        assert mw.crawler.stats.get_value("harvester/throttle/pandapon/held") == 1
        return granted - held_at

    assert asyncio.run(scenario()) >= 0.49


def test_switched_off_it_is_not_configured():
    from scrapy.exceptions import NotConfigured

    with pytest.raises(NotConfigured, match="HARVESTER_RATE_LIMITS_ENABLED"):
        middleware(HARVESTER_RATE_LIMITS_ENABLED=False)


# --------------------------------------------------------------------------- credential pools

POOL = {
    "pandapon": [
        {"PANDAPON_ACCESS_KEY": "key-2", "PANDAPON_SECRET_KEY": "secret-2", "PANDAPON_USER_ID": "u"}
    ]
}


def test_two_credentials_double_the_rate_and_each_request_is_signed_with_its_own(tmp_path):
    path = tmp_path / "credentials.json"
    path.write_text(__import__("json").dumps(POOL))
    mw = middleware(HARVESTER_CREDENTIALS_FILE=str(path))
    done = asyncio.run(grants(mw, 80))
    by_credential: dict[str, list[float]] = {}
    for granted, request in done:
        by_credential.setdefault(request.meta[META_CREDENTIAL], []).append(granted)
    assert set(by_credential) == {credential_id("key-1"), credential_id("key-2")}
    for times in by_credential.values():  # each held to its own limit
        assert worst_window(times, 1.0) <= QPS
    assert rate([t for t, _ in done]) >= 1.7 * QPS / (1 + MARGIN)  # one credential: <= 1
    signer = Signer(mw.crawler)
    for _, request in done[:4]:
        request = signer.sign(request.replace(url="https://api.pandapon.com/x"))
        key = request.headers["access-key"].decode()
        assert credential_id(key) == request.meta[META_CREDENTIAL]


def test_a_bad_credentials_file_is_one_clear_error_without_the_secrets(tmp_path):
    path = tmp_path / "credentials.json"
    path.write_text('{"pandapon": [{"PANDAPON_ACCESS_KEY": "key-3", "PANDAPON_SECRET_KEY": "s3"}]}')
    with pytest.raises(ValueError, match="pandapon credential #1 needs") as error:
        middleware(HARVESTER_CREDENTIALS_FILE=str(path))
    assert "s3" not in str(error.value)
    with pytest.raises(ValueError, match="unknown API 'pandapn'"):
        middleware(HARVESTER_CREDENTIALS={"pandapn": []})


# --------------------------------------------------------------------------- Redis backend


def test_two_processes_on_one_credential_share_one_limit_through_redis(redis_url):
    async def scenario() -> list[float]:
        # two middlewares with their own crawlers: two processes as far as the limiter knows
        first, second = (middleware(HARVESTER_REDIS_URL=redis_url) for _ in range(2))
        done = await asyncio.gather(grants(first, 30), grants(second, 30))
        await first.limiter.close()
        await second.limiter.close()
        return sorted(t for pairs in done for t, _ in pairs)

    times = asyncio.run(scenario())
    assert worst_window(times, 1.0) <= QPS
    # shared: at most one limit (two separate ones would allow 2 x QPS); a busy machine
    # loses some grants to late wake-ups, hence the loose lower bound
    assert 0.6 * QPS / (1 + MARGIN) <= rate(times) <= QPS


def slow_answers_hold_the_calls_after_it_back(mw: RateLimitMiddleware) -> float:
    """Seconds the (QPS + 1)-th call waits after the first, whose answer took 0.3 s."""

    async def scenario() -> float:
        first = api_request()
        await mw.process_request(first)
        await asyncio.sleep(0.3)  # the answer comes back late: the call may have arrived late
        mw.process_response(first, None)
        await asyncio.sleep(0.05)  # the delay reaches the limiter
        done = await grants(mw, int(QPS))
        await mw.limiter.close()
        return done[-1][1].meta[META_ADMITTED] - first.meta[META_ADMITTED]

    return asyncio.run(scenario())


def test_a_call_answered_late_holds_the_calls_after_it_back():
    mw = middleware()
    # counted as admitted 0.3 - margin s later (no quicker answer seen yet): the window
    # from then, 1 + margin s
    assert slow_answers_hold_the_calls_after_it_back(mw) >= 1.3 - 1e-3
    assert mw.crawler.stats.get_value("harvester/ratelimit/pandapon/delayed") == 1


def test_a_call_answered_late_holds_the_calls_after_it_back_in_every_process(redis_url):
    # a credential of its own: the other tests' admissions stay in this Redis
    mw = middleware(HARVESTER_REDIS_URL=redis_url, PANDAPON_ACCESS_KEY="key-slow")
    assert slow_answers_hold_the_calls_after_it_back(mw) >= 1.3 - 1e-3


def test_back_off_and_holds_are_shared_through_redis(redis_url):
    async def scenario() -> float:
        first, second = (middleware(HARVESTER_REDIS_URL=redis_url) for _ in range(2))
        (_, request), *_ = await grants(first, 1)
        backoff(first, request, retry_after=0.5)
        held_at = time.monotonic()
        await asyncio.sleep(0.05)  # the back-off reaches Redis
        (granted, _), *_ = await grants(second, 1)
        await first.limiter.close()
        await second.limiter.close()
        return granted - held_at

    assert asyncio.run(scenario()) >= 0.45


def test_redis_unreachable_stops_the_crawl_with_one_line(caplog):
    async def scenario() -> RateLimitMiddleware:
        mw = middleware(HARVESTER_REDIS_URL="redis://127.0.0.1:1/0")
        for _ in range(3):
            with pytest.raises(Exception, match="rate limiter unavailable"):
                await mw.process_request(api_request())
        await asyncio.sleep(0)
        return mw

    mw = asyncio.run(scenario())
    assert mw.crawler.engine.closed == ["ratelimit_unavailable"]
    assert sum("rate limiter failed" in r.getMessage() for r in caplog.records) == 1
